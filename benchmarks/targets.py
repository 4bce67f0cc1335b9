"""What a benchmark sends requests to: our server, LiteLLM's proxy, or the upstream directly.

Each `Target` turns "one more user message in this conversation, answered by model M" into
a request for `benchmarks.client`: our API keeps the conversation itself (the request names
it), the two OpenAI-compatible ones are sent the whole history each time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from benchmarks.client import Endpoint
from benchmarks.processes import (
    LITELLM_VENV,
    ROOT,
    Database,
    Process,
    assistant_command,
    assistant_env,
    free_port,
    generator_cpu,
    server_cpu,
    spawn,
    wait_healthy,
)
from orchestrator.domain import Message, Role, TextPart
from orchestrator.store import SqlConversationStore, create_engine
from orchestrator.store.schema import conversations

__all__ = [
    "Conversation",
    "LiteLLMProxy",
    "OurServer",
    "Target",
    "Upstream",
    "history_messages",
    "litellm_requirement",
]

USER_TEXT = "Hello"
MASTER_KEY = "sk-bench-master"


def history_messages(count: int) -> list[dict[str, str]]:
    """A short chat of `count` messages, alternating user and assistant (OpenAI shape)."""
    return [
        {
            "role": "user" if index % 2 == 0 else "assistant",
            "content": f"Message {index}: the weather in city {index % 50} is mild today.",
        }
        for index in range(count)
    ]


@dataclass
class Conversation:
    """One conversation: our server's id for it, and its history for the stateless targets."""

    id: str
    history: list[dict[str, str]] = field(default_factory=list)


class Target:
    """Builds the request for one message; `endpoint` says where it goes."""

    name: str
    endpoint: Endpoint
    process: Process | None = None

    def request(self, conversation: Conversation, model: str) -> tuple[str, dict[str, Any]]:
        messages = [*conversation.history, {"role": "user", "content": USER_TEXT}]
        return "/v1/chat/completions", {"model": model, "messages": messages, "stream": True}


class Direct(Target):
    """The upstream itself, with no relay: the floor."""

    def __init__(self, port: int) -> None:
        self.name = "direct"
        self.endpoint = Endpoint("direct", "127.0.0.1", port)


