"""Config injection: `${ENV}`, Jinja, shell, %-format and str.format syntax in every field
a user supplies is stored, returned and passed on literally, never expanded or evaluated.

The orchestrator's environment holds a canary (and a `JWT_SECRET_KEY` of its own) while
the attacks run. User B puts each template into conversation titles, messages, key
names, MCP server names, URLs, headers and prompt arguments, resource URIs, knowledge
collections and documents, answers to tool servers, tool-call ids and OpenAI-compatible
messages; an admin puts them into a stdio server's arguments and environment. Every
field must read back exactly as written (or be refused with a 4xx); no response, nothing
the model is sent and nothing B's MCP server receives (a listener records its requests)
may contain the canary, the JWT secret or the MCP service secret; nor does B's server
ever get B's own token or API key.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import anyio
import httpx
import pytest
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.api.conftest import collect
from tests.fakes.mcp_server import build
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fixtures.waiting import until
from tests.mcp_servers.conftest import ThreadServer
from tests.security.conftest import Count, Tally, World

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

CANARY = f"canary-{uuid.uuid4().hex}"
JWT_CANARY = f"jwt-canary-{uuid.uuid4().hex}"

TEMPLATES = [
    "${ASSISTANT_CANARY}",
    "$ASSISTANT_CANARY",
    "${JWT_SECRET_KEY}",
    "${env:ASSISTANT_CANARY}",
    "{{ASSISTANT_CANARY}}",
    "{{ config }}",
    "{{7*7}}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{% for k in range(3) %}x{% endfor %}",
    "${{7*7}}",
    "#{7*7}",
    "$(printenv ASSISTANT_CANARY)",
    "`printenv ASSISTANT_CANARY`",
    "%(ASSISTANT_CANARY)s",
    "{ASSISTANT_CANARY}",
    "{0.__class__}",
    "%ASSISTANT_CANARY%",
]
"""Each one would show the canary, 49 or an object's repr if something evaluated it."""

ALL = " ".join(TEMPLATES)


@dataclass
class Listener:
    """ASGI middleware keeping every request's path, query, headers and body bytes."""

    app: ASGIApp
    seen: list[bytes] = field(default_factory=list[bytes])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = [scope.get("raw_path", b""), b"?", scope.get("query_string", b"")]
        head += [name + b": " + value for name, value in scope["headers"]]
        self.seen.append(b"\n".join(head))

        async def recording() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.seen.append(message.get("body", b""))
            return message

        await self.app(scope, recording, send)

    def text(self) -> str:
        return b"\n".join(self.seen).decode(errors="replace")


@pytest.fixture
def canary(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ASSISTANT_CANARY", CANARY)
    monkeypatch.setenv("JWT_SECRET_KEY", JWT_CANARY)
    yield


@pytest.fixture(scope="module")
def listener() -> Iterator[tuple[str, Listener]]:
    """B's own MCP server (the fake one) behind a recording listener."""
    app = build(name="probe").streamable_http_app(
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False)
    )
    recorder = Listener(app)
    with ThreadServer(recorder) as running:
        yield f"{running.url}/mcp", recorder


