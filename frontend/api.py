"""The JSON endpoints the chat screen calls: the orchestrator's API, as the signed-in user.

Each call takes the session's access token (renewed on the server when it nears its end or
is refused), forwards the request, and passes the orchestrator's answer back with its
status and error shape. Every state change is a POST, PATCH or DELETE, which CSRFProtect
guards (the page sends its token in `X-CSRFToken`).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request, session

from frontend.auth import login_required, signed_in_user
from frontend.context import frontend
from frontend.credentials import SignedOut
from frontend.upstream import ApiError, Unauthorized, Unreachable

__all__ = ["UpstreamCall", "bp", "call_as_user"]

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api")


class UpstreamCall(Exception):
    """A call to the orchestrator failed; `response` is what the browser gets."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def call_as_user(method: str, path: str, *, raw: bool = False, **kwargs: Any) -> Any:
    """The orchestrator's JSON answer (None for 204), as the session's user.

    With `raw`, the response itself (for a download that is not JSON).

    Raises:
        UpstreamCall: signed out (401), refused (its status), or unreachable (502).
    """
    parts = frontend()
    key = session.get("key")
    if not isinstance(key, str):
        raise UpstreamCall(401, {"error": {"type": "signed_out", "message": "Log in again."}})
    try:
        access = parts.credentials.access(key)
        try:
            response = parts.orchestrator.call(method, path, access, **kwargs)
        except Unauthorized:
            response = parts.orchestrator.call(
                method, path, parts.credentials.renew(key, access), **kwargs
            )
    except SignedOut as error:
        session.clear()
        raise UpstreamCall(401, {"error": {"type": "signed_out", "message": str(error)}}) from None
    except ApiError as error:
        raise UpstreamCall(error.status, error.body) from None
    except Unreachable as error:
        raise UpstreamCall(502, {"error": {"type": "unreachable", "message": str(error)}}) from None
    if raw:
        return response
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


@bp.errorhandler(UpstreamCall)
def _upstream_failed(error: UpstreamCall) -> tuple[Response, int]:
    return jsonify(error.body), error.status


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _answer(value: Any, status: int = 200) -> tuple[Response, int] | Response:
    if value is None:
        return Response(status=204)
    return jsonify(value), status


def _user_id() -> str:
    user = signed_in_user()
    assert user is not None  # login_required ran
    return str(user["id"])


@bp.get("/me")
@login_required
def me() -> Any:
    return jsonify(signed_in_user())


@bp.get("/models")
@login_required
def models() -> Any:
    return _answer(call_as_user("GET", "/models"))


@bp.get("/conversations")
@login_required
def list_conversations() -> Any:
    params = {
        name: request.args[name] for name in ("q", "cursor", "limit") if request.args.get(name)
    }
    return _answer(call_as_user("GET", "/conversations", params=params))


@bp.post("/conversations")
@login_required
def create_conversation() -> Any:
    return _answer(call_as_user("POST", "/conversations", json=_json_body()), 201)


@bp.get("/conversations/<uuid:conversation_id>")
@login_required
def get_conversation(conversation_id: Any) -> Any:
    """The conversation, and the run it is still waiting on, if any (to follow it live).

    The run is looked at before the messages: a run that ends in between is then followed
    (its replay supersedes the messages after the last question), never missed.
    """
    parts = frontend()
    active = None
    run_id = parts.remembered_run(_user_id(), str(conversation_id))
    if run_id is not None:
        try:
            run = call_as_user("GET", f"/runs/{run_id}")
        except UpstreamCall:
            run = None
        if run is not None and run.get("finished_at") is None:
            active = {"id": run["id"], "status": run["status"]}
    detail = call_as_user("GET", f"/conversations/{conversation_id}")
    detail["active_run"] = active
    return jsonify(detail)


@bp.patch("/conversations/<uuid:conversation_id>")
@login_required
def rename_conversation(conversation_id: Any) -> Any:
    return _answer(call_as_user("PATCH", f"/conversations/{conversation_id}", json=_json_body()))


@bp.delete("/conversations/<uuid:conversation_id>")
@login_required
def delete_conversation(conversation_id: Any) -> Any:
    return _answer(call_as_user("DELETE", f"/conversations/{conversation_id}"))


@bp.post("/conversations/<uuid:conversation_id>/messages")
@login_required
def post_message(conversation_id: Any) -> Any:
    body = _json_body()
    message = {"content": body.get("content")}
    if body.get("model"):
        message["model"] = body["model"]
    if body.get("resources"):
        message["resources"] = body["resources"]  # MCP resources attached (server, uri)
    if body.get("files"):
        message["files"] = body["files"]
    accepted = call_as_user("POST", f"/conversations/{conversation_id}/messages", json=message)
    parts = frontend()
    parts.remember_run(_user_id(), str(conversation_id), accepted["run_id"])
    parts.tell_user(_user_id(), "conversation.run", accepted)
    return jsonify(accepted), 202


@bp.post("/runs/<uuid:run_id>/cancel")
@login_required
def cancel_run(run_id: Any) -> Any:
    return _answer(call_as_user("POST", f"/runs/{run_id}/cancel"))


@bp.post("/tool-calls/<string:call_id>/<any(approve, deny):decision>")
@login_required
def decide(call_id: str, decision: str) -> Any:
    path = f"/tool-calls/{quote(call_id, safe='')}/{decision}"
    if decision == "approve" and _json_body().get("always") is True:
        return _answer(call_as_user("POST", path, json={"always": True}))
    return _answer(call_as_user("POST", path))
