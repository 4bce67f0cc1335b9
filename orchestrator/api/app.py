"""The FastAPI application: routers, error handlers, middleware."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import APIRouter, FastAPI

from common.body_limit import BodyLimit
from orchestrator.api.errors import install_error_handlers
from orchestrator.api.middleware import too_large
from orchestrator.api.origin import RequestOrigins
from orchestrator.api.routes import (
    audit,
    auth,
    branches,
    conversations,
    files,
    groups,
    health,
    keys,
    knowledge,
    mcp,
    models,
    oidc,
    openai_compat,
    runs,
    tools,
    usage,
    users,
    ws,
)
from orchestrator.api.telemetry import RequestMetrics
from orchestrator.telemetry import Metrics

__all__ = ["build_api"]

API_PREFIX = "/api/v1"


def build_api(
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    *,
    max_request_bytes: int,
    version: str,
    max_upload_bytes: int = 25 * 1024 * 1024,
    max_file_bytes: int = 51 * 1024 * 1024,
) -> FastAPI:
    """The FastAPI app with every route, middleware and error handler, before services exist.

    The composition root (`orchestrator.main.create_app`) passes the `lifespan` that builds the
    services. `max_request_bytes` bounds every request body; uploads get `max_upload_bytes`
    (documents) and `max_file_bytes` (files) instead.
    """
    app = FastAPI(
        title="Assistant",
        version=version,
        description=(
            "A self-hosted AI assistant: conversations, streaming runs with MCP tools, "
            'and an OpenAI-compatible API. Errors are `{"error": {"type", "message", "detail"?}}`.'
        ),
        lifespan=lifespan,
    )
    metrics = Metrics()
    app.state.metrics = metrics
    install_error_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    resources = (auth, keys, conversations, branches, runs, tools, models, usage, mcp, ws)
    for module in (*resources, knowledge, files):
        api.include_router(module.router)
    api.include_router(users.router)
    api.include_router(groups.router)
    api.include_router(oidc.router)
    api.include_router(audit.router)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(mcp.callback_router)
    app.include_router(openai_compat.router)
    app.add_middleware(
        BodyLimit,
        max_bytes=max_request_bytes,
        refusal=too_large,
        overrides={
            API_PREFIX + knowledge.UPLOAD_PATH: max_upload_bytes,
            API_PREFIX + files.UPLOAD_PATH: max_file_bytes,
        },
    )
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.add_middleware(RequestOrigins)  # outermost: even a refused request gets its id
    return app
