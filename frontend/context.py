"""What the front end's screens share, built once by `create_app` and kept on the app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachelib.base import BaseCache
from flask import current_app

from frontend.assets import Assets
from frontend.credentials import Credentials
from frontend.relay import Relay
from frontend.settings import FrontendSettings
from frontend.upstream import Orchestrator

__all__ = ["Frontend", "frontend", "user_room"]

_KEY = "assistant"


@dataclass
class Frontend:
    """The composition root's parts, for blueprints and Socket.IO handlers."""

    settings: FrontendSettings
    orchestrator: Orchestrator
    credentials: Credentials
    relay: Relay
    assets: Assets
    cache: BaseCache
    emit: Callable[..., Any]
    """Flask-SocketIO's `emit`: reaches a room in every front-end process."""

    def install(self, app: Any) -> None:
        app.extensions[_KEY] = self

    # The run a conversation is waiting on, so that a tab coming back can follow it.
    def remember_run(self, user_id: str, conversation_id: str, run_id: str) -> None:
        self.cache.set(f"active:{user_id}:{conversation_id}", run_id, timeout=86_400)

    def tell_user(self, user_id: str, event: str, data: dict[str, Any]) -> None:
        """Every tab of the user hears it (e.g. a run started in another tab)."""
        self.emit(event, data, to=user_room(user_id))

    def remembered_run(self, user_id: str, conversation_id: str) -> str | None:
        value = self.cache.get(f"active:{user_id}:{conversation_id}")
        return value if isinstance(value, str) else None


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def frontend() -> Frontend:
    """The current app's parts."""
    return current_app.extensions[_KEY]
