"""The Settings screen everyone has: profile, password, API keys, sessions; and their JSON.

An API key is created by this server on the user's behalf: its secret reaches the page in
that one response (marked `no-store`) and nowhere else; lists show only the prefix.
Changing the password ends every session of the user at the orchestrator, so this server
logs the user in again with the new password and keeps the browser signed in.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, session

from frontend.api import UpstreamCall, call_as_user
from frontend.auth import login_required, signed_in_user
from frontend.context import frontend
from frontend.upstream import ApiError, Unreachable

__all__ = ["MIN_PASSWORD_LENGTH", "bp"]

logger = logging.getLogger(__name__)

bp = Blueprint("account", __name__)

MIN_PASSWORD_LENGTH = 8
"""The orchestrator's rule (`orchestrator.auth.MIN_PASSWORD_LENGTH`), shown on the form."""


@bp.errorhandler(UpstreamCall)
def _upstream_failed(error: UpstreamCall) -> tuple[Response, int]:
    return jsonify(error.body), error.status


def _refused(status: int, type_: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"type": type_, "message": message}}), status


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _page(section: str) -> str:
    return render_template(
        "settings.html",
        user=signed_in_user(),
        section=section,
        min_password_length=MIN_PASSWORD_LENGTH,
    )


@bp.get("/settings")
@login_required
def profile() -> Any:
    return _page("profile")


@bp.get("/settings/password")
@login_required
def password_page() -> Any:
    return _page("password")


@bp.get("/settings/keys")
@login_required
def keys_page() -> Any:
    return _page("keys")


@bp.get("/settings/sessions")
@login_required
def sessions_page() -> Any:
    return _page("sessions")


@bp.post("/api/account/password")
@login_required
def change_password() -> Any:
    """Change the password, then sign this browser in again with it (the others end)."""
    body = _body()
    current, new = body.get("current_password"), body.get("new_password")
    if not isinstance(current, str) or not current:
        return _refused(400, "invalid_input", "Enter your current password.")
    if not isinstance(new, str) or len(new) < MIN_PASSWORD_LENGTH:
        return _refused(
            400,
            "invalid_input",
            f"The new password needs at least {MIN_PASSWORD_LENGTH} characters.",
        )
    if new == current:
        return _refused(400, "invalid_input", "The new password is the same as the current one.")
    try:
        call_as_user(
            "POST", "/auth/password", json={"current_password": current, "new_password": new}
        )
    except UpstreamCall as error:
        if error.status == 401 and error.body.get("error", {}).get("type") != "signed_out":
            return _refused(400, "wrong_password", "The current password is wrong.")
        raise
    user = signed_in_user()
    assert user is not None  # login_required ran
    parts = frontend()
    old = session.get("key")
    try:
        key = parts.credentials.login(
            user["email"], new, user_agent=request.headers.get("User-Agent")
        )
    except (ApiError, Unreachable):
        # Changed, but this browser could not sign in again: it logs in like the others.
        session.clear()
        return _refused(401, "signed_out", "Your password was changed: log in with it.")
    if isinstance(old, str):
        parts.credentials.forget(old)
    # A new session id (the old one named tokens that no longer work); the page's CSRF
    # token stays valid, so the open page goes on working.
    csrf = session.get("csrf_token")
    session.clear()
    current_app.session_interface.regenerate(session)  # type: ignore[attr-defined]
    session["user"] = user
    session["key"] = key
    if csrf is not None:
        session["csrf_token"] = csrf
    logger.info("user %s changed their password", user["id"])
    return Response(status=204)


@bp.get("/api/keys")
@login_required
def list_keys() -> Any:
    return jsonify({"items": call_as_user("GET", "/keys")})


@bp.post("/api/keys")
@login_required
def create_key() -> Any:
    body = _body()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        return _refused(400, "invalid_input", "Give the key a name.")
    new: dict[str, Any] = {"name": name.strip()[:100]}
    scopes = body.get("scopes")
    if scopes is not None:  # left out: the orchestrator's default (chat, read)
        if not isinstance(scopes, list) or not scopes:
            return _refused(400, "invalid_input", "Choose at least one thing the key may do.")
        new["scopes"] = scopes
    days = body.get("expires_in_days")
    if days is not None:
        new["expires_in_days"] = days
    created = call_as_user("POST", "/keys", json=new)
    response = jsonify(created)
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/api/keys/<uuid:key_id>")
@login_required
def delete_key(key_id: Any) -> Any:
    call_as_user("DELETE", f"/keys/{key_id}")
    return Response(status=204)


@bp.get("/api/sessions")
@login_required
def list_sessions() -> Any:
    return jsonify(call_as_user("GET", "/auth/sessions"))


@bp.delete("/api/sessions/<uuid:session_id>")
@login_required
def end_session(session_id: Any) -> Any:
    call_as_user("DELETE", f"/auth/sessions/{session_id}")
    return Response(status=204)


@bp.post("/api/account/logout-all")
@login_required
def logout_everywhere() -> Any:
    """End every session of the user, this browser's included."""
    call_as_user("POST", "/auth/logout-all")
    key = session.get("key")
    if isinstance(key, str):
        frontend().credentials.forget(key)
    session.clear()
    return Response(status=204)
