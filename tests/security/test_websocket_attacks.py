"""Attack tests on /api/v1/ws: revoked credentials mid-connection, and hostile frames."""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import pytest
import websockets

from tests.api import conftest as api_fixtures
from tests.api.conftest import Api

# The app served by uvicorn and a logged-in user: the API tests' own fixtures.
tools = api_fixtures.tools
app = api_fixtures.app
live_url = api_fixtures.live_url
api = api_fixtures.api

pytestmark = pytest.mark.anyio


async def _open(api: Api, live_url: str) -> Any:
    socket = await websockets.connect(live_url.replace("http", "ws") + "/api/v1/ws")
    token = api.headers["authorization"].removeprefix("Bearer ")
    await socket.send(json.dumps({"type": "auth", "token": token}))
    assert json.loads(await socket.recv())["type"] == "ready"
    return socket


async def _answer(socket: Any) -> dict[str, Any]:
    with anyio.fail_after(10):
        return json.loads(await socket.recv())


def _subscribe(ref: str) -> str:
    return json.dumps({"type": "subscribe", "ref": ref, "run_id": str(uuid.uuid4())})


@pytest.mark.parametrize("revocation", ["disabled", "demoted", "logged_out_everywhere"])
async def test_the_socket_checks_the_credential_again_before_every_command(
    api: Api, live_url: str, revocation: str
) -> None:
    socket = await _open(api, live_url)
    try:
        await socket.send(_subscribe("before"))
        before = await _answer(socket)
        assert before["ref"] == "before" and before["error"]["type"] == "not_found"
        auth = api.services.auth
        if revocation == "disabled":
            await auth.update_account(api.user_id, is_active=False)
        elif revocation == "demoted":
            await auth.update_account(api.user_id, is_admin=False)
        else:
            await auth.update_account(api.user_id)
        await socket.send(_subscribe("after"))
        after = await _answer(socket)
        assert after["type"] == "error" and after["error"]["type"] == "unauthorized"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await _answer(socket)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    finally:
        await socket.close()


DEEP = "[" * 10_000 + "]" * 10_000

HOSTILE_FRAMES: list[tuple[str, str | bytes]] = [
    ("10,000-deep array", DEEP),
    ("10,000-deep object", '{"a":' * 10_000 + "1" + "}" * 10_000),
    ("deep array inside a command", '{"type": "send", "content": ' + DEEP + "}"),
    ("invalid UTF-8 in a binary frame", b'{"type": "\xff\xfe"}'),
    ("binary frame of JSON", b'{"type": "nothing-known"}'),
    ("not JSON", "this is not json"),
    ("a JSON array", "[1, 2, 3]"),
    ("a huge number", '{"type": "subscribe", "after": 1' + "0" * 5000 + "}"),
    ("a nested ref", '{"type": "nope", "ref": ' + "[" * 500 + "]" * 500 + "}"),
    ("over the size limit", '{"type": "send", "content": "' + "x" * 1_100_000 + '"}'),
]


async def test_hostile_frames_get_an_error_event_and_the_socket_stays_usable(
    api: Api, live_url: str
) -> None:
    socket = await _open(api, live_url)
    answers = {}
    try:
        for name, frame in HOSTILE_FRAMES:
            await socket.send(frame)
            answers[name] = await _answer(socket)
            await socket.send(_subscribe(name[:20]))
            still = await _answer(socket)
            assert still["ref"] == name[:20] and still["error"]["type"] == "not_found", name
    finally:
        await socket.close()
    for name, answer in answers.items():
        assert answer["type"] == "error", name
        assert answer["error"]["type"] == "invalid_input", (name, answer)
        assert "ref" not in answer or isinstance(answer["ref"], str | int | None), name
