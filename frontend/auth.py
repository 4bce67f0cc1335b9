"""The login screen, logout, and what the other screens need to act as the user.

The browser gets a session cookie (httpOnly, SameSite=Lax, Secure outside loopback) that
names a server-side session; the session holds who the user is and the key of their tokens
in `Credentials`. Logging in starts a new session id (no fixation); logging out ends this
session at the orchestrator (its tokens stop working) and forgets the tokens.

After an admin's password reset the orchestrator refuses the login with
`password_change_required`: the email and temporary password wait in the server-side
session while the user chooses a new password (`/login/new-password`), never in the page.

Single sign-on: the "Sign in with <provider>" button leads to `/login/sso`, which sends the
browser to the orchestrator's OIDC login with this server's callback as `return_to` and
the S256 challenge of a verifier kept in the session. The orchestrator sends the browser
back to `/login/sso/done` with a single-use code, which this server exchanges (with the
verifier) for the tokens, server to server: no token passes through the browser, and a
code is useless to anyone without this session's verifier. Errors come back as a type, and
the page shows its own text for it (never text from the URL).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode, urlsplit

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
from frontend.upstream import ApiError, Tokens, Unauthorized, Unreachable

__all__ = ["bp", "login_required", "signed_in_user"]

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])

_METHODS_SECONDS = 30
_SSO_ERRORS = {
    "email_not_verified": (
        "An account with your email exists already, and {provider} has not verified that "
        "the email is yours. Verify it there, or log in with your password.",
        403,
    ),
    "account_disabled": ("This account is disabled. Ask an admin.", 403),
    "upstream_error": ("{provider} did not answer. Try again shortly.", 502),
}
_SSO_FAILED = ("Signing in with {provider} did not complete. Try again.", 401)


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
    """The session's user (`id`, `email`, `name` or None, `is_admin`), or None."""
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


def _login_methods() -> dict[str, Any]:
    """How one may log in, as the orchestrator says (asked at most every 30 s)."""
    parts = frontend()
    cached = parts.cache.get("login-methods")
    if isinstance(cached, dict):
        return cast(dict[str, Any], cached)
    try:
        methods = parts.orchestrator.login_methods()
    except (ApiError, Unreachable):
        return {"local": True, "oidc": None}  # not cached: ask again next time
    parts.cache.set("login-methods", methods, timeout=_METHODS_SECONDS)
    return methods


def _provider_name(methods: dict[str, Any]) -> str:
    oidc = methods.get("oidc")
    return str(oidc.get("name", "SSO")) if isinstance(oidc, dict) else "SSO"


def _start_session(key: str) -> dict[str, Any]:
    """Sign this browser in with the tokens under `key`: a new session id (no fixation).

    Raises:
        Unauthorized, ApiError, Unreachable: the orchestrator refused or did not answer.
    """
    parts = frontend()
    me = parts.orchestrator.call("GET", "/auth/me", parts.credentials.access(key)).json()
    old = session.get("key")
    if isinstance(old, str):
        parts.credentials.forget(old)
    session.clear()
    current_app.session_interface.regenerate(session)  # type: ignore[attr-defined]
    session["user"] = {
        "id": me["id"],
        "email": me["email"],
        "name": me.get("name") or None,
        "is_admin": me["is_admin"],
    }
    session["key"] = key
    return me


def _login_page(form: LoginForm, error: str | None, status: int) -> Any:
    methods = _login_methods()
    return render_template(
        "login.html",
        form=form,
        error=error,
        local=bool(methods.get("local", True)),
        sso_name=_provider_name(methods) if methods.get("oidc") else None,
    ), status


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
            me = _start_session(key)
        except Unauthorized:
            error, status = "Wrong email or password.", 401
        except ApiError as failure:
            if failure.body["error"].get("type") == "password_change_required":
                session[_PENDING] = {"email": email, "password": password}
                return redirect(url_for("auth.new_password", next=request.args.get("next")))
            error, status = str(failure), failure.status
        except Unreachable:
            error, status = "The assistant's server does not answer. Try again shortly.", 502
        else:
            logger.info("user %s logged in", me["id"])
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        error, status = "Enter your email and password.", 400
    return _login_page(form, error, status)


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
            me = _start_session(key)
        except Unauthorized:
            session.pop(_PENDING, None)
            return redirect(url_for("auth.login"))
        except ApiError as failure:
            error, status = str(failure), failure.status
        except Unreachable:
            error, status = "The assistant's server does not answer. Try again shortly.", 502
        else:
            logger.info("user %s logged in with a new password", me["id"])
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        errors = [message for messages in form.errors.values() for message in messages]
        error, status = (errors[0] if errors else "Enter the new password twice."), 400
    return render_template(
        "login_new_password.html", form=form, error=error, email=pending["email"]
    ), status


@bp.get("/login/sso")
def sso() -> Any:
    """Start a login at the orchestrator's OIDC provider; see the module."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    session["sso"] = {"verifier": verifier, "next": _safe_next(request.args.get("next"))}
    settings = frontend().settings
    done = url_for("auth.sso_done", _external=settings.public_url is None)
    return_to = done if settings.public_url is None else settings.public_url + done
    query = urlencode({"return_to": return_to, "handoff_challenge": challenge})
    base = settings.browser_orchestrator_url
    return redirect(f"{base}/api/v1/auth/oidc/login?{query}")


@bp.get("/login/sso/done")
def sso_done() -> Any:
    """Where the orchestrator sends the browser back: exchange the code, sign in."""
    pending = session.pop("sso", None)
    name = _provider_name(_login_methods())
    code = request.args.get("code", "")
    message, status = _SSO_ERRORS.get(request.args.get("error", ""), _SSO_FAILED)
    if isinstance(pending, dict) and code and len(code) <= 8192:
        parts = frontend()
        try:
            tokens: Tokens = parts.orchestrator.exchange_sso(
                code, str(pending["verifier"]), parts.credentials.now()
            )
            me = _start_session(parts.credentials.keep(tokens))
        except Unauthorized:
            pass
        except (ApiError, Unreachable):
            message, status = _SSO_ERRORS["upstream_error"]
        else:
            logger.info("user %s logged in via SSO", me["id"])
            return redirect(_safe_next(str(pending.get("next") or "")))
    return _login_page(LoginForm(), message.format(provider=name), status)


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
