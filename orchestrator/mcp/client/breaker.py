"""Restart pacing for a failing server: exponential backoff and a circuit breaker.

Each failure (a connection that could not be made, or one that ended before it had been
up for `stable_after` seconds) doubles the wait before the next attempt, with jitter.
After `threshold` failures in a row the circuit opens: the server's tools are withdrawn
and one trial connection is made every `open_interval` seconds until one succeeds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["CircuitBreaker"]


@dataclass
class CircuitBreaker:
    """When to try a failing server again, and whether to give up on it for a while."""

    threshold: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    open_interval: float = 60.0
    stable_after: float = 10.0
    failures: int = 0
    last_error: str | None = None

    @property
    def open(self) -> bool:
        """Whether the circuit is open: too many failures in a row."""
        return self.failures >= self.threshold

    def record_failure(self, error: str) -> None:
        """Count a failed attempt, and why it failed."""
        self.failures += 1
        self.last_error = error

    def record_success(self) -> None:
        """A connection was made: the count starts again."""
        self.failures = 0

    def session_ended(self, lasted: float, error: str) -> None:
        """A connection that was up ended; short-lived ones count as failures."""
        if lasted >= self.stable_after:
            self.failures = 0
            self.last_error = error
        else:
            self.record_failure(error)

    def delay(self) -> float:
        """Seconds to wait before the next attempt (never asked before the first)."""
        if self.open:
            return self.open_interval
        raw = min(self.max_delay, self.base_delay * 2 ** max(self.failures - 1, 0))
        return raw * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not a secret
