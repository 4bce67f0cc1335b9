"""Logging in and out: tokens for a password or a refresh token, who am I, my sessions.

Each login is a session (`GET /auth/sessions`). `POST /auth/logout` ends the caller's own
session (its refresh tokens at once, its access tokens within seconds on every replica);
`POST /auth/logout-all` ends every session of the user, as a password change does. Failed
logins are throttled per account and per client address (429 with `Retry-After`). After an
admin's password reset, a login is refused with 403 `password_change_required` until it
carries a `new_password`.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response

from orchestrator.api.deps import AuditDep, CurrentUser, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.api.schemas import (
    PasswordChange,
    RefreshRequest,
    SessionList,
    SessionOut,
    TokenRequest,
    TokenResponse,
    UserOut,
)
from orchestrator.auth import LoginRefused, RefreshReused, TokenPair
from orchestrator.domain import AuditEvent, Forbidden, InvalidInput, LimitExceeded, NotFound

router = APIRouter(prefix="/auth", tags=["auth"])

THROTTLED_INTERVAL = 60.0
"""Seconds between two audit records of throttled logins for one account and address."""


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
    """Exchange an email and password for an access token and a refresh token (a session).

    Repeated failures for one account or from one address are slowed down, then refused
    with 429 and `Retry-After` (a refused attempt does not check the password). With
    `new_password`, the password is changed as the login succeeds.
    Every attempt is audited (`auth.login`), with the reason of a failure; throttled ones
    once a minute per account and address.
    """
    if not services.settings.login.local_login:
        raise Forbidden("Password login is switched off here: sign in with SSO instead.")
    address = request.client.host if request.client else None
    email = body.email.strip().lower()
    try:
        pair = await services.auth.login(
            body.email,
            body.password,
            address=address,
            user_agent=request.headers.get("user-agent"),
            new_password=body.new_password,
        )
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


@router.get("/me", response_model=UserOut, responses=error_responses(401, 403))
async def me(user: CurrentUser, services: ServicesDep) -> UserOut:
    """The signed-in user."""
    record = await services.auth.users.by_id(user.user_id)
    if record is None:
        raise NotFound("The account no longer exists.")
    return UserOut(id=record.id, email=record.email, name=record.name, is_admin=record.is_admin)


@router.post("/logout", status_code=204, responses=error_responses(401, 403))
async def logout(user: CurrentUser, services: ServicesDep, audit: AuditDep) -> Response:
    """End this session: its refresh token and its access tokens stop working.

    The user's other sessions go on (`/auth/logout-all` ends them all). API keys are not
    sessions: delete them with `DELETE /keys/{id}`.
    """
    if user.session_id is None:
        await services.auth.logout_everywhere(user.user_id)  # a token from before sessions
    else:
        await services.auth.logout(user.user_id, user.session_id)
    await audit.record(
        AuditEvent.by(user, "auth.logout", target=("session", user.session_id or "all"))
    )
    return Response(status_code=204)


@router.post("/logout-all", status_code=204, responses=error_responses(401, 403))
async def logout_everywhere(user: CurrentUser, services: ServicesDep, audit: AuditDep) -> Response:
    """End every session of the caller: all access and refresh tokens stop working."""
    await services.auth.logout_everywhere(user.user_id)
    await audit.record(AuditEvent.by(user, "auth.logout_all", target=("user", user.user_id)))
    return Response(status_code=204)


@router.get("/sessions", response_model=SessionList, responses=error_responses(401, 403))
async def list_sessions(user: CurrentUser, services: ServicesDep) -> SessionList:
    """Your live sessions (browsers, terminals), most recently active first."""
    records = await services.auth.sessions(user.user_id)
    return SessionList(
        items=[
            SessionOut(
                **record.model_dump(exclude={"user_id"}), current=record.id == user.session_id
            )
            for record in records
        ]
    )


@router.delete(
    "/sessions/{session_id}", status_code=204, responses=error_responses(401, 403, 404, 422)
)
async def end_session(
    session_id: UUID, user: CurrentUser, services: ServicesDep, audit: AuditDep
) -> Response:
    """End one of your sessions (another browser, a lost laptop): it must log in again."""
    await services.auth.logout(user.user_id, str(session_id))
    await audit.record(AuditEvent.by(user, "auth.session_end", target=("session", str(session_id))))
    return Response(status_code=204)


@router.post("/password", status_code=204, responses=error_responses(400, 401, 403, 413, 422, 429))
async def change_password(
    body: PasswordChange, user: CurrentUser, services: ServicesDep, audit: AuditDep
) -> Response:
    """Change the caller's password; every session ends (log in again with the new one).

    The new password needs 8 to 128 characters, and may be neither your email nor one of
    the most common passwords; a refusal names the rule (422, `detail.rule`).
    """
    if body.new_password == body.current_password:
        raise InvalidInput(
            "The new password must differ from the current one.", detail={"rule": "unchanged"}
        )
    await services.auth.change_password(user.user_id, body.current_password, body.new_password)
    await audit.record(AuditEvent.by(user, "auth.password_change", target=("user", user.user_id)))
    return Response(status_code=204)
