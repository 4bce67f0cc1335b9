"""Liveness, readiness and metrics: open to probes, no credentials."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from orchestrator.api.deps import ServicesDep
from orchestrator.api.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is alive."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready; `checks` says what is wrong."}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """Ready when the database answers and a model is configured and reachable."""
    database = await services.check_database()
    model = await services.check_model()
    checks = {"database": database or "ok", "model": model or "ok"}
    ready = database is None and model is None
    body = Readiness(status="ready" if ready else "not_ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus metrics.",
        }
    },
)
async def metrics(request: Request) -> Response:
    """The server's Prometheus metrics (HTTP requests, runs, tokens)."""
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4")
