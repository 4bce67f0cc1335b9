"""Oversized and malformed input on every route: a clear 4xx in the error shape, never a 5xx.

10 MB bodies and over-limit chunked bodies go to a real uvicorn over a raw socket (the
client keeps sending while the server answers); the rest through HTTP on the same server.
Afterwards the process still answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest

from tests.security.conftest import PASSWORD, Count, Tally, World

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

MB = 1024 * 1024
SESSION_ENDING = "/api/v1/auth/logout"


def _operations(world: World, *methods: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path with B's or placeholder ids, operation) of the OpenAPI document."""
    ids = {
        "conversation_id": world.objects["b_conversation"][0],
        "run_id": world.objects["b_run"][0],
        "call_id": "call_x",
        "key_id": "00000000-0000-0000-0000-000000000000",
        "message_id": "00000000-0000-0000-0000-000000000000",
        "name": world.objects["b_server"][0],
        "tool": "add",
        "document_id": "doc",
        "user_id": world.b.user_id,
        "file_id": "00000000-0000-0000-0000-000000000000",
        "group_id": "00000000-0000-0000-0000-000000000000",
        "server": world.objects["b_server"][0],
    }
    for path, operations in world.app.openapi()["paths"].items():
        for method, operation in operations.items():
            if method.upper() not in methods:
                continue
            filled = path
            for key, value in ids.items():
                filled = filled.replace(f"{{{key}}}", value)
            assert "{" not in filled, f"no id for {path}"
            yield method.upper(), filled, operation


def _is_json(operation: dict[str, Any]) -> bool:
    body = operation.get("requestBody")
    return body is not None and "application/json" in body["content"]


def _check(
    count: Count,
    label: str,
    status: int,
    text: str,
    allowed: set[int] | None,
    *,
    shape: bool = True,
) -> None:
    count.attempts += 1
    problem = None
    if status >= 500:
        problem = "a server error"
    elif allowed is not None and status not in allowed:
        problem = f"not one of {sorted(allowed)}"
    elif status >= 400 and shape:
        try:
            error = json.loads(text)["error"]
            assert isinstance(error["type"], str) and isinstance(error["message"], str)
        except (ValueError, KeyError, TypeError, AssertionError):
            problem = "not the error shape"
    if problem is None:
        count.refusals += status >= 400
        return
    count.findings.append(f"{label} -> {status} {problem}: {text[:200]}")


