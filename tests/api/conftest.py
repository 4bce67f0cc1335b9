"""An app on a migrated database, the fake OpenAI server as its model, and clients."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from httpx_sse import aconnect_sse
from pydantic import SecretStr

from orchestrator.auth import SCOPES
from orchestrator.main import create_app
from orchestrator.runtime.services import Services
from orchestrator.settings import (
    AgentSettings,
    AuthSettings,
    DatabaseSettings,
    LocalModelSettings,
    OpenAISettings,
    Settings,
)
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.tools import FakeTools
from tests.fixtures.accounts import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.fixtures.serving import ThreadServer, serve


def make_settings(
    database_url: str, data_dir: Path, openai_url: str | None, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "agent": AgentSettings(system_prompt="You are a test assistant.", approval_timeout=30),
        "local_model": LocalModelSettings(enabled=False),
        **overrides,
    }
    return Settings(
        data_dir=data_dir,
        database=DatabaseSettings(url=database_url),
        openai=OpenAISettings(
            api_key=SecretStr("sk-test") if openai_url else None,
            base_url=openai_url,
            max_retries=2,
            timeout=30,
        ),
        auth=AuthSettings(
            jwt_secret_key=SecretStr("test-secret-" + "x" * 40),
            ASSISTANT_ADMIN_EMAIL=ADMIN_EMAIL,
            ASSISTANT_ADMIN_PASSWORD=SecretStr(ADMIN_PASSWORD),
        ),
        **values,  # type: ignore[arg-type]
    )


@dataclass
class Api:
    """A client for the app, logged in as a fresh user."""

    client: httpx.AsyncClient
    app: FastAPI
    headers: dict[str, str]
    user_id: str
    email: str

    @property
    def services(self) -> Services:
        return self.app.state.services

    async def as_new_user(self) -> Api:
        email = f"{uuid.uuid4().hex[:10]}@test.example"
        user = await self.services.auth.create_user(email, "password-123", is_admin=False)
        response = await self.client.post(
            "/api/v1/auth/token", json={"email": email, "password": "password-123"}
        )
        token = response.json()["access_token"]
        return Api(self.client, self.app, {"authorization": f"Bearer {token}"}, user.id, email)

    async def conversation(self) -> str:
        response = await self.client.post("/api/v1/conversations", json={}, headers=self.headers)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def new_conversation(self) -> Conversation:
        """A new conversation of this user's, and the requests tests make of it."""
        return Conversation(self, await self.conversation())

    async def run_events(
        self,
        run_id: str,
        *,
        after: int | None = None,
        stop_after: Callable[[list[Event]], bool] | None = None,
    ) -> list[Event]:
        """A run's events after the one numbered `after` (as Last-Event-ID), to the end or
        until `stop_after` says enough."""
        resume = {} if after is None else {"last-event-id": str(after)}
        _, events = await collect(
            self.client,
            "GET",
            f"/api/v1/runs/{run_id}/events",
            headers=self.headers | resume,
            stop_after=stop_after,
        )
        return events


SSE = {"accept": "text/event-stream"}


@dataclass
class Conversation:
    """A new conversation of the `api` user's, and the requests tests make of it."""

    api: Api
    id: str

    @property
    def url(self) -> str:
        return f"/api/v1/conversations/{self.id}"

    async def send(self, content: str, **body: Any) -> httpx.Response:
        """The bare answer to a new message (without `accept: text/event-stream`)."""
        return await self.api.client.post(
            f"{self.url}/messages", json={"content": content, **body}, headers=self.api.headers
        )

    async def start(self, content: str) -> str:
        """Send a message without waiting for the answer: its run's id."""
        response = await self.send(content)
        assert response.status_code == 202, response.text
        return response.json()["run_id"]

    async def stream(
        self,
        content: str | None,
        *,
        stop_after: Callable[[list[Event]], bool] | None = None,
        **body: Any,
    ) -> list[Event]:
        """Send a message (`None`: one of attached files alone) and read its run's events as
        they stream."""
        return await self.stream_from(
            "/messages", ({} if content is None else {"content": content}) | body, stop_after
        )

    async def stream_from(
        self,
        tail: str,
        body: Any = None,
        stop_after: Callable[[list[Event]], bool] | None = None,
    ) -> list[Event]:
        """POST `body` to the conversation's URL + `tail` (a message, an edit, a regeneration)
        and read the run's events as they stream."""
        status, events = await collect(
            self.api.client,
            "POST",
            f"{self.url}{tail}",
            headers=self.api.headers | SSE,
            json=body,
            stop_after=stop_after,
        )
        assert status == 200, status
        return events

    async def messages(self) -> list[dict[str, Any]]:
        """The conversation's stored messages, oldest first."""
        response = await self.api.client.get(self.url, headers=self.api.headers)
        assert response.status_code == 200, response.text
        return response.json()["messages"]


