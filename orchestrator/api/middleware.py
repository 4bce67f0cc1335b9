"""Request body limits (`common.body_limit.BodyLimit`), answered in the API's error shape."""

from __future__ import annotations

from starlette.types import ASGIApp

from orchestrator.api.errors import error_json

__all__ = ["too_large"]


def too_large(limit: int) -> ASGIApp:
    """The API's 413: `{"error": {"type": "payload_too_large", ...}}`."""
    return error_json(413, "payload_too_large", f"The request body is larger than {limit} bytes.")
