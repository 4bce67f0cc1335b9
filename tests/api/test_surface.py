"""The OpenAPI document, health, readiness, metrics and the WebSocket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from openapi_spec_validator import validate

from tests.api.conftest import Api, in_process, make_settings
from tests.fakes.openai_server import FakeOpenAI, Reply

pytestmark = pytest.mark.anyio


async def test_the_openapi_document_is_valid_and_describes_every_route_and_error(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    validate(document)
    paths = document["paths"]
    served = list(_routes(api.app.routes))
    assert len(served) > 20
    for path, methods in served:
        if path.startswith(("/docs", "/redoc", "/openapi")) or not methods:
            continue
        for method in set(methods) - {"HEAD"}:
            assert method.lower() in paths[path], f"{method} {path} is not documented"
    for path, operations in paths.items():
        for method, operation in operations.items():
            if path.startswith("/api/v1"):
                assert "401" in operation["responses"], f"{method} {path} does not document 401"
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and path.startswith("/api/v1"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema["$ref"].endswith("/ErrorResponse"), (method, path, status)
    streaming = paths["/api/v1/conversations/{conversation_id}/messages"]["post"]["responses"]
    assert "text/event-stream" in streaming["200"]["content"]
    assert streaming["202"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/RunAccepted"
    )


def _routes(routes: list[Any]) -> Iterator[tuple[str, set[str]]]:
    """Every (path, methods) the app serves, through included routers."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for context in contexts():
                yield context.path, set(context.methods or ())
        elif getattr(route, "path", None):
            yield route.path, set(getattr(route, "methods", None) or ())


async def test_health_ready_and_metrics(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "model": "ok"}}
    metrics = (await api.client.get("/metrics")).text
    assert 'assistant_http_requests_total{method="GET",route="/readyz",status="200"} 1.0' in metrics


async def test_without_a_model_the_api_says_exactly_what_to_set(
    database_url: str, data_dir: Path
) -> None:
    async with in_process(make_settings(database_url, data_dir, None)) as base:
        client = base.client
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert "OPENAI_API_KEY" in ready.json()["checks"]["model"]
        user = await base.as_new_user()
        models = (await client.get("/api/v1/models", headers=user.headers)).json()
        assert models["configured"] is False and "OPENAI_BASE_URL" in models["message"]
        conversation = await user.conversation()
        response = await client.post(
            f"/api/v1/conversations/{conversation}/messages",
            json={"content": "hello?"},
            headers=user.headers | {"accept": "text/event-stream"},
        )
        last = [
            line for line in response.text.splitlines() if line.startswith(("event:", "data:"))
        ][-2:]
        assert last[0] == "event: error"
        error = json.loads(last[1].removeprefix("data: "))
        assert error["type"] == "model_not_configured" and "OPENAI_API_KEY" in error["message"]
        detail = (
            await client.get(f"/api/v1/conversations/{conversation}", headers=user.headers)
        ).json()
        assert [m["role"] for m in detail["messages"]] == ["user"]


async def test_the_websocket_carries_the_same_run_events(
    api: Api, live_url: str, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(text="over the socket"))
    conversation = await api.conversation()
    token = api.headers["authorization"].removeprefix("Bearer ")
    async with websockets.connect(live_url.replace("http", "ws") + "/api/v1/ws") as socket:
        await socket.send(json.dumps({"type": "auth", "token": token}))
        assert json.loads(await socket.recv())["type"] == "ready"
        await socket.send(
            json.dumps(
                {"type": "send", "ref": "r1", "conversation_id": conversation, "content": "hi"}
            )
        )
        started = json.loads(await socket.recv())
        assert started["type"] == "run" and started["ref"] == "r1"
        events = []
        while not events or events[-1]["event"] not in ("run.completed", "error"):
            events.append(json.loads(await socket.recv()))
        await socket.send(
            json.dumps({"type": "subscribe", "run_id": started["run_id"], "after": 2})
        )
        replay = []
        while not replay or replay[-1]["event"] != "run.completed":
            replay.append(json.loads(await socket.recv()))
        await socket.send(json.dumps({"type": "cancel", "run_id": started["run_id"], "ref": "c"}))
        refused = json.loads(await socket.recv())
        await socket.send("not json")
        garbage = json.loads(await socket.recv())
    assert (
        "".join(e["data"]["text"] for e in events if e["event"] == "message.delta")
        == "over the socket"
    )
    assert all(e["run_id"] == started["run_id"] for e in events)
    assert replay == events[2:]
    assert (
        refused["type"] == "error"
        and refused["ref"] == "c"
        and refused["error"]["type"] == "conflict"
    )
    assert garbage["type"] == "error" and garbage["error"]["type"] == "invalid_input"


async def test_the_websocket_refuses_a_bad_token(api: Api, live_url: str) -> None:
    async with websockets.connect(live_url.replace("http", "ws") + "/api/v1/ws") as socket:
        await socket.send(json.dumps({"type": "auth", "token": "forged"}))
        reply = json.loads(await socket.recv())
        assert reply["error"]["type"] == "unauthorized"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