class Probe:
    """B's calls: every response is kept, each field's round trip is judged."""

    def __init__(self, world: World, count: Count) -> None:
        self.world = world
        self.count = count
        self.responses: list[str] = []

    async def call(
        self, method: str, path: str, *, upstream: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """`upstream`: a 502 (the tool server answered with an error) is a fair answer."""
        kwargs.setdefault("headers", self.world.b.headers)
        response = await self.world.client.request(method, path, **kwargs)
        self.responses.append(f"{method} {path} -> {response.status_code} {response.text}")
        fair = response.status_code < 500 or (upstream and response.status_code == 502)
        assert fair, (method, path, response.text)
        return response

    def judge(self, label: str, value: str, response: httpx.Response, got: Any) -> None:
        """`got` (what came back for the field) must be `value`, unless refused with 4xx."""
        if 400 <= response.status_code < 500 and response.json()["error"]["type"]:
            self.count.attempts += 1
            self.count.refusals += 1
            return
        self.check(label, value, got)

    def check(self, label: str, value: str, got: Any) -> None:
        self.count.attempts += 1
        if got != value:
            self.count.findings.append(f"{label}: sent {value!r}, got {got!r}")

    def leaks(self, where: str, text: str, *also: tuple[str, str]) -> None:
        settings = self.world.services.settings
        secrets = [
            ("canary", CANARY),
            ("JWT canary", JWT_CANARY),
            ("JWT secret", settings.jwt_secret()),
            ("MCP service secret", settings.mcp_service_token()),
            *also,
        ]
        for name, value in secrets:
            if value in text:
                self.count.findings.append(f"{where} contains the {name}")


async def _ready(probe: Probe, name: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {}

    async def ready() -> bool:
        nonlocal view
        response = await probe.call(
            "GET", f"/api/v1/mcp/servers/{name}", headers=headers or probe.world.b.headers
        )
        view = response.json()
        assert view["health"]["state"] not in ("circuit_open", "stopped"), view
        return view["health"]["state"] == "ready"

    await until(ready, within=20, every=0.05)  # the hub offers no event to wait on over HTTP
    return view


async def _run(
    probe: Probe, conversation: str, content: str, headers: dict[str, str] | None = None
) -> str:
    """Post `content`, approve any tool call, and wait for the run to complete."""
    world = probe.world
    headers = headers or world.b.headers
    started = await probe.call(
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": content},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    path = f"/api/v1/runs/{run_id}/events"
    ended = {"run.completed", "run.failed", "run.cancelled", "tool.approval_required"}
    while True:
        with anyio.fail_after(30):
            _, events = await collect(
                world.client,
                "GET",
                path,
                headers=headers,
                stop_after=lambda events: events[-1].name in ended,
            )
        probe.responses.append(json.dumps([(e.name, e.data) for e in events], default=str))
        if events[-1].name != "tool.approval_required":
            assert events[-1].name == "run.completed", events[-1]
            return run_id
        approved = await probe.call(
            "POST", f"/api/v1/tool-calls/{events[-1].data['id']}/approve", headers=headers
        )
        assert approved.status_code == 200, approved.text
        ended.discard("tool.approval_required")


async def test_templates_in_every_field_b_supplies_come_back_literally(
    world: World, tally: Tally, canary: None, openai_fake: FakeOpenAI
) -> None:
    probe = Probe(world, tally.attack("config injection (API fields)"))
    b_conversation = (await probe.call("POST", "/api/v1/conversations", json={})).json()["id"]
    for value in TEMPLATES:
        created = await probe.call("POST", "/api/v1/conversations", json={"title": value})
        probe.judge("conversation title", value, created, created.json().get("title"))
        conversation = created.json()["id"]
        renamed = await probe.call(
            "PATCH", f"/api/v1/conversations/{conversation}", json={"title": value + "!"}
        )
        probe.judge("renamed title", value + "!", renamed, renamed.json().get("title"))
        read = await probe.call("GET", f"/api/v1/conversations/{conversation}")
        probe.judge("title read back", value + "!", read, read.json()["title"])
        export = await probe.call(
            "GET", f"/api/v1/conversations/{conversation}/export", params={"format": "markdown"}
        )
        probe.judge("exported title", f"# {value}!", export, export.text.splitlines()[0])
        found = await probe.call("GET", "/api/v1/conversations", params={"q": value})
        titles = [item["title"] for item in found.json()["items"]]
        probe.judge("searched title", value + "!", found, titles[0] if titles else None)
        key = await probe.call("POST", "/api/v1/keys", json={"name": value})
        probe.judge("key name", value, key, key.json().get("name"))
        server = await probe.call(
            "POST", "/api/v1/mcp/servers", json={"name": value, "url": "http://127.0.0.1:9/mcp"}
        )
        probe.judge("MCP server name", value, server, server.json().get("name"))
        collection = await probe.call(
            "POST", "/api/v1/knowledge/collections", json={"name": value, "description": value}
        )
        probe.judge("collection name", value, collection, collection.json().get("name"))
        decision = await probe.call("POST", f"/api/v1/tool-calls/{quote(value, safe='')}/approve")
        probe.judge("tool-call id", value, decision, None)
        login = await probe.call(
            "POST",
            "/api/v1/auth/token",
            json={"email": f"{value}@attack.example", "password": value},
            headers={},
        )
        probe.judge("login email", value, login, None)
    # Messages and what the model gets, knowledge documents, collection descriptions,
    # the OpenAI-compatible endpoint: one of each with every template at once.
    openai_fake.requests.clear()
    run_id = await _run(probe, b_conversation, ALL)
    detail = (await probe.call("GET", f"/api/v1/conversations/{b_conversation}")).json()
    texts = [part["text"] for m in detail["messages"] for part in m["content"] if "text" in part]
    probe.check("message content", ALL, texts[0])
    probe.check("the model's answer", f"You said: {ALL}", texts[-1])
    sent = [m for m in openai_fake.last_request["messages"] if m["role"] == "user"][-1]
    probe.check("what the model was sent", ALL, sent["content"])
    for value in TEMPLATES:
        answer = await probe.call(
            "POST",
            f"/api/v1/runs/{run_id}/input",
            json={"id": value, "action": "accept", "content": {"note": value}},
        )
        probe.judge("answer to a question", value, answer, None)
    collection = f"b-notes-{uuid.uuid4().hex[:6]}"
    created = await probe.call(
        "POST", "/api/v1/knowledge/collections", json={"name": collection, "description": ALL}
    )
    probe.judge("collection description", ALL, created, created.json().get("description"))
    uploaded = await probe.call(
        "POST",
        "/api/v1/knowledge/documents",
        files={"file": (f"{TEMPLATES[0]}.md", f"# {ALL}\n\n{ALL}".encode(), "text/markdown")},
        data={"collection": collection, "title": ALL[:500]},
    )
    probe.judge("document title", ALL[:500], uploaded, uploaded.json().get("title"))
    listed = await probe.call(
        "GET", "/api/v1/knowledge/documents", params={"collection": collection}
    )
    probe.judge("document title listed", ALL[:500], listed, listed.json()[0]["title"])
    completion = await probe.call(
        "POST",
        "/v1/chat/completions",
        json={"model": "assistant", "messages": [{"role": "user", "content": ALL}]},
    )
    answer = completion.json()["choices"][0]["message"]["content"]
    probe.judge("OpenAI-compatible answer", f"You said: {ALL}", completion, answer)
    probe.leaks("what the model was sent", json.dumps(openai_fake.requests))
    for response in probe.responses:
        probe.leaks(response[:80], response)
    assert probe.count.findings == []
    assert probe.count.refusals < probe.count.attempts


async def test_b_s_mcp_server_receives_every_template_literally_and_no_canary(
    world: World,
    tally: Tally,
    canary: None,
    openai_fake: FakeOpenAI,
    listener: tuple[str, Listener],
) -> None:
    probe = Probe(world, tally.attack("config injection (MCP)"))
    url, recorder = listener
    name = f"probe{uuid.uuid4().hex[:6]}"
    query = "&".join(f"t{i}={quote(value, safe='')}" for i, value in enumerate(TEMPLATES))
    headers = {f"X-Probe-{i}": value for i, value in enumerate(TEMPLATES)}
    created = await probe.call(
        "POST",
        "/api/v1/mcp/servers",
        json={"name": name, "url": f"{url}?{query}", "headers": headers},
    )
    assert created.status_code == 201, created.text
    view = await _ready(probe, name)
    probe.check("server URL as shown", f"{url}?{query}", view["config"]["url"])
    seen = recorder.text()
    for i, value in enumerate(TEMPLATES):
        probe.check("URL query the server got", f"t{i}={value}", _find(unquote(seen), f"t{i}="))
        probe.check("header the server got", value, _header(seen, f"x-probe-{i}"))
    for value in TEMPLATES:
        prompt = await probe.call(
            "POST",
            "/api/v1/mcp/prompts/get",
            json={
                "server": name,
                "name": "review",
                "arguments": {"code": value, "language": value},
            },
        )
        text = prompt.json()["messages"][0]["content"][0]["text"] if prompt.is_success else None
        probe.judge("prompt argument", f"Please review this {value} code:\n{value}", prompt, text)
        uri = f"notes://{value}"
        resource = await probe.call(
            "GET",
            "/api/v1/mcp/resources/read",
            params={"server": name, "uri": uri},
            upstream=True,
        )
        if resource.status_code == 502:
            # The server has no such resource, and says so about the URI it was sent.
            message = resource.json()["error"]["message"]
            probe.check("resource URI", uri, uri if message.endswith(f": {uri}") else message)
        else:
            probe.judge("resource URI", uri, resource, resource.json().get("uri"))
    # A tool call with every template in its arguments, approved by B.
    conversation = (await probe.call("POST", "/api/v1/conversations", json={})).json()["id"]
    openai_fake.script(
        Reply(tool_calls=[FakeToolCall(f"{name}__delete", json.dumps({"path": ALL}))]),
        Reply(text="done"),
    )
    await _run(probe, conversation, "Delete it.")
    detail = (await probe.call("GET", f"/api/v1/conversations/{conversation}")).json()
    [tool] = [m for m in detail["messages"] if m["role"] == "tool"]
    probe.check("tool result", f"deleted {ALL}", tool["content"][0]["text"])
    arrived = json.dumps(ALL) in recorder.text()
    probe.check("tool arguments the server got", "as sent", "as sent" if arrived else "changed")
    # An admin's stdio server: arguments and environment reach the process as written.
    stdio = f"launch{uuid.uuid4().hex[:6]}"
    env = {f"PROBE_{i}": value for i, value in enumerate(TEMPLATES)}
    created = await probe.call(
        "POST",
        "/api/v1/mcp/servers",
        json={
            "name": stdio,
            "command": sys.executable,
            "args": ["-m", "tests.mcp.hostile_server", *TEMPLATES],
            "env": env,
            "cwd": os.getcwd(),
        },
        headers=world.admin.headers,
    )
    assert created.status_code == 201, created.text
    await _ready(probe, stdio, world.admin.headers)
    openai_fake.script(
        Reply(tool_calls=[FakeToolCall(f"{stdio}__launched", "{}")]), Reply(text="ok")
    )
    conversation = (
        await probe.call("POST", "/api/v1/conversations", json={}, headers=world.admin.headers)
    ).json()["id"]
    await _run(probe, conversation, "How were you launched?", world.admin.headers)
    detail = (
        await probe.call(
            "GET", f"/api/v1/conversations/{conversation}", headers=world.admin.headers
        )
    ).json()
    [tool] = [m for m in detail["messages"] if m["role"] == "tool"]
    launched = json.loads(tool["content"][0]["text"])
    probe.check("stdio arguments", json.dumps(TEMPLATES), json.dumps(launched["argv"]))
    probe.check("stdio environment", json.dumps(env, sort_keys=True), json.dumps(launched["env"]))
    await probe.call("DELETE", f"/api/v1/mcp/servers/{stdio}", headers=world.admin.headers)
    b = world.b
    credentials = (("B's access token", b.token), ("B's API key", b.api_key))
    probe.leaks("what B's MCP server received", recorder.text(), *credentials)
    probe.leaks("what the model was sent", json.dumps(openai_fake.requests))
    for response in probe.responses:
        probe.leaks(response[:80], response)
    assert probe.count.findings == []


def _find(text: str, start: str) -> str | None:
    """The first `start...` up to the next `&` or line end in `text`."""
    at = text.find(start)
    if at < 0:
        return None
    end = len(text)
    for stop in ("&", "\n"):
        found = text.find(stop, at + len(start))
        if found >= 0:
            end = min(end, found)
    return text[at:end]


def _header(text: str, name: str) -> str | None:
    for line in text.splitlines():
        if line.lower().startswith(f"{name}: "):
            return line.split(": ", 1)[1]
    return None
