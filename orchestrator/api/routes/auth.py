"""Logging in: tokens from a password, fresh tokens from a refresh token, who am I."""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator.api.deps import CurrentUser, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.api.schemas import RefreshRequest, TokenRequest, TokenResponse, UserOut
from orchestrator.auth import TokenPair
from orchestrator.domain import NotFound

router = APIRouter(prefix="/auth", tags=["auth"])


def _tokens(pair: TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/token", response_model=TokenResponse, responses=error_responses(400, 401, 413, 422))
async def token(body: TokenRequest, services: ServicesDep) -> TokenResponse:
    """Exchange an email and password for an access token and a refresh token."""
    return _tokens(await services.auth.login(body.email, body.password))


@router.post(
    "/refresh", response_model=TokenResponse, responses=error_responses(400, 401, 413, 422)
)
async def refresh(body: RefreshRequest, services: ServicesDep) -> TokenResponse:
    """Trade a refresh token (once) for a new pair; a reused one revokes its whole family."""
    return _tokens(await services.auth.refresh(body.refresh_token))


@router.get("/me", response_model=UserOut, responses=error_responses(401))
async def me(user: CurrentUser, services: ServicesDep) -> UserOut:
    record = await services.users.by_id(user.user_id)
    if record is None:
        raise NotFound("The account no longer exists.")
    return UserOut(id=record.id, email=record.email, is_admin=record.is_admin)
