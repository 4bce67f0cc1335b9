"""Path tricks on every protected route: the same decision as the canonical path.

Each operation of the OpenAPI document is called at its canonical path (A's ids filled
in) and again through spellings that proxies, routers and decoders have disagreed on:
`/API/V1`, `%2e` and `%2E` segments, `..` and `.` segments, doubled slashes, a trailing
slash, encoded slashes, a fully percent-encoded path, an absolute-form request target,
backslashes, NUL bytes and double encoding. The requests go over a raw socket, so the
server gets the bytes as written (HTTP clients normalise `..` and `%2e` away).

Callers: no credential and user B on every protected operation (B with valid bodies, so
the object check is what answers), user A on the operations that only read. A trick
must never turn a refusal into an answer (2xx, or a redirect anywhere but the canonical
path), never answer 5xx, never show B anything of A's; a spelling that the server decodes
to the canonical path must get exactly the canonical status. The WebSocket's spellings
either refuse the handshake or answer as `/api/v1/ws` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import anyio
import pytest
import websockets

from tests.security.conftest import Count, Tally, World
from tests.security.test_idor_matrix import BODIES, PATH_KINDS, _schema_name

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

SKIPPED = {
    # Unauthenticated by design, or throttled per account (repeats would get 429).
    "/api/v1/auth/token",
    "/api/v1/auth/refresh",
    "/api/v1/auth/password",
    # Ends B's sessions.
    "/api/v1/auth/logout",
}


def _prefix_upper(path: str) -> str:
    head, _, rest = path.lstrip("/").partition("/")
    if head == "api":
        return "/API/V1/" + rest.partition("/")[2]
    return f"/{head.upper()}/{rest}"


def _segment_after_prefix(path: str, insert: str) -> str:
    prefix = "/api/v1/" if path.startswith("/api/v1/") else "/v1/"
    return prefix + insert + path[len(prefix) :]


def _encode_all(path: str) -> str:
    return "/".join("".join(f"%{byte:02X}" for byte in part.encode()) for part in path.split("/"))


def _last_slash_encoded(path: str, slash: str) -> str:
    head, _, tail = path.rpartition("/")
    return f"{head}{slash}{tail}"


@dataclass(frozen=True)
class Trick:
    name: str
    spell: Callable[[str], str]
    same: bool = False
    """The server decodes it to the canonical path: the status must be identical."""


TRICKS = [
    Trick("/API/V1", _prefix_upper),
    Trick("upper-case path", str.upper),
    Trick("%2e segment", lambda p: _segment_after_prefix(p, "%2e/")),
    Trick("%2E%2E segment", lambda p: _segment_after_prefix(p, "x/%2E%2E/")),
    Trick("%2e%2e to the root", lambda p: "/%2e%2e" + p),
    Trick(".. segment", lambda p: _segment_after_prefix(p, "x/../")),
    Trick(". segment", lambda p: _segment_after_prefix(p, "./")),
    Trick("// in front", lambda p: "/" + p),
    Trick("// inside", lambda p: _segment_after_prefix(p, "/")),
    Trick("trailing slash", lambda p: p + "/"),
    Trick("trailing /.", lambda p: p + "/."),
    Trick("%2f for the last slash", lambda p: _last_slash_encoded(p, "%2f"), same=True),
    Trick("%2F in the prefix", lambda p: p.replace("/v1/", "%2Fv1/", 1)),
    Trick("every byte percent-encoded", _encode_all, same=True),
    Trick("backslash", lambda p: p.replace("/v1/", "/v1\\", 1)),
    Trick("%5c backslash", lambda p: p.replace("/v1/", "/v1%5c", 1)),
    Trick("double-encoded ..", lambda p: _segment_after_prefix(p, "x/%252e%252e/")),
    Trick("NUL byte", lambda p: p + "%00"),
    Trick(";parameter", lambda p: p + ";x=1"),
    Trick("absolute-form target", lambda p: "http://127.0.0.1" + p, same=True),
]


@dataclass
class Answer:
    status: int
    location: str
    text: str


async def _send(url: str, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
    """One request with `target` written as is on the request line."""
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    with anyio.fail_after(20):
        stream = await anyio.connect_tcp(parts.hostname, parts.port)
        async with stream:
            await stream.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            data = b""
            while b"\r\n\r\n" not in data:
                data += await stream.receive()
            head, _, rest = data.partition(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            fields = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in header_lines)
            }
            if "text/event-stream" not in fields.get("content-type", ""):
                # Connection: close, so the body ends with the connection.
                with anyio.move_on_after(10):
                    try:
                        while True:
                            rest += await stream.receive()
                    except (anyio.EndOfStream, anyio.BrokenResourceError):
                        pass
    return Answer(
        int(status_line.split()[1]),
        fields.get("location", ""),
        rest.decode(errors="replace"),
    )


@dataclass
class Call:
    method: str
    path: str
    body: bytes
    who: str
    headers: dict[str, str]


def _calls(world: World) -> list[Call]:
    """Every operation at its canonical path, for each caller (nobody first)."""
    calls = []
    for template, operations in world.app.openapi()["paths"].items():
        if template in SKIPPED or template.endswith("/ws"):
            continue
        path = template
        for segment_parameter, kind in PATH_KINDS.items():
            parameter = segment_parameter.partition("/")[2]
            path = path.replace(parameter, quote(world.objects[kind][0], safe=""))
        assert "{" not in path, f"{template}: no object of A's for this parameter"
        for method, operation in operations.items():
            body = b""
            name = _schema_name(operation)
            if name in BODIES:
                payload = BODIES[name](world)[0]
                if payload.json is not None:
                    body = json.dumps(payload.json).encode()
            method = method.upper()
            calls.append(Call(method, path, body, "nobody", {}))
            if "{" in template or method == "GET":
                calls.append(Call(method, path, body, "B", world.b.headers))
            if method == "GET" and "/events" not in template:
                calls.append(Call(method, path, body, "A", world.a.headers))
    return calls


def _judge(world: World, call: Call, trick: Trick, canonical: Answer, answer: Answer) -> str | None:
    """What is wrong with `answer` to the trick, or None."""
    refused = canonical.status >= 400
    if answer.status >= 500:
        return "a server error"
    sent = unquote(call.path) + call.body.decode()
    leaked = [marker for marker in world.leaks(answer.text) if marker not in sent]
    if call.who != "A" and leaked:
        return f"shows A's {leaked}"
    if trick.same and answer.status != canonical.status:
        return f"decoded to the canonical path but answered {answer.status}, not {canonical.status}"
    if 300 <= answer.status < 400:
        if urlsplit(answer.location).path != call.path:
            return f"redirects to {answer.location!r}, not the canonical path"
        return None
    if refused and answer.status < 400:
        return f"the canonical path refuses ({canonical.status}), this answers"
    return None


async def test_path_tricks_get_the_decision_of_the_canonical_path(
    world: World, tally: Tally
) -> None:
    count: Count = tally.attack("path tricks")
    calls = _calls(world)
    protected = 0
    public: set[tuple[str, str]] = set()
    for call in calls:
        if (call.method, call.path) in public:
            continue
        canonical = await _send(world.url, call.method, call.path, call.headers, call.body)
        if call.who == "nobody":
            if canonical.status != 401:
                public.add((call.method, call.path))
                continue
            protected += 1
        assert canonical.status < 500, (call, canonical)
        for trick in TRICKS:
            target = trick.spell(call.path)
            answer = await _send(world.url, call.method, target, call.headers, call.body)
            count.attempts += 1
            problem = _judge(world, call, trick, canonical, answer)
            if problem is None:
                count.refusals += call.who != "A" and answer.status >= 400
                continue
            count.findings.append(
                f"{call.method} {target!r} ({trick.name}, {call.who}) -> {answer.status} "
                f"{problem}: {answer.text[:160]}"
            )
    # The spellings the server decodes to the canonical path really do reach it.
    me = "/api/v1/auth/me"
    for trick in (t for t in TRICKS if t.same):
        answer = await _send(world.url, "GET", trick.spell(me), world.a.headers, b"")
        assert answer.status == 200 and world.a.email in answer.text, (trick.name, answer)
        assert unquote(trick.spell(me)).endswith(me)
    count.note = f"{len(TRICKS)} spellings of {protected} protected operations, by nobody, B and A"
    assert protected >= 30
    assert count.findings == []


WS_TRICKS = [
    "/api/v1/ws",
    "/API/V1/ws",
    "//api/v1/ws",
    "/api/v1//ws",
    "/api/v1/ws/",
    "/api/v1/%77s",
    "/api/v1/./ws",
    "/api/v1/x/../ws",
    "/api/v1/%2e/ws",
    "/api/v1%2fws",
]


async def _ws_answer(url: str, headers: dict[str, str], command: dict[str, Any]) -> str:
    """What the socket at `url` answers to `command`: its error type, or how it refused."""
    try:
        async with websockets.connect(url, additional_headers=headers) as socket:
            with anyio.fail_after(10):
                if headers:
                    ready = json.loads(await socket.recv())
                    assert ready["type"] == "ready", ready
                await socket.send(json.dumps(command))
                answer = json.loads(await socket.recv())
    except websockets.InvalidStatus as refused:
        return f"handshake {refused.response.status_code}"
    return answer["error"]["type"] if answer.get("type") == "error" else json.dumps(answer)


async def test_path_tricks_on_the_websocket_open_nothing(world: World, tally: Tally) -> None:
    count: Count = tally.attack("path tricks (/ws)")
    base = world.url.replace("http://", "ws://")
    command = {"type": "subscribe", "run_id": world.runs["finished"], "after": 0, "ref": "x"}
    canonical = {"nobody": "unauthorized", "B": "not_found"}
    for path in WS_TRICKS:
        for who, headers in (("nobody", {}), ("B", world.b.headers)):
            answer = await _ws_answer(base + path, headers, command)
            count.attempts += 1
            if answer == canonical[who] or answer.startswith("handshake 4"):
                count.refusals += 1
                continue
            count.findings.append(f"/ws at {path!r} ({who}) -> {answer[:200]}")
    assert count.findings == []
