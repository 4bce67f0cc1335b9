"""Fixtures for our MCP servers: settings in a temporary data folder, user tokens, a
knowledge database migrated on both PostgreSQL servers, and a helper to serve an ASGI app
on 127.0.0.1 from a thread."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from common.settings import DatabaseSettings, OpenAIAccess, SharedSettings
from mcp_servers.identity import USER_TOKEN_META_KEY, sign_user_token
from mcp_servers.knowledge import Knowledge, open_knowledge
from mcp_servers.knowledge.database import upgrade as upgrade_knowledge
from mcp_servers.settings import (
    AssistantServerSettings,
    FilesSettings,
    HttpSettings,
    KnowledgeSettings,
    ServersSettings,
    WebSettings,
)
from tests.conftest import PostgresServer
from tests.fixtures.processes import free_port
from tests.fixtures.serving import ThreadServer

REPO = Path(__file__).resolve().parents[2]
ASSISTANT_BIN = str(Path(sys.executable).parent / "assistant")


def make_settings(data_dir: Path, **groups: Any) -> ServersSettings:
    core = groups.pop("core", None) or SharedSettings(
        data_dir=data_dir, openai=OpenAIAccess(api_key=None, base_url=None)
    )
    return ServersSettings(
        core,
        http=groups.pop("http", None) or HttpSettings(stdio_user=None, oauth_issuer=None),
        web=groups.pop("web", None) or WebSettings(),
        files=groups.pop("files", None) or FilesSettings(),
        knowledge=groups.pop("knowledge", None) or KnowledgeSettings(embeddings="none"),
        assistant=groups.pop("assistant", None) or AssistantServerSettings(),
    )


@pytest.fixture
def settings(data_dir: Path) -> ServersSettings:
    return make_settings(data_dir)


@pytest.fixture
def user_meta(settings: ServersSettings) -> Callable[[str, str], dict[str, Any]]:
    """`_meta` carrying a user token, as the orchestrator sends over stdio."""

    def meta(server: str, user: str) -> dict[str, Any]:
        return {USER_TOKEN_META_KEY: sign_user_token(settings.service_token(), server, user)}

    return meta


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def knowledge_url(postgres: PostgresServer) -> Iterator[str]:
    """A database with the knowledge tables, on each PostgreSQL server, for the session."""
    with postgres.database(upgrade_knowledge) as url:
        yield url


@pytest.fixture
async def knowledge(knowledge_url: str, data_dir: Path) -> AsyncIterator[Knowledge]:
    """The knowledge service with full-text search only."""
    config = make_settings(data_dir, knowledge=KnowledgeSettings(database_url=knowledge_url))
    async with open_knowledge(config, embedder=None) as service:
        yield service


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a server subprocess: no .env, our data folder, no OpenAI."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "MCP_", "KNOWLEDGE_", "WEB_", "FILES_", "ASSISTANT_"))
    }
    env.update(
        {
            "ASSISTANT_ENV_FILE": "",
            "DATA_DIR": str(data_dir),
            "KNOWLEDGE_EMBEDDINGS": "none",
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


__all__ = [
    "ASSISTANT_BIN",
    "REPO",
    "DatabaseSettings",
    "ThreadServer",
    "free_port",
    "make_settings",
    "new_user",
    "server_env",
]
