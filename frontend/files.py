"""Attached files through the front end: upload, thumbnail and download, delete.

An upload is streamed through to the orchestrator as the browser sends it (a 50 MB file is
never held in this process), so Flask-WTF's form-reading CSRF check is replaced on that one
route by the same check on the `X-CSRFToken` header alone. Downloads stream back with the
orchestrator's type, `Content-Disposition: attachment` and `nosniff`, and serve as the
thumbnails of images (an `<img>` shows an attachment; a visit downloads it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
from flask import Blueprint, Flask, Response, jsonify, request, session
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from frontend.api import UpstreamCall, call_as_user
from frontend.auth import login_required
from frontend.context import frontend
from frontend.credentials import SignedOut
from frontend.upstream import ApiError, Unreachable

__all__ = ["bp", "register"]

logger = logging.getLogger(__name__)

bp = Blueprint("files", __name__, url_prefix="/api")

_CHUNK = 64 * 1024
_POLICY_SECONDS = 60.0
_policy: dict[str, Any] = {}
_PASSED_HEADERS = ("Content-Type", "Content-Length", "Content-Disposition", "Last-Modified")


def _error(status: int, kind: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"type": kind, "message": message}}), status


def _policy_now() -> dict[str, Any]:
    """What the orchestrator takes (cached briefly: it changes only with its settings)."""
    if _policy and time.monotonic() - _policy["at"] < _POLICY_SECONDS:
        return _policy["value"]
    value = call_as_user("GET", "/files/policy")
    _policy.update(value=value, at=time.monotonic())
    return value


def _human(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.0f} MB"


def _access() -> str:
    key = session.get("key")
    if not isinstance(key, str):
        raise UpstreamCall(401, {"error": {"type": "signed_out", "message": "Log in again."}})
    try:
        return frontend().credentials.access(key)
    except SignedOut as error:
        session.clear()
        raise UpstreamCall(401, {"error": {"type": "signed_out", "message": str(error)}}) from None
    except Unreachable as error:
        raise UpstreamCall(502, {"error": {"type": "unreachable", "message": str(error)}}) from None


def _body() -> Iterator[bytes]:
    stream = request.stream
    while chunk := stream.read(_CHUNK):
        yield chunk


@bp.errorhandler(UpstreamCall)
def _upstream_failed(error: UpstreamCall) -> tuple[Response, int]:
    return jsonify(error.body), error.status


@bp.get("/files/policy")
@login_required
def policy() -> Any:
    return jsonify(_policy_now())


@bp.post("/files")
@login_required
def upload_file() -> Any:
    """Stream the browser's multipart body to the orchestrator's `POST /api/v1/files`."""
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except (ValidationError, CSRFError):
        return _error(400, "csrf", "The page is out of date: reload it.")
    length = request.content_length
    if length is None:
        return _error(411, "length_required", "Send the file with a Content-Length.")
    limit = int(_policy_now()["max_bytes"])
    if length > limit + 64 * 1024:
        return _error(
            413, "payload_too_large", f"The file is larger than the {_human(limit)} limit."
        )
    headers = {"Content-Type": request.content_type or "", "Content-Length": str(length)}
    try:
        response = frontend().orchestrator.open_stream(
            "POST", "/files", _access(), content=_body(), headers=headers
        )
    except ApiError as error:
        return jsonify(error.body), error.status
    except (Unreachable, httpx.TransportError):
        return _error(502, "unreachable", "The upload did not reach the server: try again.")
    try:
        response.read()
        return jsonify(response.json()), response.status_code
    finally:
        response.close()


@bp.get("/files/<uuid:file_id>/content")
@login_required
def download_file(file_id: Any) -> Any:
    try:
        upstream = frontend().orchestrator.open_stream(
            "GET", f"/files/{file_id}/content", _access()
        )
    except ApiError as error:
        return jsonify(error.body), error.status
    except Unreachable as error:
        return _error(502, "unreachable", str(error))

    def chunks() -> Iterator[bytes]:
        try:
            yield from upstream.iter_raw(_CHUNK)
        finally:
            upstream.close()

    headers = {name: upstream.headers[name] for name in _PASSED_HEADERS if name in upstream.headers}
    headers |= {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    return Response(chunks(), status=200, headers=headers, direct_passthrough=True)


@bp.delete("/files/<uuid:file_id>")
@login_required
def delete_file(file_id: Any) -> Any:
    call_as_user("DELETE", f"/files/{file_id}")
    return Response(status=204)


def register(app: Flask) -> None:
    """Add the routes; the upload checks its CSRF header itself (see the module's note)."""
    app.register_blueprint(bp)
    app.extensions["csrf"].exempt(upload_file)
