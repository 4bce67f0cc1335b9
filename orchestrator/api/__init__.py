"""The HTTP API: routers, dependencies, SSE, WebSocket, error mapping."""

from orchestrator.api.app import build_api

__all__ = ["build_api"]
