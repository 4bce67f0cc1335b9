"""The live relay: a run's SSE stream from the orchestrator, fanned out to a Socket.IO room.

One reader per run and process follows `GET /runs/{id}/events` from the start, keeps every
event it saw (a run is bounded), and emits each to the room `run:<id>`. A browser that
subscribes with the last event id it rendered gets the events after it from that memory,
then the live ones through the room; the browser drops ids it already has and waits for
any gap to fill, so text is never lost or doubled, whatever the order of the two.

The reader resumes the upstream stream with `Last-Event-ID` after any drop, with a growing
pause, until the run ends (`run.completed` or `error`). A finished run's events stay for a
while so that a tab coming back replays from memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from httpx_sse import SSEError

from frontend.credentials import Credentials, SignedOut
from frontend.upstream import ApiError, Event, Orchestrator, Unauthorized, Unreachable

__all__ = ["Relay", "room_of"]

logger = logging.getLogger(__name__)

_TERMINAL = frozenset({"run.completed", "error"})
_KEEP_FINISHED_SECONDS = 120.0
_MAX_PAUSE_SECONDS = 5.0


def room_of(run_id: str) -> str:
    return f"run:{run_id}"


@dataclass
class _Run:
    run_id: str
    key: str
    events: list[Event] = field(default_factory=list[Event])
    done: bool = False
    finished_at: float | None = None


class Relay:
    """The runs this process relays.

    `emit(event_name, payload, to)` and `spawn(function)` come from Flask-SocketIO (its
    `emit` and `start_background_task`), so that the same code runs under gevent and in a
    plain thread.
    """

    def __init__(
        self,
        orchestrator: Orchestrator,
        credentials: Credentials,
        emit: Callable[..., Any],
        spawn: Callable[..., Any],
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self._orchestrator = orchestrator
        self._credentials = credentials
        self._emit = emit
        self._spawn = spawn
        self._sleep = sleep
        self._runs: dict[str, _Run] = {}
        self._guard = threading.Lock()

    def backlog(self, run_id: str, key: str, after: int) -> list[Event]:
        """The events after `after` seen so far; starts following the run if nobody does.

        Call it after the client joined the run's room: what is emitted meanwhile reaches
        the client twice at worst, never zero times.
        """
        with self._guard:
            self._forget_old()
            run = self._runs.get(run_id)
            if run is None:
                run = _Run(run_id, key)
                self._runs[run_id] = run
                self._spawn(self._follow, run)
            return [event for event in run.events if event.id > after]

    def active(self) -> int:
        """How many runs are being followed now."""
        return sum(1 for run in self._runs.values() if not run.done)

    def _forget_old(self) -> None:
        now = time.monotonic()
        for run_id, run in list(self._runs.items()):
            if run.finished_at is not None and now - run.finished_at > _KEEP_FINISHED_SECONDS:
                del self._runs[run_id]

    def _publish(self, run: _Run, event: Event) -> None:
        run.events.append(event)
        payload = {"run_id": run.run_id, "id": event.id, "event": event.name, "data": event.data}
        self._emit("run.event", payload, to=room_of(run.run_id))

    def _finish(self, run: _Run, error: dict[str, Any] | None = None) -> None:
        if error is not None:
            last = run.events[-1].id if run.events else 0
            self._publish(run, Event(last + 1, "error", error))
        run.done = True
        run.finished_at = time.monotonic()

    def _follow(self, run: _Run) -> None:
        """Read the run's events until it ends, resuming after every drop."""
        pauses = 0
        while not run.done:
            last = run.events[-1].id if run.events else 0
            try:
                access = self._credentials.access(run.key)
                try:
                    self._read(run, last, access)
                except Unauthorized:
                    self._read(run, last, self._credentials.renew(run.key, access))
                if run.done or (run.events and run.events[-1].id > last):
                    pauses = 0
                    continue
                # Nothing after `last`: the run ended, or a proxy closed an idle stream.
                if self._ended(run):
                    self._finish(run)
                    continue
                pauses += 1
                self._sleep(min(0.1 * 2**pauses, _MAX_PAUSE_SECONDS))
            except (httpx.TransportError, SSEError, Unreachable) as error:
                pauses += 1
                pause = min(0.1 * 2**pauses, _MAX_PAUSE_SECONDS)
                logger.info("run %s: stream dropped (%s); resuming", run.run_id, error)
                self._sleep(pause)
            except SignedOut:
                ended = {"type": "signed_out", "message": "Log in again to follow this run."}
                self._finish(run, ended)
            except ApiError as error:
                self._finish(run, error.body["error"])
            except Exception:  # the root of a background task: log, and end the run's relay
                logger.exception("run %s: the relay failed", run.run_id)
                self._finish(run, {"type": "relay", "message": "The live stream failed."})

    def _ended(self, run: _Run) -> bool:
        access = self._credentials.access(run.key)
        state = self._orchestrator.call("GET", f"/runs/{run.run_id}", access).json()
        return state.get("finished_at") is not None

    def _read(self, run: _Run, after: int, access: str) -> None:
        for event in self._orchestrator.events(run.run_id, after, access):
            if event.id <= after:
                continue
            self._publish(run, event)
            after = event.id
            if event.name in _TERMINAL:
                self._finish(run)
                return
