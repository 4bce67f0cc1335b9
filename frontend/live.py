"""Socket.IO: the browser's live channel, for following runs.

A connection is accepted only from a signed-in session that also shows the page's CSRF
token (a cross-site page can open a WebSocket with the user's cookie, but cannot read the
token). `subscribe` checks with the orchestrator that the run is the user's, joins its room,
and sends what the client has not seen yet; state changes (send, stop, approve) go through
the CSRF-protected `/api` endpoints.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import request, session
from flask_socketio import SocketIO, emit, join_room, leave_room
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from frontend.api import UpstreamCall, call_as_user
from frontend.auth import signed_in_user
from frontend.context import frontend, user_room
from frontend.relay import room_of

__all__ = ["register"]

logger = logging.getLogger(__name__)

_RUN_ID = re.compile(r"^[0-9a-fA-F-]{32,36}$")


def _run_request(data: Any) -> tuple[str, int] | None:
    if not isinstance(data, dict):
        return None
    run_id, after = data.get("run_id"), data.get("after", 0)
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        return None
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        return None
    return run_id, after


def register(socketio: SocketIO) -> None:
    """Attach the handlers to the app's Socket.IO server."""

    @socketio.on("connect")
    def connect(auth: Any = None) -> bool:
        if signed_in_user() is None:
            return False
        token = auth.get("csrf") if isinstance(auth, dict) else None
        try:
            validate_csrf(token)
        except (ValidationError, CSRFError):
            logger.info("refused a Socket.IO connection without a valid CSRF token")
            return False
        user = signed_in_user()
        assert user is not None
        join_room(user_room(str(user["id"])))
        return True

    @socketio.on("subscribe")
    def subscribe(data: Any) -> dict[str, Any]:
        wanted = _run_request(data)
        if wanted is None:
            return {"error": {"type": "invalid_input", "message": "run_id and after are needed."}}
        if signed_in_user() is None:
            return {"error": {"type": "signed_out", "message": "Log in again."}}
        run_id, after = wanted
        try:
            run = call_as_user("GET", f"/runs/{run_id}")
        except UpstreamCall as error:
            return error.body
        join_room(room_of(run_id))
        for event in frontend().relay.backlog(run_id, session["key"], after):
            emit(
                "run.event",
                {"run_id": run_id, "id": event.id, "event": event.name, "data": event.data},
                to=request.sid,  # type: ignore[attr-defined]
            )
        return {"ok": True, "status": run["status"], "last_event_id": run["last_event_id"]}

    @socketio.on("unsubscribe")
    def unsubscribe(data: Any) -> None:
        wanted = _run_request(data)
        if wanted is not None:
            leave_room(room_of(wanted[0]))
