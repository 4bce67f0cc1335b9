"""Logging in through an OpenID Connect provider, and which ways to log in there are.

`GET /auth/oidc/login` sends the browser to the provider (code flow, PKCE, state, nonce);
the provider sends it back to `GET /auth/oidc/callback`. Without `return_to`, the callback
answers with the token pair (API clients). With it (the web front end), the browser goes to
`return_to?code=...`, a single-use code valid for 60 seconds that the front end exchanges
server to server at `POST /auth/oidc/exchange`, so tokens never pass through the browser;
a failure goes there as `?error=<type>`. See `orchestrator.auth.oidc` for the design.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.api.deps import ServicesDep
from orchestrator.api.errors import error_responses, status_for
from orchestrator.api.schemas import TokenResponse
from orchestrator.auth import TokenPair
from orchestrator.auth.oidc import PENDING_COOKIE
from orchestrator.auth.oidc_accounts import OIDCLogin
from orchestrator.domain import AssistantError, AuditEvent, NotFound
from orchestrator.runtime.services import Services

router = APIRouter(prefix="/auth", tags=["auth"])

_COOKIE_PATH = "/api/v1/auth/oidc"


class OIDCMethod(BaseModel):
    """The OIDC provider: the button's label and where the login starts."""

    name: str
    login_url: str


class LoginMethods(BaseModel):
    """How one can log in here: with a password (`local`), and/or through `oidc`."""

    local: bool
    oidc: OIDCMethod | None = None


class HandoffExchange(BaseModel):
    """A handoff code from the callback, and the verifier of its challenge if it had one."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=8192)
    code_verifier: str | None = Field(default=None, min_length=43, max_length=128)


def _oidc(services: Services) -> OIDCLogin:
    if services.oidc is None:
        raise NotFound("No OIDC provider is configured (OIDC_ISSUER, OAUTH_CLIENT_ID).")
    return services.oidc


def _tokens(pair: TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.get("/providers", response_model=LoginMethods, responses=error_responses(401))
async def providers(services: ServicesDep) -> LoginMethods:
    """The ways to log in (no credential needed): for a login screen to show its buttons."""
    oidc = None
    if services.oidc is not None:
        oidc = OIDCMethod(
            name=services.oidc.provider.config.provider_name,
            login_url="/api/v1/auth/oidc/login",
        )
    return LoginMethods(local=services.settings.login.local_login, oidc=oidc)


@router.get(
    "/oidc/login",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        302: {"description": "To the provider's login."},
        **error_responses(401, 404, 422, 502),
    },
)
async def oidc_login(
    services: ServicesDep,
    return_to: Annotated[str | None, Query(max_length=2048)] = None,
    handoff_challenge: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    """Send the browser to the provider to log in.

    `return_to`: where the browser goes after the callback (a path here, or an address of
    the configured front end) with a handoff code; without it, the callback answers with
    tokens. `handoff_challenge`: base64url(SHA-256(verifier)); the exchange then needs the
    verifier, so only the client that started the login can use its code.
    """
    login = _oidc(services)
    url, sealed = await login.provider.begin(return_to, handoff_challenge)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        PENDING_COOKIE,
        sealed,
        max_age=600,
        path=_COOKIE_PATH,
        secure=login.provider.config.secure_cookie,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get(
    "/oidc/callback",
    response_model=TokenResponse,
    responses={
        302: {"description": "To `return_to`, with `code` (or `error`, its type)."},
        **error_responses(401, 403, 404, 502),
    },
)
async def oidc_callback(request: Request, services: ServicesDep) -> Response:
    """Where the provider sends the browser back: finish the login.

    Refused (401) when the state does not match this browser's login, the code was used
    before, or the ID token is not valid; 403 for a disabled account, or a local account
    with the same email when the provider has not verified it.
    """
    login = _oidc(services)
    cookie = request.cookies.get(PENDING_COOKIE)
    pending = login.provider.pending(cookie)
    try:
        identity, pending = await login.provider.finish(dict(request.query_params), cookie)
        signed_in = await login.accounts.sign_in(identity)
        pair = await services.auth.issue_session(signed_in.user.id, via="oidc")
    except AssistantError as error:
        failure = {"via": "oidc", "reason": error.code}
        await services.audit.record(AuditEvent("auth.login", "failure", detail=failure))
        if pending is not None and pending.return_to is not None:
            target = login.provider.front_end_url(pending.return_to, error=error.code)
            response: Response = RedirectResponse(target, status_code=302)
        else:
            body = {"error": {"type": error.code, "message": error.message}}
            response = JSONResponse(body, status_code=status_for(error))
    else:
        changes = {"created": signed_in.created, "linked": signed_in.linked}
        user = signed_in.user
        detail = {"via": "oidc", **{key: True for key, value in changes.items() if value}}
        if signed_in.role_changed:
            detail["is_admin"] = user.is_admin
        event = AuditEvent("auth.login", actor_id=user.id, actor_email=user.email, detail=detail)
        await services.audit.record(event)
        if pending.return_to is not None:
            code = login.provider.handoff_code(pair.refresh_token, pending)
            target = login.provider.front_end_url(pending.return_to, code=code)
            response = RedirectResponse(target, status_code=302)
        else:
            response = JSONResponse(_tokens(pair).model_dump())
        response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(PENDING_COOKIE, path=_COOKIE_PATH)
    return response


@router.post(
    "/oidc/exchange",
    response_model=TokenResponse,
    responses=error_responses(400, 401, 404, 413, 422),
)
async def oidc_exchange(body: HandoffExchange, services: ServicesDep) -> TokenResponse:
    """Trade a handoff code from the callback (once, within 60 s) for the token pair."""
    login = _oidc(services)
    refresh_token = login.provider.open_handoff(body.code, body.code_verifier)
    return _tokens(await services.auth.refresh(refresh_token))