@asynccontextmanager
async def in_process(
    settings: Settings, *, base_url: str = "http://test", **options: Any
) -> AsyncIterator[Api]:
    """`async with in_process(settings) as api:` an app of its own (`create_app(settings,
    **options)`), started, with a client that calls it in process, without a socket.

    `api` has no user yet: `await api.as_new_user()` for one."""
    app = create_app(settings, **options)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield Api(client, app, {}, "", "")


async def _admin_key(app: FastAPI) -> str:
    """An API key of the first admin's, made in the server's own event loop."""
    services: Services = app.state.services
    user = await services.auth.users.by_email(ADMIN_EMAIL)
    assert user is not None
    _, key = await services.auth.create_api_key(user.id, "pty test", scopes=list(SCOPES))
    return key


@contextmanager
def orchestrator_thread(app: FastAPI, *, timeout: float = 60) -> Iterator[ThreadServer]:
    """`with orchestrator_thread(app) as server:` the app served from a thread of its own, for
    synchronous callers (a terminal, a browser); `server.started_with` is an API key of the
    first admin's."""
    with ThreadServer(
        app, lifespan="on", log_level="warning", on_start=partial(_admin_key, app), timeout=timeout
    ) as server:
        assert server.started_with, "the orchestrator made no API key"
        yield server


@pytest.fixture
def tools() -> FakeTools:
    return FakeTools()


@pytest.fixture
async def app(
    database_url: str, data_dir: Path, fake_openai: FakeOpenAI, tools: FakeTools
) -> AsyncIterator[FastAPI]:
    settings = make_settings(database_url, data_dir, fake_openai.url)  # type: ignore[attr-defined]
    application = create_app(settings, tools=tools if tools.specs else None)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def live_url(app: FastAPI) -> AsyncIterator[str]:
    """The app served by uvicorn on a free port, in the test's own event loop."""
    async with serve(app) as url:
        yield url


@pytest.fixture
async def api(app: FastAPI, live_url: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=live_url, timeout=30) as client:
        base = Api(client, app, {}, "", "")
        yield await base.as_new_user()


@pytest.fixture
async def conversation(api: Api) -> Conversation:
    """A new conversation of the `api` user's."""
    return await api.new_conversation()


@dataclass
class Event:
    id: int
    name: str
    data: dict[str, Any]


async def collect(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    json: Any = None,
    stop_after: Callable[[list[Event]], bool] | None = None,
) -> tuple[int, list[Event]]:
    """The SSE events of a response, until it ends (or `stop_after` says enough)."""
    events: list[Event] = []
    # aconnect_sse adds its headers to the dict it is given: give it a copy.
    async with aconnect_sse(client, method, url, headers=dict(headers), json=json) as source:
        status = source.response.status_code
        if status != 200:
            await source.response.aread()
            return status, events
        async for sse in source.aiter_sse():
            if not sse.data:  # a keep-alive ping
                continue
            events.append(Event(int(sse.id), sse.event, sse.json()))
            if stop_after is not None and stop_after(events):
                break
    return status, events


def names(events: list[Event]) -> list[str]:
    return [event.name for event in events]
