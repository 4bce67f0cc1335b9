"""Liveness and readiness."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

__all__ = [
    "Health",
    "Readiness",
]


class Health(BaseModel):
    """The process is up (liveness)."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Whether the server can take runs: each check is `ok` or what is wrong."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, str]
