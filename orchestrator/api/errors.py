"""The one place errors become HTTP: `{"error": {"type", "message", "detail"?}}`.

Domain errors map by class; FastAPI's validation errors become 422 (400 for a body that is
not JSON at all); unknown routes and methods keep their 404/405; anything unexpected is
logged and answered 500 without internals.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestrator.domain import (
    AssistantError,
    Conflict,
    Forbidden,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    UnsupportedType,
    UpstreamError,
    UserError,
)

__all__ = ["ErrorBody", "ErrorResponse", "error_responses", "install_error_handlers", "status_for"]

logger = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """What went wrong: `type` is the stable error code, `message` is for people."""

    type: str
    message: str
    detail: Any | None = None


class ErrorResponse(BaseModel):
    """The body of every error answer of the API."""

    error: ErrorBody


_STATUS: list[tuple[type[AssistantError], int]] = [
    (InvalidInput, 422),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (UnsupportedType, 415),
    (UserError, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (LimitExceeded, 429),
    (UpstreamError, 502),
    (Unavailable, 503),
]

_DESCRIPTIONS = {
    400: "The request is malformed (for example, not JSON).",
    401: "Missing, expired or invalid credentials.",
    403: "Authenticated, but not allowed.",
    404: "No such resource, or it belongs to someone else.",
    409: "The resource is in a state that does not allow this.",
    413: "The request body is too large.",
    415: "A kind of content the server does not take.",
    422: "The request is well-formed but invalid.",
    429: "Too many requests; see Retry-After.",
    502: "An upstream service (the model API, a tool server) failed.",
    503: "Not ready or not configured.",
}


def status_for(error: AssistantError) -> int:
    """The HTTP status of an assistant error (500 for one not in the table)."""
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 500


def error_responses(*statuses: int, page: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error statuses.

    `page`: the route answers HTML. FastAPI would declare its error bodies as the route's
    media type; they are JSON like everywhere else, so they are declared as such.
    """
    if page:
        schema = {"$ref": f"#/components/schemas/{ErrorResponse.__name__}"}
        return {
            status: {
                "description": _DESCRIPTIONS.get(status, "Error"),
                "content": {"application/json": {"schema": schema}},
            }
            for status in statuses
        }
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS.get(status, "Error")}
        for status in statuses
    }


def error_json(
    status: int, type_: str, message: str, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "message": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def _assistant_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AssistantError)
    status = status_for(error)
    headers = None
    if isinstance(error, LimitExceeded):
        headers = {"Retry-After": str(max(1, round(error.retry_after)))}
    if isinstance(error, Unauthorized):
        headers = {"WWW-Authenticate": "Bearer"}
    if status >= 500:
        logger.warning("%s %s: %s", request.method, request.url.path, error.message)
    return error_json(status, error.code, error.message, error.detail, headers)


def _clean(errors: list[Any]) -> list[dict[str, Any]]:
    """Validation errors without the echoed input (it can be huge or secret)."""
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in errors
    ]


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = list(error.errors())
    if any(err.get("type") == "json_invalid" for err in errors):
        return error_json(
            400, "invalid_json", "The request body is not valid JSON.", _clean(errors)
        )
    first: dict[str, Any] = errors[0] if errors else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = f"{where}: {first.get('msg')}" if where else str(first.get("msg", "Invalid request."))
    return error_json(422, "invalid_input", message, _clean(errors))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    types = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 400: "bad_request"}
    detail = cast(object, error.detail)  # typed str, but callers may pass any JSON value
    message = detail if isinstance(detail, str) else "Request failed."
    if error.status_code == 404 and message == "Not Found":
        message = f"No route {request.url.path}."
    return error_json(
        error.status_code,
        types.get(error.status_code, "http_error"),
        message,
        headers=dict(error.headers) if error.headers else None,
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    logger.exception("Unhandled error on %s %s", request.method, request.url.path)
    return error_json(
        500, "internal_error", "Something went wrong on our side; it has been logged."
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error with an `ErrorResponse`.

    Assistant errors get their status, validation errors 422 (400 for a body that is not
    JSON), Starlette's HTTP errors keep theirs, and anything else is logged and answered with
    a 500 that reveals nothing.
    """
    app.add_exception_handler(AssistantError, _assistant_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
