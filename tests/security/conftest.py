"""The attack suite's world: a running orchestrator, users A and B, and A's objects.

User A owns one of every kind of object the API serves: conversations with messages, a
finished run, a run waiting for a tool-call approval, a run waiting for an answer to a tool
server's question, an API key, a personal HTTP MCP server (a real one, on a port of its
own), and a knowledge collection with a document. User B is an ordinary user who attacks
them. Every attack file counts its attempts, refusals and findings in the session's
`Tally`; one table of them is printed at the end of the run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from orchestrator.main import create_app
from orchestrator.runtime.services import Services
from orchestrator.settings import (
    AgentSettings,
    AuthSettings,
    DatabaseSettings,
    LocalModelSettings,
    MCPSettings,
    OpenAISettings,
    Settings,
)
from orchestrator.store import upgrade
from tests.api.conftest import collect
from tests.conftest import PostgresServer
from tests.fakes.mcp_server import build
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fixtures.serving import serve

PASSWORD = "correct horse battery staple"


# --- counting -------------------------------------------------------------------------


@dataclass
class Count:
    attempts: int = 0
    refusals: int = 0
    findings: list[str] = field(default_factory=list[str])
    note: str = ""


@dataclass
class Tally:
    """Attempts, refusals and findings per attack, for the summary table."""

    attacks: dict[str, Count] = field(default_factory=dict[str, Count])

    def attack(self, name: str) -> Count:
        return self.attacks.setdefault(name, Count())


_TALLY = pytest.StashKey[Tally]()


def session_tally(config: pytest.Config) -> Tally:
    """The session's tally, for attack tests outside this folder (SSRF in tests/mcp)."""
    return config.stash.setdefault(_TALLY, Tally())


@pytest.fixture(scope="session")
def tally(request: pytest.FixtureRequest) -> Tally:
    return session_tally(request.config)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    tally = config.stash.get(_TALLY, None)
    if tally is None or not tally.attacks:
        return
    terminalreporter.section("attack suite")
    width = max(len(name) for name in tally.attacks)
    terminalreporter.write_line(
        f"{'attack':<{width}}  {'attempts':>8}  {'refusals':>8}  {'findings':>8}"
    )
    total = Count()
    for name, count in sorted(tally.attacks.items()):
        terminalreporter.write_line(
            f"{name:<{width}}  {count.attempts:>8}  {count.refusals:>8}  {len(count.findings):>8}"
        )
        total.attempts += count.attempts
        total.refusals += count.refusals
        total.findings += count.findings
    terminalreporter.write_line(
        f"{'total':<{width}}  {total.attempts:>8}  {total.refusals:>8}  {len(total.findings):>8}"
    )
    for name, count in sorted(tally.attacks.items()):
        if count.note:
            terminalreporter.write_line(f"{name}: {count.note}")
    for finding in total.findings[:50]:
        terminalreporter.write_line(f"  finding: {finding}")


# --- the world ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def security_database_url(embedded_server: PostgresServer) -> Iterator[str]:
    """One migrated database for the suite (the attacks do not depend on the server)."""
    with embedded_server.database(upgrade) as url:
        yield url


@dataclass
class Caller:
    email: str
    user_id: str
    token: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    @property
    def key_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"}


@dataclass
class World:
    """The app on a real port, its callers, and A's objects by kind."""

    url: str
    client: httpx.AsyncClient
    app: FastAPI
    a: Caller
    b: Caller
    admin: Caller
    objects: dict[str, list[str]]
    """A's objects by kind: `conversation`, `run`, `tool_call`, `question`, `api_key`,
    `mcp_server`, `mcp_tool`, `document`, `collection`, `message`, `user`, `file`, `group`.
    The second `mcp_server` is a shared one limited to A's `group`."""
    markers: set[str]
    """Strings only A's data contains (ids, titles, contents): never in a response to B."""
    runs: dict[str, str]
    """A's runs: `finished`, `approval` (waits for a decision), `question` (for an answer)."""

    @property
    def services(self) -> Services:
        return self.app.state.services

    def leaks(self, text: str) -> list[str]:
        return sorted(marker for marker in self.markers if marker in text)


async def _caller(services: Services, client: httpx.AsyncClient, *, admin: bool) -> Caller:
    email = f"{uuid.uuid4().hex[:10]}@attack.example"
    user = await services.auth.create_user(email, PASSWORD, is_admin=admin)
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    _, key = await services.auth.create_api_key(user.id, "attack")
    return Caller(email, user.id, response.json()["access_token"], key)


