"""Logging in: tokens from a password, fresh tokens from a refresh token, who am I.

Failed logins are throttled per account and per client address (429 with `Retry-After`);
changing the password or logging out everywhere ends every other session of the user.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.api.deps import AuditDep, CurrentUser, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.api.schemas import RefreshRequest, TokenRequest, TokenResponse, UserOut
from orchestrator.auth import MIN_PASSWORD_LENGTH, LoginRefused, RefreshReused, TokenPair
from orchestrator.domain import AuditEvent, Forbidden, LimitExceeded, NotFound

router = APIRouter(prefix="/auth", tags=["auth"])

THROTTLED_INTERVAL = 60.0
"""Seconds between two audit records of throttled logins for one account and address."""


class PasswordChange(BaseModel):
    """The current password, and the new one."""

    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)


def _tokens(pair: TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post(
    "/token", response_model=TokenResponse, responses=error_responses(400, 401, 403, 413, 422, 429)
)
async def token(
    body: TokenRequest, request: Request, services: ServicesDep, audit: AuditDep
) -> TokenResponse:
    """Exchange an email and password for an access token and a refresh token.

    Repeated failures for one account or from one address are slowed down, then refused
    with 429 and `Retry-After` (a refused attempt does not check the password).
    Every attempt is audited (`auth.login`), with the reason of a failure; throttled ones
    once a minute per account and address.
    """
    if not services.settings.login.local_login:
        raise Forbidden("Password login is switched off here: sign in with SSO instead.")
    address = request.client.host if request.client else None
    email = body.email.strip().lower()
    try:
        pair = await services.auth.login(body.email, body.password, address=address)
    except LoginRefused as error:
        detail = {"reason": error.reason, "via": "password"}
        await audit.record(
            AuditEvent(
                "auth.login", "failure", actor_id=error.user_id, actor_email=email, detail=detail
            )
        )
        raise
    except LimitExceeded:
        # A flood of throttled attempts costs no argon2; nor one write each: one a minute.
        detail = {"reason": "throttled", "via": "password", "once_per_seconds": THROTTLED_INTERVAL}
        await audit.record_at_most_every(
            AuditEvent("auth.login", "failure", actor_email=email, detail=detail),
            f"auth.login.throttled:{email}:{address}",
            THROTTLED_INTERVAL,
        )
        raise
    await audit.record(AuditEvent("auth.login", actor_email=email, detail={"via": "password"}))
    return _tokens(pair)


@router.post(
    "/refresh", response_model=TokenResponse, responses=error_responses(400, 401, 413, 422)
)
async def refresh(body: RefreshRequest, services: ServicesDep, audit: AuditDep) -> TokenResponse:
    """Trade a refresh token (once) for a new pair; a reused one revokes its whole family.

    A reused one is audited (`auth.refresh`, reason "reused"): its token may have leaked.
    """
    try:
        return _tokens(await services.auth.refresh(body.refresh_token))
    except RefreshReused as error:
        await audit.record(
            AuditEvent(
                "auth.refresh",
                outcome="failure",
                actor_id=error.user_id,
                detail={"reason": "reused"},
            )
        )
        raise


@router.get("/me", response_model=UserOut, responses=error_responses(401))
async def me(user: CurrentUser, services: ServicesDep) -> UserOut:
    """The signed-in user."""
    record = await services.auth.users.by_id(user.user_id)
    if record is None:
        raise NotFound("The account no longer exists.")
    return UserOut(id=record.id, email=record.email, is_admin=record.is_admin)


@router.post("/logout", status_code=204, responses=error_responses(401))
async def logout_everywhere(user: CurrentUser, services: ServicesDep) -> Response:
    """End every session of the caller: all access and refresh tokens stop working.

    API keys are not sessions: delete them with `DELETE /keys/{id}`.
    """
    await services.auth.update_account(user.user_id)
    return Response(status_code=204)


@router.post("/password", status_code=204, responses=error_responses(400, 401, 413, 422, 429))
async def change_password(
    body: PasswordChange, user: CurrentUser, services: ServicesDep
) -> Response:
    """Change the caller's password; every session ends (log in again with the new one)."""
    await services.auth.change_password(user.user_id, body.current_password, body.new_password)
    return Response(status_code=204)
