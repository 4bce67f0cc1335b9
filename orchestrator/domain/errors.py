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
    "ApprovalUnavailable",
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
    """The request is wrong in a way its sender can fix; the same request fails again."""

    code = "bad_request"


class InvalidInput(UserError):
    """The request is well formed but a value in it is not acceptable."""

    code = "invalid_input"


class Conflict(UserError):
    """The request clashes with the current state (a duplicate name, a run already over)."""

    code = "conflict"


class PayloadTooLarge(UserError):
    """The request or an upload is bigger than the configured limit."""

    code = "payload_too_large"


class UnsupportedType(UserError):
    """An upload of a kind of file the server does not take."""

    code = "unsupported_media_type"


class Unauthorized(AssistantError):
    """No valid credentials: a missing, wrong, expired or revoked token or password."""

    code = "unauthorized"


class Forbidden(AssistantError):
    """The caller is known but may not do this (an admin-only action, say)."""

    code = "forbidden"


class NotFound(AssistantError):
    """The thing asked for does not exist for this caller.

    Also raised for what exists but belongs to someone else, so an id reveals nothing.
    """

    code = "not_found"


class LimitExceeded(AssistantError):
    """The caller has spent an allowance (failed logins, say) or the server is too busy now.

    `retry_after` is the number of seconds after which trying again may succeed.
    """

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, detail: Any = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class UpstreamError(AssistantError):
    """A service the assistant depends on failed; the request itself was fine."""

    code = "upstream_error"


class ModelError(UpstreamError):
    """The language model API failed or answered with something unusable."""

    code = "model_error"


class ToolServerError(UpstreamError):
    """An MCP server failed at the transport or protocol level.

    Not a tool's own error: that is a result with `is_error` set, for the model to read.
    """

    code = "tool_server_error"


class Unavailable(AssistantError):
    """A part needed here is not configured or not reachable right now; retry later."""

    code = "unavailable"


class ModelNotConfigured(Unavailable):
    """No language model is configured, so runs cannot start."""

    code = "model_not_configured"


class ApprovalUnavailable(Exception):
    """No one can approve a call here (an API without users present); it is denied.

    `reason` is the audit record's `detail.reason`; the message is what the model reads.
    """

    def __init__(self, message: str, reason: str) -> None:
        """A denial saying `message`, for `reason`."""
        super().__init__(message)
        self.message = message
        self.reason = reason