def settings_for(database_url: str, data_dir: Path, openai_url: str, config: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        database=DatabaseSettings(url=database_url),
        openai=OpenAISettings(
            api_key=SecretStr("sk-test"), base_url=openai_url, max_retries=0, timeout=30
        ),
        auth=AuthSettings(jwt_secret_key=SecretStr("attack-secret-" + "x" * 40)),
        # A's personal MCP server listens on loopback, which users may reach only when allowed.
        mcp=MCPSettings(config=config, allowed_internal_hosts="127.0.0.1"),
        agent=AgentSettings(system_prompt="You are a test assistant.", approval_timeout=600),
        local_model=LocalModelSettings(enabled=False),
    )


class _Builder:
    """A's objects, made through the API the way a user makes them."""

    def __init__(self, client: httpx.AsyncClient, a: Caller, fake: FakeOpenAI) -> None:
        self.client = client
        self.a = a
        self.fake = fake
        self.objects: dict[str, list[str]] = {}
        self.markers: set[str] = {a.user_id, a.email, a.api_key}
        self.runs: dict[str, str] = {}
        self.keep("user", a.user_id)

    def keep(self, kind: str, value: str, *, marker: bool = True) -> str:
        self.objects.setdefault(kind, []).append(value)
        if marker:
            self.markers.add(value)
        return value

    async def post(self, path: str, body: Any, status: int = 201) -> Any:
        response = await self.client.post(path, json=body, headers=self.a.headers)
        assert response.status_code == status, (path, response.text)
        return response.json() if response.content else None

    async def conversation(self) -> str:
        title = f"A-secret-title-{uuid.uuid4().hex[:8]}"
        self.markers.add(title)
        return self.keep(
            "conversation", (await self.post("/api/v1/conversations", {"title": title}))["id"]
        )

    async def run(self, conversation: str, stop: Callable[[Any], bool]) -> tuple[str, Any]:
        content = f"A-secret-message-{uuid.uuid4().hex[:8]}"
        self.markers.add(content)
        started = await self.post(
            f"/api/v1/conversations/{conversation}/messages", {"content": content}, 202
        )
        run_id = self.keep("run", started["run_id"])
        with anyio.fail_after(20):
            _, events = await collect(
                self.client,
                "GET",
                f"/api/v1/runs/{run_id}/events",
                headers=self.a.headers,
                stop_after=lambda events: stop(events[-1]),
            )
        return run_id, events[-1]

    async def build(self, demo: str, mcp_url: str) -> None:
        # A conversation with messages and a finished run.
        self.fake.script(Reply(text="A-secret-answer"))
        self.markers.add("A-secret-answer")
        conversation = await self.conversation()
        self.runs["finished"], _ = await self.run(conversation, lambda e: e.name == "run.completed")
        detail = (
            await self.client.get(f"/api/v1/conversations/{conversation}", headers=self.a.headers)
        ).json()
        for message in detail["messages"]:
            self.keep("message", message["id"])
        # A run waiting for A's approval of a tool call.
        remove = FakeToolCall(f"{demo}__remove", json.dumps({"path": "/tmp/a-secret"}))
        self.fake.script(Reply(tool_calls=[remove]))
        self.runs["approval"], approval = await self.run(
            await self.conversation(), lambda e: e.name == "tool.approval_required"
        )
        self.keep("tool_call", approval.data["id"])
        # A run whose tool server waits for A's answer to a question.
        self.fake.script(Reply(tool_calls=[remove]))
        run_id, approval = await self.run(
            await self.conversation(), lambda e: e.name == "tool.approval_required"
        )
        self.keep("tool_call", approval.data["id"])
        await self.post(f"/api/v1/tool-calls/{approval.data['id']}/approve", None, 200)
        with anyio.fail_after(20):
            _, events = await collect(
                self.client,
                "GET",
                f"/api/v1/runs/{run_id}/events",
                headers=self.a.headers,
                stop_after=lambda events: events[-1].name == "input.required",
            )
        self.runs["question"] = run_id
        self.keep("question", events[-1].data["id"])
        # An API key, a personal MCP server, a knowledge collection with a document.
        key = await self.post("/api/v1/keys", {"name": "A-secret-key"})
        self.keep("api_key", key["id"])
        self.markers |= {key["key"], key["prefix"]}
        server = f"asecret{uuid.uuid4().hex[:6]}"
        await self.post("/api/v1/mcp/servers", {"name": server, "url": mcp_url})
        self.keep("mcp_server", server)
        self.keep("mcp_tool", "add", marker=False)
        collection = f"a-secret-collection-{uuid.uuid4().hex[:6]}"
        await self.post("/api/v1/knowledge/collections", {"name": collection})
        self.keep("collection", collection, marker=False)
        response = await self.client.post(
            "/api/v1/knowledge/documents",
            files={
                "file": ("a-secret.md", b"# A secret\n\nA-secret-document-text", "text/markdown")
            },
            data={"collection": collection, "title": "A-secret-document"},
            headers=self.a.headers,
        )
        assert response.status_code == 201, response.text
        self.keep("document", response.json()["id"])
        self.markers.add("A-secret-document")
        # An attached file.
        response = await self.client.post(
            "/api/v1/files",
            files={"file": ("a-secret-file.txt", b"A-secret-file-text", "text/plain")},
            headers=self.a.headers,
        )
        assert response.status_code == 201, response.text
        self.keep("file", response.json()["id"])
        self.markers |= {"a-secret-file.txt", "A-secret-file-text"}

    async def limited_server(self, admin: Caller, mcp_url: str) -> None:
        """A shared server limited to a group of A's (B is in no group): A's too, in effect."""
        headers = admin.headers
        name = f"ateam{uuid.uuid4().hex[:6]}"
        response = await self.client.post(
            "/api/v1/mcp/servers",
            json={"name": name, "url": mcp_url, "shared": True},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        group_name = f"A-secret-group-{uuid.uuid4().hex[:6]}"
        response = await self.client.post(
            "/api/v1/groups", json={"name": group_name}, headers=headers
        )
        assert response.status_code == 201, response.text
        group = response.json()["id"]
        for method, path, body in [
            ("POST", f"/api/v1/groups/{group}/members", {"user_id": self.a.user_id}),
            ("PUT", f"/api/v1/groups/{group}/servers/{name}", None),
            (
                "PUT",
                f"/api/v1/groups/{group}/policies",
                {"server": name, "tool": "delete", "policy": "deny"},
            ),
        ]:
            response = await self.client.request(method, path, json=body, headers=headers)
            assert response.status_code == 200, response.text
        self.keep("group", group)
        self.keep("mcp_server", name)
        self.markers.add(group_name)


@asynccontextmanager
async def open_world(
    database_url: str, data_dir: Path, fake: FakeOpenAI, **overrides: Any
) -> AsyncIterator[World]:
    """The app with A's objects in place; A's waiting runs are cancelled on the way out."""
    fake.reset()
    demo = f"demo{uuid.uuid4().hex[:6]}"
    config = data_dir / "mcp.json"
    await anyio.Path(config).write_text(
        json.dumps({"mcpServers": {demo: {"command": "in-process"}}})
    )
    settings = settings_for(database_url, data_dir, fake.url, config)  # type: ignore[attr-defined]
    for name, value in overrides.items():
        setattr(settings, name, value)
    app = create_app(settings, mcp_targets={demo: build()})
    personal = build(name="personal").streamable_http_app()
    # The personal server outlives the hub, which holds a stream open to it.
    async with (
        serve(personal, lifespan="on") as mcp_url,
        app.router.lifespan_context(app),
        serve(app) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        services: Services = app.state.services
        assert services.tools.hub is not None
        with anyio.fail_after(20):
            await services.tools.hub.settled()
        a = await _caller(services, client, admin=False)
        b = await _caller(services, client, admin=False)
        admin = await _caller(services, client, admin=True)
        builder = _Builder(client, a, fake)
        await builder.build(demo, f"{mcp_url}/mcp")
        await builder.limited_server(admin, f"{mcp_url}/mcp")
        with anyio.fail_after(20):
            await services.tools.hub.settled()
        world = World(url, client, app, a, b, admin, builder.objects, builder.markers, builder.runs)
        try:
            yield world
        finally:
            for run in ("approval", "question"):
                await client.post(f"/api/v1/runs/{world.runs[run]}/cancel", headers=a.headers)


@pytest.fixture(scope="module")
async def world(
    security_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    openai_fake: FakeOpenAI,
) -> AsyncIterator[World]:
    data_dir = tmp_path_factory.mktemp("world")
    async with open_world(security_database_url, data_dir, openai_fake) as world:
        yield world
