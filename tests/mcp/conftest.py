"""Hubs for tests: in-process servers by default, real processes where a test says so."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from orchestrator.domain import ChatModel, ElicitationAnswer, ToolCallContext
from orchestrator.mcp import CircuitBreaker, HubOptions, MCPHub, MemoryHubStore, Vault

OpenHub = Callable[..., AbstractAsyncContextManager[MCPHub]]

FAST_BREAKER = CircuitBreaker(
    threshold=3, base_delay=0.01, max_delay=0.05, open_interval=30.0, stable_after=5.0
)


def call_context(user_id: str = "user-1") -> ToolCallContext:
    """The context of a tool call by `user_id` that reports no progress and cancels every
    question its tool asks."""

    async def elicit(request: object) -> ElicitationAnswer:
        return ElicitationAnswer(action="cancel")

    return ToolCallContext(
        user_id=user_id,
        conversation_id="c",
        run_id="r",
        call_id="call",
        report_progress=lambda *_: None,
        elicit=elicit,  # type: ignore[arg-type]
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
                vault=Vault.local("test-key"),
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
