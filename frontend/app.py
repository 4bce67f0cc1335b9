"""The front end's composition root: `create_app(settings)` builds the Flask app.

A backend-for-frontend in front of the orchestrator: server-side sessions (files in the data
folder, or Redis with `REDIS_URL`) hold the orchestrator's tokens, so the browser holds
nothing but an httpOnly session cookie; Flask-WTF guards every state change against CSRF;
Talisman sends a strict Content-Security-Policy; WhiteNoise serves the fingerprinted static
files; Flask-SocketIO (gevent) relays live run events, sharing rooms across processes
through Redis when it is configured.

gevent's monkey-patching belongs to the process entry point (`python -m frontend`), never
to this import.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from cachelib import FileSystemCache, RedisCache
from cachelib.base import BaseCache
from flask import Flask, jsonify, render_template, request
from flask_compress import Compress
from flask_session import Session
from flask_socketio import SocketIO
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFError, CSRFProtect
from whitenoise import WhiteNoise

from frontend import account, admin, api, auth, branches, chat, files, live, mcp_api
from frontend.assets import PREFIX, Assets
from frontend.context import Frontend
from frontend.credentials import Credentials
from frontend.relay import Relay
from frontend.settings import FrontendSettings
from frontend.upstream import Orchestrator

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

_YEAR = 365 * 24 * 3600

# No inline script or style anywhere, nothing from another origin, never framed.
CONTENT_SECURITY_POLICY = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "manifest-src": "'self'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _cache(settings: FrontendSettings) -> tuple[BaseCache, dict[str, Any]]:
    """The store of sessions and tokens, and Flask-Session's configuration for it."""
    if settings.redis_url:
        import redis

        client = redis.Redis.from_url(settings.redis_url)
        cache = RedisCache(host=client, key_prefix="assistant-frontend:")
        return cache, {"SESSION_TYPE": "redis", "SESSION_REDIS": client}
    folder = settings.data_dir / "frontend-sessions"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    cache = FileSystemCache(str(folder), threshold=100_000, mode=0o600)
    return cache, {"SESSION_TYPE": "cachelib", "SESSION_CACHELIB": cache}


def create_app(settings: FrontendSettings) -> Flask:
    """The front end, ready to serve with `app.extensions["socketio"].run(app)`.

    Raises:
        ConfigError: a missing secret in production, or the npm libraries not installed.
    """
    app = Flask(__name__, static_folder=None)
    cache, session_config = _cache(settings)
    lifetime = timedelta(days=settings.session_days)
    app.config.update(
        SECRET_KEY=settings.session_secret(),
        SESSION_COOKIE_NAME="assistant_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookies_secure,
        SESSION_PERMANENT=True,
        SESSION_KEY_PREFIX="session:",
        PERMANENT_SESSION_LIFETIME=lifetime,
        # The token lives as long as the session: a tab left open all day still works.
        WTF_CSRF_TIME_LIMIT=None,
        COMPRESS_MIMETYPES=["text/html", "application/json"],
        TEMPLATES_AUTO_RELOAD=False,
        **session_config,
    )
    Session(app)
    CSRFProtect(app)
    Talisman(
        app,
        force_https=False,
        strict_transport_security=settings.cookies_secure,
        session_cookie_secure=settings.cookies_secure,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        frame_options="DENY",
        referrer_policy="same-origin",
        content_security_policy=CONTENT_SECURITY_POLICY,
        content_security_policy_nonce_in=[],
    )
    Compress(app)

    assets = Assets.collect(settings.data_dir, settings.node_modules)
    app.wsgi_app = WhiteNoise(  # type: ignore[method-assign]
        app.wsgi_app,
        root=str(assets.root),
        prefix=PREFIX,
        max_age=_YEAR,
        autorefresh=False,
        immutable_file_test=lambda path, url: True,
    )

    socketio = SocketIO(
        app,
        async_mode="gevent",
        message_queue=settings.redis_url,
        manage_session=False,
        logger=False,
        engineio_logger=False,
    )
    tls = settings.mutual_tls()
    orchestrator = Orchestrator(
        settings.orchestrator_url,
        connections=settings.upstream_connections,
        verify=tls.client_context() if tls is not None else True,
    )
    credentials = Credentials(cache, orchestrator, lifetime_seconds=int(lifetime.total_seconds()))
    relay = Relay(
        orchestrator,
        credentials,
        socketio.emit,
        socketio.start_background_task,
        socketio.sleep,  # type: ignore[arg-type]
    )
    Frontend(settings, orchestrator, credentials, relay, assets, cache, socketio.emit).install(app)

    app.jinja_env.globals["asset"] = assets.url
    app.register_blueprint(account.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(chat.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(branches.bp)
    app.register_blueprint(mcp_api.bp)
    files.register(app)
    live.register(socketio)

    @app.errorhandler(CSRFError)
    def _csrf_failed(error: CSRFError) -> Any:
        if request.path.startswith("/api/"):
            body = {"error": {"type": "csrf", "message": "The page is out of date: reload it."}}
            return jsonify(body), 400
        return render_template("error.html", message="The form expired: try again."), 400

    @app.errorhandler(404)
    def _not_found(error: Any) -> Any:
        if request.path.startswith("/api/"):
            return jsonify({"error": {"type": "not_found", "message": "No such endpoint."}}), 404
        return render_template("error.html", message="There is nothing at this address."), 404

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    return app
