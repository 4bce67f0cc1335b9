"""The FastAPI application: routers, error handlers, middleware."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import APIRouter, FastAPI

from common.body_limit import BodyLimit
from orchestrator.api.errors import install_error_handlers
from orchestrator.api.middleware import too_large
from orchestrator.api.routes import (
    auth,
    branches,
    catalog,
    conversations,
    files,
    health,
    keys,
    knowledge,
    mcp,
    openai_compat,
    runs,
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
    for module in (auth, keys, conversations, branches, runs, catalog, mcp, ws, knowledge, files):
        api.include_router(module.router)
    api.include_router(users.router)
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
    return app
