"""The run events over a WebSocket, for clients that prefer one connection.

Authenticate with an `Authorization: Bearer` header, or (browsers cannot set headers) with
a first message `{"type": "auth", "token": "..."}`. Then send JSON commands, each with an
optional `ref` echoed in the answer:

- `{"type": "send", "conversation_id", "content", "model"?, "tools"?}` starts a run and
  follows it; the answer is `{"type": "run", "run_id", "conversation_id"}`.
- `{"type": "subscribe", "run_id", "after"?}` follows a run from an event id.
- `{"type": "cancel", "run_id"}`, `{"type": "approve" | "deny", "tool_call_id"}`,
  `{"type": "input", "run_id", "id", "action", "content"?}`.

Events arrive as `{"type": "event", "run_id", "id", "event", "data"}`; failures of a
command as `{"type": "error", "ref"?, "error": {"type", "message"}}`. A frame that is not a
JSON object (binary, invalid UTF-8, nested too deeply, too large) gets such an error and
the connection goes on.

The credential is checked again before every command (expiry, a disabled or demoted user,
"log out everywhere"): when it no longer holds, the socket gets an `unauthorized` error
and is closed with code 4401, its follows stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any, cast

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from orchestrator.api.schemas import InputAnswer, MessageCreate
from orchestrator.auth import Principal
from orchestrator.domain import AssistantError, ElicitationAnswer, InvalidInput, Run, Unauthorized
from orchestrator.runtime.services import Services

router = APIRouter()

logger = logging.getLogger(__name__)

_AUTH_SECONDS = 10.0
_MAX_MESSAGE_BYTES = 1_048_576


def _uuid(value: Any, field: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise InvalidInput(f"`{field}` must be a UUID.") from None


class _Session:
    def __init__(
        self, websocket: WebSocket, services: Services, user: Principal, credential: str
    ) -> None:
        self.ws = websocket
        self.services = services
        self.user = user
        self.credential = credential
        self.follows: dict[str, asyncio.Task[None]] = {}
        self.send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_json(message)

    async def follow(self, run: Run, after: int) -> None:
        try:
            async for event in self.services.runs.events(run, after):
                await self.send(
                    {
                        "type": "event",
                        "run_id": run.id,
                        "id": event.seq,
                        "event": event.name,
                        "data": event.data,
                    }
                )
        except AssistantError as error:
            await self.send(
                {"type": "error", "error": {"type": error.code, "message": error.message}}
            )
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.follows.pop(run.id, None)

    def start_following(self, run: Run, after: int) -> None:
        if run.id not in self.follows:
            self.follows[run.id] = asyncio.create_task(self.follow(run, after))

    async def handle(self, command: dict[str, Any]) -> None:
        kind = command.get("type")
        ref = _ref(command.get("ref"))
        runs = self.services.runs
        user_id = self.user.user_id
        if kind == "send":
            body = MessageCreate.model_validate(
                {key: command[key] for key in ("content", "model", "tools") if key in command}
            )
            conversation_id = _uuid(command.get("conversation_id"), "conversation_id")
            run = await runs.start(
                user_id, conversation_id, body.parts(), model=body.model, tool_names=body.tools
            )
            await self.send(
                {"type": "run", "ref": ref, "run_id": run.id, "conversation_id": conversation_id}
            )
            self.start_following(run, 0)
        elif kind == "subscribe":
            run_id = _uuid(command.get("run_id"), "run_id")
            after = command.get("after", 0)
            if not isinstance(after, int) or after < 0:
                raise InvalidInput("`after` must be a non-negative integer.")
            self.start_following(await runs.get(user_id, run_id), after)
        elif kind == "cancel":
            run = await runs.cancel(user_id, _uuid(command.get("run_id"), "run_id"))
            await self.send(
                {"type": "cancelled", "ref": ref, "run_id": run.id, "status": run.status.value}
            )
        elif kind in ("approve", "deny"):
            call_id = str(command.get("tool_call_id", ""))
            run_id = await runs.decide(user_id, call_id, kind == "approve")
            await self.send(
                {"type": "decided", "ref": ref, "tool_call_id": call_id, "run_id": run_id}
            )
        elif kind == "input":
            answer = InputAnswer.model_validate(
                {key: command[key] for key in ("id", "action", "content") if key in command}
            )
            await runs.answer_input(
                user_id,
                _uuid(command.get("run_id"), "run_id"),
                answer.id,
                ElicitationAnswer(action=answer.action, content=answer.content),
            )
            await self.send({"type": "answered", "ref": ref, "id": answer.id})
        else:
            raise InvalidInput(f"Unknown command type {kind!r}.")

    async def close(self) -> None:
        for task in list(self.follows.values()):
            task.cancel()
        for task in list(self.follows.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _authenticate(websocket: WebSocket, services: Services) -> tuple[Principal, str]:
    """The caller and the credential they used (kept, to check again on each command)."""
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        credential = header[7:].strip()
        return await services.auth.authenticate(credential), credential
    async with asyncio.timeout(_AUTH_SECONDS):
        first = _parse(_text(await websocket.receive()))
    if first.get("type") != "auth" or not isinstance(first.get("token"), str):
        raise Unauthorized('Authenticate first: {"type": "auth", "token": "..."}.')
    return await services.auth.authenticate(first["token"]), first["token"]


@router.websocket("/ws")
async def events_socket(websocket: WebSocket) -> None:
    """Run commands and events over one WebSocket (see the module for the protocol)."""
    services: Services = websocket.app.state.services
    await websocket.accept()
    try:
        user, credential = await _authenticate(websocket, services)
    except (AssistantError, TimeoutError) as error:
        message = (
            error.message
            if isinstance(error, AssistantError)
            else "Authentication timed out or was malformed."
        )
        await websocket.send_json(
            {"type": "error", "error": {"type": "unauthorized", "message": message}}
        )
        await websocket.close(code=4401)
        return
    except WebSocketDisconnect:
        return
    session = _Session(websocket, services, user, credential)
    await session.send({"type": "ready", "user_id": user.user_id})
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            ref = None
            try:
                command = _parse(_text(frame))
                ref = _ref(command.get("ref"))
                try:
                    session.user = await services.auth.authenticate(session.credential)
                except Unauthorized as error:
                    await session.send(
                        {
                            "type": "error",
                            "ref": ref,
                            "error": {"type": error.code, "message": error.message},
                        }
                    )
                    await websocket.close(code=4401)
                    break
                await session.handle(command)
            except AssistantError as error:
                await session.send(
                    {
                        "type": "error",
                        "ref": ref,
                        "error": {"type": error.code, "message": error.message},
                    }
                )
            except ValidationError as error:
                first: dict[str, Any] = dict(error.errors()[0]) if error.errors() else {}
                where = ".".join(str(part) for part in first.get("loc", ()))
                await session.send(
                    {
                        "type": "error",
                        "ref": ref,
                        "error": {
                            "type": "invalid_input",
                            "message": f"{where}: {first.get('msg')}",
                        },
                    }
                )
            except (WebSocketDisconnect, RuntimeError):
                raise
            except Exception:  # the root of the socket's loop: one bad command, not the socket
                logger.exception("A WebSocket command failed")
                await session.send(
                    {
                        "type": "error",
                        "ref": ref,
                        "error": {
                            "type": "internal_error",
                            "message": "Something went wrong on our side; it has been logged.",
                        },
                    }
                )
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        await session.close()


def _text(frame: Any) -> str:
    """A frame's text: a text frame, or a binary one that is UTF-8.

    Raises:
        InvalidInput: a binary frame that is not UTF-8, or a frame over the size limit.
        WebSocketDisconnect: the client went away.
    """
    if frame.get("type") == "websocket.disconnect":
        raise WebSocketDisconnect(frame.get("code", 1000))
    text = frame.get("text")
    if text is None:
        data = frame.get("bytes") or b""
        if len(data) > _MAX_MESSAGE_BYTES:
            raise InvalidInput("The message is too large.")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("Commands are JSON objects in UTF-8 text.") from None
    if len(text) > _MAX_MESSAGE_BYTES:
        raise InvalidInput("The message is too large.")
    return text


def _ref(value: Any) -> str | int | None:
    """The command's `ref`, echoed only when it is a short string or an integer."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    if isinstance(value, str) and len(value) > 200:
        return None
    return value


def _parse(raw: str) -> dict[str, Any]:
    """Raises InvalidInput: not a JSON object, or nested too deeply to read."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise InvalidInput("The command is nested too deeply.") from None
    except ValueError:
        raise InvalidInput("Commands are JSON objects.") from None
    if not isinstance(value, dict):
        raise InvalidInput("Commands are JSON objects.")
    return cast(dict[str, Any], value)
