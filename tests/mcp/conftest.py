"""Hubs for tests: in-process servers by default, real processes where a test says so."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from orchestrator.domain import ChatModel
from orchestrator.main import create_app
from orchestrator.mcp import HubOptions, MCPHub, MemoryHubStore, Vault
from orchestrator.mcp.breaker import CircuitBreaker
from orchestrator.runtime.services import Services
from orchestrator.settings import (
    AuthSettings,
    DatabaseSettings,
    MCPSettings,
    OpenAISettings,
    Settings,
)
from tests.fakes.openai_server import FakeOpenAI

OpenHub = Callable[..., AbstractAsyncContextManager[MCPHub]]

FAST_BREAKER = CircuitBreaker(
    threshold=3, base_delay=0.01, max_delay=0.05, open_interval=30.0, stable_after=5.0
)


@pytest.fixture
def open_hub(tmp_path: Path) -> OpenHub:
    """`async with open_hub({"name": entry, ...}, targets={...}) as hub:` a settled hub."""

    @asynccontextmanager
    async def factory(
        servers: dict[str, dict[str, Any]] | None = None,
        *,
        targets: dict[str, Any] | None = None,
        model: ChatModel | None = None,
        store: MemoryHubStore | None = None,
        service_secret: str | None = None,
        breaker: CircuitBreaker = FAST_BREAKER,
        discovery_url: str | None = None,
        settle: bool = True,
        **options: Any,
    ) -> AsyncIterator[MCPHub]:
        config = tmp_path / "mcp.json"
        config.write_text(json.dumps({"mcpServers": servers or {}}))
        hub = MCPHub(
            store or MemoryHubStore(),
            HubOptions(
                data_dir=tmp_path / "data",
                config_path=config,
                targets=targets or {},
                service_secret=service_secret,
                vault=Vault("test-key"),
                breaker=breaker,
                discovery_url=discovery_url,
                **options,
            ),
            model=model,
        )
        async with hub:
            if settle:
                with anyio.fail_after(20):
                    await hub.settled()
            yield hub

    return factory


@dataclass
class Api:
    """An app with the hub, and three callers: an admin and two users."""

    client: httpx.AsyncClient
    app: FastAPI
    services: Services
    admin: dict[str, str]
    alice: dict[str, str]
    bob: dict[str, str]
    alice_id: str
    config_path: Path

    @property
    def hub(self) -> MCPHub:
        assert self.services.tools.hub is not None
        return self.services.tools.hub


async def _key(services: Services, *, admin: bool) -> tuple[str, dict[str, str]]:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    user = await services.auth.create_user(email, "correct horse battery", is_admin=admin)
    _, secret = await services.auth.create_api_key(user.id, "test")
    return user.id, {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def open_api(
    database_url: str, data_dir: Path, tmp_path: Path, fake_openai: FakeOpenAI
) -> Callable[..., AbstractAsyncContextManager[Api]]:
    """`async with open_api({"name": entry}, targets={...}) as api:` a running app."""

    @asynccontextmanager
    async def factory(
        servers: dict[str, dict[str, Any]] | None = None,
        *,
        targets: dict[str, Any] | None = None,
        oauth_redirect_url: str | None = None,
        allowed_internal_hosts: str = "",
        **mcp_settings: Any,
    ) -> AsyncIterator[Api]:
        config = tmp_path / "mcp.json"
        config.write_text(json.dumps({"mcpServers": servers or {}}))
        settings = Settings(
            data_dir=data_dir,
            database=DatabaseSettings(url=database_url),
            openai=OpenAISettings(base_url=fake_openai.url, api_key="test", max_retries=0),  # type: ignore[attr-defined]
            auth=AuthSettings(jwt_secret_key="x" * 40),
            mcp=MCPSettings(
                config=config,
                oauth_redirect_url=oauth_redirect_url,
                allowed_internal_hosts=allowed_internal_hosts,
                **mcp_settings,
            ),
        )
        app = create_app(settings, mcp_targets=targets or {})
        async with app.router.lifespan_context(app):
            services: Services = app.state.services
            assert services.tools.hub is not None
            with anyio.fail_after(20):
                await services.tools.hub.settled()
            _, admin = await _key(services, admin=True)
            alice_id, alice = await _key(services, admin=False)
            _, bob = await _key(services, admin=False)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Api(client, app, services, admin, alice, bob, alice_id, config)

    return factory
