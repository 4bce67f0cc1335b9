"""Shared fixtures.

Settings never read the developer's .env here. Database tests run on both PostgreSQL
servers this project supports: the embedded one (18, with pgvector) and the machine's own
(15, no pgvector, at TEST_POSTGRES_URL). Each session gets fresh databases, migrated once;
tests isolate themselves by working as their own users.
"""

from __future__ import annotations

import os

os.environ["ASSISTANT_ENV_FILE"] = ""
# One master key for the secrets at rest in the session's shared databases, as one
# deployment has: tests keep their own data folders, whose generated keys would differ.
os.environ.setdefault("MCP_TOKEN_KEY", "the-tests-master-key-for-secrets-at-rest")

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest

from orchestrator.store import EmbeddedPostgres, create_engine, upgrade
from tests.fakes.openai_server import FakeOpenAI, served
from tests.fixtures.accounts import seed_admin

# Set-ups shared by several folders (see tests/fixtures/__init__.py).
pytest_plugins = ("tests.fixtures.mcp_api",)


def pytest_configure(config: pytest.Config) -> None:
    # A temporary folder of this session's own. Under the shared /tmp/pytest-of-<user>, a
    # second pytest session starting meanwhile resets that folder to mode 0700, and the
    # embedded PostgreSQL (which runs as its own system user) loses access to its data.
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="assistant-tests-")
        config.add_cleanup(lambda: shutil.rmtree(config.option.basetemp, ignore_errors=True))


SYSTEM_POSTGRES = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


class PostgresServer:
    """A server tests may create databases on."""

    def __init__(self, name: str, admin_url: str) -> None:
        self.name = name
        self.admin_url = admin_url

    def url_for(self, database: str) -> str:
        base, _, query = self.admin_url.partition("?")
        base = base.rsplit("/", 1)[0]
        return f"{base}/{database}" + (f"?{query}" if query else "")

    def create_database(self) -> str:
        name = f"assistant_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(self._admin(f'CREATE DATABASE "{name}"'))
        return name

    def drop_database(self, name: str) -> None:
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    @contextmanager
    def database(self, migrate: Callable[[str], Awaitable[None]] | None = None) -> Iterator[str]:
        """`with server.database(upgrade) as url:` a new database, migrated by `migrate`
        if given, and dropped on exit."""
        name = self.create_database()
        try:
            url = self.url_for(name)
            if migrate is not None:
                asyncio.run(migrate(url))
            yield url
        finally:
            self.drop_database(name)

    async def _admin(self, statement: str) -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(self.admin_url))
        try:
            await conn.execute(statement)
        finally:
            await conn.close()


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    data = tmp_path_factory.mktemp("embedded")
    server = EmbeddedPostgres(data)
    url = server.start()
    try:
        yield PostgresServer("embedded-pg18", url.replace("/assistant?", "/postgres?"))
    finally:
        server.stop()


@pytest.fixture(scope="session", params=["embedded-pg18", "system-pg15"])
def postgres(request: pytest.FixtureRequest) -> PostgresServer:
    if request.param == "embedded-pg18":
        return request.getfixturevalue("embedded_server")
    return PostgresServer("system-pg15", SYSTEM_POSTGRES)


@pytest.fixture(scope="session")
def database_url(postgres: PostgresServer) -> Iterator[str]:
    """A migrated database on the parametrised server, for the whole session.

    It holds the shared admin (`tests.fixtures.accounts`) from the start.
    """

    async def upgrade_and_seed(url: str) -> None:
        await upgrade(url)
        await seed_admin(url)

    with postgres.database(upgrade_and_seed) as url:
        yield url


@pytest.fixture
def fresh_database_url(postgres: PostgresServer) -> Iterator[str]:
    """An empty, unmigrated database of its own, for tests that need one."""
    with postgres.database() as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[object]:
    engine = create_engine(database_url, pool_size=5)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def openai_fake() -> Iterator[FakeOpenAI]:
    with served(FakeOpenAI()) as fake:
        yield fake


@pytest.fixture
def fake_openai(openai_fake: FakeOpenAI) -> FakeOpenAI:
    """The fake OpenAI server, emptied for this test."""
    openai_fake.reset()
    return openai_fake


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def _local_model_path() -> Path:
    """SmolLM2 from the `local` extra; the test is skipped without it, unless required."""
    from orchestrator.llm import default_model_path, local_model_available

    path = default_model_path()
    if path is None or not local_model_available(path):
        if os.environ.get("ASSISTANT_REQUIRE_LOCAL_MODEL"):
            pytest.fail("ASSISTANT_REQUIRE_LOCAL_MODEL is set but the `local` extra is missing")
        pytest.skip("the `local` extra is not installed (pip install -e '.[local]')")
    return path


@pytest.fixture(scope="session")
def local_model_path() -> Path:
    return _local_model_path()


@pytest.fixture(scope="session")
def local_llama(local_model_path: Path) -> Iterator[object]:
    """The real SmolLM2-135M in llama.cpp, loaded once; seeded so that answers repeat."""
    from orchestrator.llm.local_model import open_llama

    llama = open_llama(local_model_path, context_window=4096, seed=7)
    try:
        yield llama
    finally:
        llama.close()  # type: ignore[attr-defined]
