"""The one error hierarchy of the assistant.

Every failure the core can name is one of these; the API maps them to HTTP statuses in
`orchestrator.api.errors` and the run loop turns them into `error` events. Nothing in the
core raises an HTTP exception.

    AssistantError
    ├── UserError                400  the caller can fix the request
    │   ├── InvalidInput         422
    │   ├── Conflict             409
    │   ├── PayloadTooLarge      413
    │   └── UnsupportedType      415  a kind of file the server does not take
    ├── Unauthorized             401
    ├── Forbidden                403
    ├── NotFound                 404  also for what exists but belongs to someone else
    ├── LimitExceeded            429  carries `retry_after` seconds
    ├── UpstreamError            502  a part we depend on failed
    │   ├── ModelError                the language model API
    │   └── ToolServerError           an MCP server (transport or protocol, not a tool's own error)
    └── Unavailable              503  not configured or not reachable right now
        └── ModelNotConfigured
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AssistantError",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "LimitExceeded",
    "ModelError",
    "ModelNotConfigured",
    "NotFound",
    "PayloadTooLarge",
    "ToolServerError",
    "Unauthorized",
    "Unavailable",
    "UnsupportedType",
    "UpstreamError",
    "UserError",
]


class AssistantError(Exception):
    """Base of every error the assistant reports to a caller.

    `code` is the stable machine-readable name (the `type` of the JSON error shape and of
    the `error` run event); `message` is for humans and never carries secrets.
    """

    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class UserError(AssistantError):
    code = "bad_request"


class InvalidInput(UserError):
    code = "invalid_input"


class Conflict(UserError):
    code = "conflict"


class PayloadTooLarge(UserError):
    code = "payload_too_large"


class UnsupportedType(UserError):
    code = "unsupported_media_type"


class Unauthorized(AssistantError):
    code = "unauthorized"


class Forbidden(AssistantError):
    code = "forbidden"


class NotFound(AssistantError):
    code = "not_found"


class LimitExceeded(AssistantError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, detail: Any = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class UpstreamError(AssistantError):
    code = "upstream_error"


class ModelError(UpstreamError):
    code = "model_error"


class ToolServerError(UpstreamError):
    code = "tool_server_error"


class Unavailable(AssistantError):
    code = "unavailable"


class ModelNotConfigured(Unavailable):
    code = "model_not_configured"
