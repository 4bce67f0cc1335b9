"""Branches and exports of a conversation, for the chat screen: edit a message, regenerate
an answer, switch between versions, download the conversation.

The orchestrator's routes, called as the signed-in user; the state changes are POST and PUT,
which CSRFProtect guards like every other.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from frontend.api import UpstreamCall, call_as_user
from frontend.auth import login_required, signed_in_user
from frontend.context import frontend

__all__ = ["bp"]

bp = Blueprint("branches", __name__, url_prefix="/api/conversations")

_EXPORT_FORMATS = ("markdown", "json")


@bp.errorhandler(UpstreamCall)
def _upstream_failed(error: UpstreamCall) -> tuple[Response, int]:
    return jsonify(error.body), error.status


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _started(conversation_id: str, accepted: dict[str, Any]) -> tuple[Response, int]:
    """Remember the run (a reload follows it) and tell the user's other tabs."""
    user = signed_in_user()
    assert user is not None  # login_required ran
    parts = frontend()
    parts.remember_run(str(user["id"]), conversation_id, accepted["run_id"])
    parts.tell_user(str(user["id"]), "conversation.run", accepted)
    return jsonify(accepted), 202


@bp.post("/<uuid:conversation_id>/messages/<uuid:message_id>/edit")
@login_required
def edit(conversation_id: Any, message_id: Any) -> Any:
    body = _body()
    message: dict[str, Any] = {"content": body.get("content")}
    if body.get("model"):
        message["model"] = body["model"]
    accepted = call_as_user(
        "POST", f"/conversations/{conversation_id}/messages/{message_id}/edit", json=message
    )
    return _started(str(conversation_id), accepted)


@bp.post("/<uuid:conversation_id>/messages/<uuid:message_id>/regenerate")
@login_required
def regenerate(conversation_id: Any, message_id: Any) -> Any:
    body = _body()
    wanted = {"model": body["model"]} if body.get("model") else {}
    accepted = call_as_user(
        "POST", f"/conversations/{conversation_id}/messages/{message_id}/regenerate", json=wanted
    )
    return _started(str(conversation_id), accepted)


@bp.put("/<uuid:conversation_id>/branch")
@login_required
def switch(conversation_id: Any) -> Any:
    """Switch, then tell the user's other tabs (all but `tab`, the one that switched)."""
    body = _body()
    detail = call_as_user(
        "PUT",
        f"/conversations/{conversation_id}/branch",
        json={"message_id": body.get("message_id")},
    )
    detail["active_run"] = None
    tab = body.get("tab")
    user = signed_in_user()
    assert user is not None  # login_required ran
    frontend().tell_user(
        str(user["id"]),
        "conversation.branch",
        {
            "conversation_id": str(conversation_id),
            "tab": tab if isinstance(tab, str) and len(tab) <= 40 else None,
        },
    )
    return jsonify(detail)


@bp.get("/<uuid:conversation_id>/export")
@login_required
def export(conversation_id: Any) -> Any:
    """The orchestrator's download, passed through with its type and file name."""
    wanted = request.args.get("format", "markdown")
    if wanted not in _EXPORT_FORMATS:
        error = {"type": "invalid_input", "message": "The format is markdown or json."}
        return jsonify({"error": error}), 422
    upstream = call_as_user(
        "GET", f"/conversations/{conversation_id}/export", raw=True, params={"format": wanted}
    )
    headers = {"Content-Disposition": upstream.headers.get("content-disposition", "attachment")}
    return Response(upstream.content, mimetype=upstream.headers["content-type"], headers=headers)
