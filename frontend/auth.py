"""The login screen, logout, and what the other screens need to act as the user.

The browser gets a session cookie (httpOnly, SameSite=Lax, Secure outside loopback) that
names a server-side session; the session holds who the user is and the key of their tokens
in `Credentials`. Logging in starts a new session id (no fixation); logging out ends this
session at the orchestrator (its tokens stop working) and forgets the tokens.

After an admin's password reset the orchestrator refuses the login with
`password_change_required`: the email and temporary password wait in the server-side
session while the user chooses a new password (`/login/new-password`), never in the page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from frontend.context import frontend
from frontend.credentials import SignedOut
from frontend.upstream import ApiError, Unauthorized, Unreachable

__all__ = ["bp", "login_required", "signed_in_user"]

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(min=3, max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class NewPasswordForm(FlaskForm):
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=1024)])
    repeat = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new_password", "The two new passwords differ.")],
    )


_PENDING = "pending_password_change"


def signed_in_user() -> dict[str, Any] | None:
    """The session's user (`id`, `email`, `is_admin`), or None."""
    user = session.get("user")
    return user if isinstance(user, dict) and session.get("key") else None


def login_required(view: F) -> F:
    """Pages redirect to the login screen; JSON endpoints answer 401."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if signed_in_user() is None:
            if request.path.startswith("/api/"):
                body = {"error": {"type": "signed_out", "message": "Log in again."}}
                return jsonify(body), 401
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no `//`) is followed after login."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("chat.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return url_for("chat.index")
    return target


def _sign_in(key: str) -> Any:
    """Make the browser's session the user's (a new session id), then go on."""
    parts = frontend()
    me = parts.orchestrator.call("GET", "/auth/me", parts.credentials.access(key)).json()
    old = session.get("key")
    if isinstance(old, str):
        parts.credentials.forget(old)
    session.clear()
    current_app.session_interface.regenerate(session)  # type: ignore[attr-defined]
    session["user"] = {"id": me["id"], "email": me["email"], "is_admin": me["is_admin"]}
    session["key"] = key
    logger.info("user %s logged in", me["id"])
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        parts = frontend()
        email = (form.email.data or "").strip()
        password = form.password.data or ""
        try:
            key = parts.credentials.login(
                email, password, user_agent=request.headers.get("User-Agent")
            )
            return _sign_in(key)
        except Unauthorized:
            error, status = "Wrong email or password.", 401
        except ApiError as failure:
            if failure.body["error"].get("type") == "password_change_required":
                session[_PENDING] = {"email": email, "password": password}
                return redirect(url_for("auth.new_password", next=request.args.get("next")))
            error, status = str(failure), failure.status
        except Unreachable:
            error, status = "The assistant's server does not answer. Try again shortly.", 502
    elif request.method == "POST":
        error, status = "Enter your email and password.", 400
    return render_template("login.html", form=form, error=error), status


@bp.route("/login/new-password", methods=["GET", "POST"])
def new_password() -> Any:
    """Choose a new password after an admin's reset, and be logged in with it."""
    pending = session.get(_PENDING)
    if not isinstance(pending, dict):
        return redirect(url_for("auth.login"))
    form = NewPasswordForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            key = frontend().credentials.login(
                pending["email"],
                pending["password"],
                new_password=form.new_password.data or "",
                user_agent=request.headers.get("User-Agent"),
            )
            return _sign_in(key)
        except Unauthorized:
            session.pop(_PENDING, None)
            return redirect(url_for("auth.login"))
        except ApiError as failure:
            error, status = str(failure), failure.status
        except Unreachable:
            error, status = "The assistant's server does not answer. Try again shortly.", 502
    elif request.method == "POST":
        errors = [message for messages in form.errors.values() for message in messages]
        error, status = (errors[0] if errors else "Enter the new password twice."), 400
    return render_template(
        "login_new_password.html", form=form, error=error, email=pending["email"]
    ), status


@bp.post("/logout")
def logout() -> Any:
    """Log out of this browser's session only: its tokens stop working at the orchestrator."""
    key = session.get("key")
    if isinstance(key, str):
        parts = frontend()
        try:
            parts.orchestrator.call("POST", "/auth/logout", parts.credentials.access(key))
        except (SignedOut, ApiError, Unreachable) as error:
            logger.info("logging out at the orchestrator failed: %s", error)
        parts.credentials.forget(key)
    session.clear()
    return redirect(url_for("auth.login"))