async def _raw(url: str, head: str, chunks: Iterator[bytes]) -> tuple[int, str]:
    """Send a request head and body chunks on a socket; the response, even if sent early."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)

    async def send() -> None:
        writer.write(head.encode("latin-1"))
        with contextlib.suppress(ConnectionError):
            for chunk in chunks:
                writer.write(chunk)
                await writer.drain()

    sending = asyncio.create_task(send())
    try:
        with anyio.fail_after(30):
            status_line = await reader.readline()
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sending
        writer.close()
    return int(status_line.split()[1]), body.decode(errors="replace")


def _head(method: str, path: str, headers: dict[str, str]) -> str:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return "\r\n".join(lines) + "\r\n\r\n"


def _limit(world: World, path: str) -> int:
    if path.endswith("/knowledge/documents"):
        return 25 * MB
    if path.endswith("/api/v1/files"):
        return world.services.settings.files.files_max_bytes
    return world.services.settings.max_request_bytes


@pytest.fixture(scope="module")
async def b_objects(world: World) -> World:
    client, b = world.client, world.b
    conversation = await client.post("/api/v1/conversations", json={}, headers=b.headers)
    world.objects["b_conversation"] = [conversation.json()["id"]]
    run = await client.post(
        f"/api/v1/conversations/{conversation.json()['id']}/messages",
        json={"content": "hello"},
        headers=b.headers,
    )
    world.objects["b_run"] = [run.json()["run_id"]]
    server = await client.post(
        "/api/v1/mcp/servers",
        json={"name": "bserver", "url": "http://127.0.0.1:9/mcp"},
        headers=b.headers,
    )
    assert server.status_code == 201, server.text
    world.objects["b_server"] = ["bserver"]
    return world


async def test_a_10_mb_body_gets_413_in_the_error_shape_on_every_post_route(
    b_objects: World, tally: Tally
) -> None:
    world = b_objects
    count = tally.attack("10 MB bodies")
    for method, path, operation in _operations(world, "POST", "PUT", "PATCH"):
        size = max(10 * MB, _limit(world, path) + MB)
        content_type = (
            "multipart/form-data; boundary=x"
            if not _is_json(operation) and operation.get("requestBody")
            else "application/json"
        )
        head = _head(
            method,
            path,
            world.b.headers | {"content-type": content_type, "content-length": str(size)},
        )
        status, text = await _raw(world.url, head, iter([b"[" * 65536] * (size // 65536)))
        _check(count, f"{method} {path} ({size} bytes)", status, text, {413})
    assert count.findings == []


async def test_a_chunked_body_over_the_limit_gets_413_not_400(
    b_objects: World, tally: Tally
) -> None:
    world = b_objects
    count = tally.attack("chunked bodies over the limit")
    for method, path, operation in _operations(world, "POST", "PUT", "PATCH"):
        if not _is_json(operation):
            continue
        limit = _limit(world, path)
        piece = b'"' + b"x" * 65534 + b'"'
        chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        chunks = [chunk] * (limit // len(piece) + 4) + [b"0\r\n\r\n"]
        head = _head(
            method,
            path,
            world.b.headers | {"content-type": "application/json", "transfer-encoding": "chunked"},
        )
        status, text = await _raw(world.url, head, iter(chunks))
        _check(count, f"{method} {path} (chunked, over {limit} bytes)", status, text, {413})
    assert count.findings == []


async def test_a_million_character_message_is_refused_clearly(
    b_objects: World, tally: Tally
) -> None:
    world = b_objects
    count = tally.attack("1M-character messages")
    client, headers = world.client, world.b.headers
    conversation = world.objects["b_conversation"][0]
    for content in ("x" * 1_000_000, "é" * 1_000_000):
        response = await client.post(
            f"/api/v1/conversations/{conversation}/messages",
            json={"content": content},
            headers=headers,
        )
        _check(
            count,
            f"message of {len(content)} {content[0]!r}",
            response.status_code,
            response.text,
            {413, 422},
        )
        response = await client.post(
            "/v1/chat/completions",
            json={"model": "assistant", "messages": [{"role": "user", "content": content}]},
            headers=headers,
        )
        _check(
            count,
            f"completion of {len(content)} {content[0]!r}",
            response.status_code,
            response.text,
            {413, 422},
        )
    assert count.findings == []


async def _log_in_again(world: World) -> None:
    response = await world.client.post(
        "/api/v1/auth/token", json={"email": world.b.email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    world.b.token = response.json()["access_token"]


def _deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


async def test_deep_invalid_and_foreign_bodies_get_a_clear_4xx_on_every_route(
    b_objects: World, tally: Tally, caplog: pytest.LogCaptureFixture
) -> None:
    world = b_objects
    count = tally.attack("malformed bodies")
    bodies: list[tuple[str, bytes, str]] = [
        ("10,000-deep JSON object", _deep(10_000), "application/json"),
        ("10,000-deep JSON array", b"[" * 10_000 + b"]" * 10_000, "application/json"),
        ("900-deep JSON", _deep(900), "application/json"),
        ("invalid UTF-8", b'{"content": "\xff\xfe", "title": "\xc3\x28"}', "application/json"),
        ("a lone surrogate key", b'{"\\ud800": 1, "content": "\\udfff"}', "application/json"),
        ("a NUL byte", b'{"content": "a\x00b"}', "application/json"),
        ("form-encoded", b"content=hi&title=x", "application/x-www-form-urlencoded"),
        ("plain text", b"hello", "text/plain"),
        ("XML", b"<content>hi</content>", "application/xml"),
        ("broken multipart", b"--x\r\nnonsense", "multipart/form-data; boundary=x"),
        ("JSON as multipart", b'{"content": "hi"}', "multipart/form-data"),
    ]
    caplog.set_level(logging.WARNING)
    # Logout takes no body, so the first body sent to it ends B's sessions: it goes last,
    # and B logs in again afterwards for the tests that follow.
    operations = sorted(
        _operations(world, "POST", "PUT", "PATCH"), key=lambda op: op[1] == SESSION_ENDING
    )
    for method, path, _ in operations:
        for label, body, content_type in bodies:
            response = await world.client.request(
                method, path, content=body, headers=world.b.headers | {"content-type": content_type}
            )
            if response.status_code < 300 and path.endswith(("/conversations", "/keys", "/cancel")):
                # Bodies these routes ignore or treat as optional.
                count.attempts += 1
                continue
            _check(count, f"{method} {path} {label}", response.status_code, response.text, None)
    await _log_in_again(world)
    recursion = [
        r.getMessage() for r in caplog.records if "RecursionError" in (r.exc_text or r.getMessage())
    ]
    assert recursion == []
    assert count.findings == []


NUL = "a\x00b"


async def test_nul_characters_in_any_string_are_refused_not_a_server_error(
    b_objects: World, tally: Tally
) -> None:
    world = b_objects
    count = tally.attack("NUL characters")
    client, headers = world.client, world.b.headers
    conversation = world.objects["b_conversation"][0]
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/conversations", {"json": {"title": NUL}}),
        ("PATCH", f"/api/v1/conversations/{conversation}", {"json": {"title": NUL}}),
        (
            "POST",
            f"/api/v1/conversations/{conversation}/messages",
            {"json": {"content": [{"type": "text", "text": NUL}]}},
        ),
        (
            "POST",
            f"/api/v1/conversations/{conversation}/messages",
            {"json": {"content": "hi", "model": NUL}},
        ),
        (
            "POST",
            f"/api/v1/conversations/{conversation}/messages",
            {"json": {"content": "hi", "tools": [NUL]}},
        ),
        ("POST", "/api/v1/keys", {"json": {"name": NUL}}),
        ("POST", "/api/v1/auth/token", {"json": {"email": f"{NUL}@x.example", "password": NUL}}),
        ("POST", "/api/v1/auth/refresh", {"json": {"refresh_token": NUL}}),
        ("POST", "/api/v1/mcp/servers", {"json": {"name": NUL, "url": "http://127.0.0.1:9/mcp"}}),
        ("POST", "/api/v1/mcp/prompts/get", {"json": {"server": NUL, "name": NUL}}),
        ("POST", "/api/v1/knowledge/collections", {"json": {"name": "n", "description": NUL}}),
        (
            "POST",
            "/api/v1/knowledge/documents",
            {"files": {"file": ("a.md", b"hi", "text/markdown")}, "data": {"title": NUL}},
        ),
        (
            "POST",
            "/v1/chat/completions",
            {"json": {"model": NUL, "messages": [{"role": "user", "content": NUL}]}},
        ),
        ("GET", "/api/v1/conversations", {"params": {"q": NUL}}),
        ("GET", "/api/v1/conversations", {"params": {"cursor": NUL}}),
        ("GET", "/api/v1/knowledge/documents", {"params": {"collection": NUL}}),
        ("GET", "/api/v1/mcp/resources", {"params": {"server": NUL}}),
        ("GET", "/api/v1/mcp/resources/read", {"params": {"server": "nope", "uri": NUL}}),
        ("GET", "/api/v1/mcp/servers/a%00b", {}),
        ("DELETE", "/api/v1/knowledge/documents/a%00b", {}),
        ("GET", "/api/v1/runs/a%00b", {}),
        ("POST", "/api/v1/tool-calls/a%00b/approve", {}),
    ]
    for method, path, kwargs in attempts:
        response = await client.request(method, path, headers=headers, **kwargs)
        _check(count, f"{method} {path} {kwargs}", response.status_code, response.text, None)
    # The conversation was not renamed to something else and still reads back.
    assert (
        await client.get(f"/api/v1/conversations/{conversation}", headers=headers)
    ).status_code == 200
    assert count.findings == []


async def test_huge_negative_and_garbage_query_values_get_a_clear_4xx(
    b_objects: World, tally: Tally
) -> None:
    world = b_objects
    count = tally.attack("query values")
    # As sent on the wire (percent-encoded where needed).
    values = ["-1", "0", "99999999999999999999999", "1e3", "garbage", "", "%ff%fe", "%C0%AF", "%00"]
    for _, path, operation in _operations(world, "GET"):
        for parameter in operation.get("parameters", ()):
            if parameter["in"] != "query":
                continue
            for value in values:
                url = f"{world.url}{path}?{parameter['name']}={value}"
                response = await world.client.get(url, headers=world.b.headers)
                if "text/event-stream" in response.headers.get("content-type", ""):
                    count.attempts += 1
                    continue
                _check(
                    count,
                    f"GET {path}?{parameter['name']}={value!r}",
                    response.status_code,
                    response.text,
                    None,
                )
        head = _head("GET", f"{path}?q=\xff\xfe&limit=\xff", world.b.headers)
        status, text = await _raw(world.url, head, iter(()))
        # uvicorn's parser refuses these bytes before the app sees them, in plain text.
        _check(
            count,
            f"GET {path} with raw invalid UTF-8 in the query",
            status,
            text,
            {400},
            shape=False,
        )
    assert count.findings == []
    assert (await world.client.get("/healthz")).status_code == 200