class Upstream:
    """The fake model server (`benchmarks.upstream`), on the load generator's CPU."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.process = spawn(
            "upstream",
            [sys.executable, "-m", "benchmarks.upstream", "--port", str(self.port)],
            env=dict(os.environ),
            cwd=ROOT,
            log_dir=log_dir,
            cpu=generator_cpu(),
            port=self.port,
        )
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.direct = Direct(self.port)

    async def ready(self) -> None:
        await wait_healthy(self.process, f"{self.url}/models", limit=30)


class OurServer(Target):
    """`assistant serve orchestrator` on a fresh database, with an API key as the bearer."""

    def __init__(self, upstream: Upstream, log_dir: Path, data_dir: Path) -> None:
        self.name = "ours"
        self.port = free_port()
        self.database = Database()
        self.log_dir = log_dir
        self.data_dir = data_dir
        self.upstream = upstream
        self.endpoint = Endpoint("ours", "127.0.0.1", self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_seconds = 0.0
        self.user_id = ""
        self._store: SqlConversationStore | None = None
        self._engine: Any = None

    async def start(self) -> None:
        database_url = await self.database.create()
        env = assistant_env(
            data_dir=self.data_dir,
            port=self.port,
            upstream_url=self.upstream.url,
            database_url=database_url,
            model="bench-c5-d0",
        )
        self.process = spawn(
            "ours",
            [*assistant_command(), "serve", "orchestrator"],
            env=env,
            cwd=self.data_dir,
            log_dir=self.log_dir,
            cpu=server_cpu(),
            port=self.port,
        )
        self.startup_seconds = await wait_healthy(self.process, f"{self.url}/healthz", limit=120)
        async with httpx.AsyncClient(base_url=f"{self.url}/api/v1", timeout=30) as client:
            token = await client.post(
                "/auth/token",
                json={
                    "email": env["ASSISTANT_ADMIN_EMAIL"],
                    "password": env["ASSISTANT_ADMIN_PASSWORD"],
                },
            )
            token.raise_for_status()
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            key = await client.post("/keys", json={"name": "bench"}, headers=headers)
            key.raise_for_status()
            secret = key.json()["key"]
            me = await client.get("/auth/me", headers={"Authorization": f"Bearer {secret}"})
            me.raise_for_status()
            self.user_id = me.json()["id"]
        self.endpoint = Endpoint(
            "ours", "127.0.0.1", self.port, {"Authorization": f"Bearer {secret}"}
        )
        self._engine = create_engine(database_url, pool_size=4)
        self._store = SqlConversationStore(self._engine)

    def request(self, conversation: Conversation, model: str) -> tuple[str, dict[str, Any]]:
        return (
            f"/api/v1/conversations/{conversation.id}/messages",
            {"content": USER_TEXT, "model": model},
        )

    async def conversations(self, count: int, history: int = 0) -> list[Conversation]:
        """`count` new conversations of this user, each with `history` messages stored."""
        assert self._store is not None and self._engine is not None
        ids = [str(uuid.uuid4()) for _ in range(count)]
        async with self._engine.begin() as conn:
            for start in range(0, count, 1000):
                await conn.execute(
                    insert(conversations),
                    [
                        {"id": cid, "user_id": self.user_id, "title": "bench"}
                        for cid in ids[start : start + 1000]
                    ],
                )
        chat = history_messages(history)
        if history:
            stored = [
                Message(
                    id=str(uuid.uuid4()),
                    role=Role(entry["role"]),
                    content=[TextPart(text=entry["content"])],
                    token_count=len(entry["content"]) // 4 + 4,
                )
                for entry in chat
            ]
            async with self._engine.begin() as conn:
                for cid in ids:
                    fresh = [m.model_copy(update={"id": str(uuid.uuid4())}) for m in stored]
                    await self._store.append(conn, cid, None, fresh)
        return [Conversation(cid, list(chat)) for cid in ids]

    async def stop(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        if self.process is not None:
            await asyncio.to_thread(self.process.stop)
        await self.database.drop()


def litellm_requirement() -> str:
    """The `bench` extra of pyproject.toml: the LiteLLM release the comparison runs."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["optional-dependencies"]["bench"][0]


class LiteLLMProxy(Target):
    """LiteLLM's proxy (`litellm --config`) in `.venv-litellm`, pointed at the upstream.

    It runs with a master key (its auth without a database) and no database, so it stores
    nothing: it does less per request than our server, which persists every run.
    """

    def __init__(
        self, upstream: Upstream, log_dir: Path, work_dir: Path, models: list[str]
    ) -> None:
        self.name = "litellm"
        self.port = free_port()
        self.upstream = upstream
        self.log_dir = log_dir
        self.work_dir = work_dir
        self.models = models
        self.endpoint = Endpoint(
            "litellm", "127.0.0.1", self.port, {"Authorization": f"Bearer {MASTER_KEY}"}
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_seconds = 0.0

    @staticmethod
    def available() -> bool:
        return (LITELLM_VENV / "bin" / "litellm").exists()

    async def start(self) -> None:
        config = {
            "model_list": [
                {
                    "model_name": model,
                    "litellm_params": {
                        "model": f"openai/{model}",
                        "api_base": self.upstream.url,
                        "api_key": "sk-bench",
                    },
                }
                for model in self.models
            ],
            "general_settings": {"master_key": MASTER_KEY},
            "litellm_settings": {"telemetry": False, "drop_params": True},
        }
        path = self.work_dir / "litellm.yaml"
        path.write_text(json.dumps(config))  # JSON is YAML
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OPENAI_", "DATABASE_", "REDIS_"))
        }
        env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR", PYTHONUNBUFFERED="1")
        self.process = spawn(
            "litellm",
            [
                str(LITELLM_VENV / "bin" / "litellm"),
                "--config",
                str(path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--num_workers",
                "1",
            ],
            env=env,
            cwd=self.work_dir,
            log_dir=self.log_dir,
            cpu=server_cpu(),
            port=self.port,
        )
        self.startup_seconds = await wait_healthy(
            self.process, f"{self.url}/health/liveliness", limit=180, interval=0.05
        )

    async def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.process.stop)
