"""The chat screen's MCP endpoints: prompts, resources, answers to a server's questions.

JSON calls go to the orchestrator as the signed-in user (`call_as_user`), like `api.py`.
`GET /mcp/resource` opens a resource (a tool's resource link) in the browser: text as
plain text, raster images as themselves, anything else as a download, so that nothing a
server sends can run as a page of ours (no HTML, no SVG, `nosniff`, and the strict CSP
applies to this response too).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from frontend.api import UpstreamCall, call_as_user
from frontend.auth import login_required

__all__ = ["bp"]

bp = Blueprint("mcp_api", __name__)

# Images a browser shows without running anything; SVG is left out on purpose.
SAFE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"})
_MAX_SERVER = 63
_MAX_URI = 4000
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _invalid(message: str) -> tuple[Response, int]:
    return jsonify({"error": {"type": "invalid_input", "message": message}}), 422


@bp.errorhandler(UpstreamCall)
def _upstream_failed(error: UpstreamCall) -> tuple[Response, int]:
    return jsonify(error.body), error.status


@bp.post("/api/runs/<uuid:run_id>/input")
@login_required
def answer_input(run_id: Any) -> Any:
    call_as_user("POST", f"/runs/{run_id}/input", json=_json_body())
    return Response(status=204)


@bp.get("/api/mcp/prompts")
@login_required
def prompts() -> Any:
    return jsonify(call_as_user("GET", "/mcp/prompts"))


@bp.post("/api/mcp/prompts/get")
@login_required
def get_prompt() -> Any:
    return jsonify(call_as_user("POST", "/mcp/prompts/get", json=_json_body()))


@bp.get("/api/mcp/resources")
@login_required
def resources() -> Any:
    return jsonify(call_as_user("GET", "/mcp/resources"))


@bp.get("/api/tool-grants")
@login_required
def tool_grants() -> Any:
    return jsonify(call_as_user("GET", "/tool-grants"))


@bp.delete("/api/tool-grants/<path:tool>")
@login_required
def revoke_tool_grant(tool: str) -> Any:
    call_as_user("DELETE", f"/tool-grants/{quote(tool, safe='')}")
    return Response(status=204)


def _filename(uri: str, fallback: str) -> str:
    tail = uri.rstrip("/").rsplit("/", 1)[-1]
    name = _FILENAME_UNSAFE.sub("_", tail).strip("._")[:100]
    return name or fallback


@bp.get("/mcp/resource")
@login_required
def open_resource() -> Any:
    """A resource read through the orchestrator, shown or downloaded safely."""
    server = request.args.get("server", "")
    uri = request.args.get("uri", "")
    if not 0 < len(server) <= _MAX_SERVER or not 0 < len(uri) <= _MAX_URI:
        return _invalid("A server and a resource URI are needed.")
    read = call_as_user("GET", "/mcp/resources/read", params={"server": server, "uri": uri})
    contents = read.get("contents") or []
    if not contents:
        return _invalid("The resource is empty.")
    first = contents[0]
    name = _filename(uri, "resource")
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
    if first.get("blob"):
        try:
            data = base64.b64decode(first["blob"], validate=True)
        except (binascii.Error, ValueError):
            return _invalid("The resource's data is not valid base64.")
        mime = (first.get("mime_type") or "").lower()
        if mime in SAFE_IMAGE_TYPES:
            return Response(data, mimetype=mime, headers=headers)
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return Response(data, mimetype="application/octet-stream", headers=headers)
    text = "\n\n".join(part["text"] for part in contents if isinstance(part.get("text"), str))
    headers["Content-Disposition"] = f'inline; filename="{name}"'
    return Response(text, mimetype="text/plain", headers=headers)
