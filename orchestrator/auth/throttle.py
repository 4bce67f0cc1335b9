"""Login throttling: failed attempts counted per account and per client address.

`LoginThrottle` is the in-process implementation; a Redis-backed one (a sorted set per key,
for several replicas) comes with the scale-out work and keeps this interface:

- `reserve(account, address)` counts an attempt *before* the password is checked, so that
  a burst of concurrent guesses cannot all slip past the count while the hashes run. It
  raises `LimitExceeded` (429 with `Retry-After`) when either key is at its limit, and then
  no password is checked at all.
- The returned `Attempt` is settled once the password has been checked: `succeeded()`
  takes the attempt back and clears the account's failures; `failed()` keeps it and says
  how long to hold the answer (failures beyond half the limit are slowed down).

Why not the `limits` library: its moving window can only add hits or clear a key, not take
back one reservation. Counting every attempt (successes included) would lock out an office
behind one address; counting after the hash would let concurrent guesses through. The
window here is a log of timestamps per key, pruned as it is read: a few lines, exact.

Memory is bounded: at most `max_keys` keys are kept; past that, expired ones are swept and
then the oldest dropped (an attacker spraying addresses loses history, not the server).
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from orchestrator.domain import LimitExceeded

__all__ = ["Attempt", "LoginThrottle"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Limit:
    name: str
    max_failures: int


class Attempt:
    """One counted login attempt, to settle once the password has been checked."""

    def __init__(self, throttle: LoginThrottle, keys: list[tuple[str, float]]) -> None:
        self._throttle = throttle
        self._keys = keys
        self._settled = False

    def succeeded(self) -> None:
        """Take the attempt back and forget the account's earlier failures."""
        if not self._settled:
            self._settled = True
            self._throttle.release(self._keys, clear_account=True)

    def failed(self) -> float:
        """Keep the attempt counted; returns how many seconds to hold the answer."""
        self._settled = True
        return self._throttle.hold_for(self._keys)


class LoginThrottle:
    """Failed logins per account and per address within a moving window.

    `max_failures` attempts per account and `max_address_failures` per client address are
    allowed in any `window` seconds; the next gets `LimitExceeded` until the oldest counted
    attempt leaves the window. `clock` is monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        *,
        max_failures: int,
        max_address_failures: int,
        window: float,
        failure_delay: float = 0.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._account = _Limit("account", max_failures)
        self._address = _Limit("address", max_address_failures)
        self._window = window
        self._failure_delay = failure_delay
        self._max_keys = max_keys
        self._clock = clock
        self._log: dict[str, deque[float]] = {}

    def reserve(self, account: str, address: str | None) -> Attempt:
        """Count an attempt for `account` (and `address`) before the password is checked.

        Raises:
            LimitExceeded: either key has had too many failures in the window.
        """
        now = self._clock()
        keys = [(f"account:{account.strip().lower()}", self._account)]
        if address:
            keys.append((f"address:{address}", self._address))
        wait = 0.0
        blocked = self._account
        for key, limit in keys:
            times = self._recent(key, now)
            if len(times) >= limit.max_failures:
                wait = max(wait, times[0] + self._window - now)
                blocked = limit
        if wait > 0:
            logger.info("Login throttled (%s limit)", blocked.name)
            seconds = max(1, math.ceil(wait))
            raise LimitExceeded(
                "Too many failed logins; wait before trying again.",
                retry_after=seconds,
                detail={
                    "limit": f"{blocked.max_failures} failed logins per {blocked.name} "
                    f"in {self._window:g} s",
                    "retry_after": seconds,
                },
            )
        if len(self._log) >= self._max_keys:
            self._make_room(now)
        for key, _ in keys:
            self._log.setdefault(key, deque()).append(now)
        return Attempt(self, [(key, now) for key, _ in keys])

    def release(self, keys: list[tuple[str, float]], *, clear_account: bool) -> None:
        """Uncount the attempts `keys` name (for `Attempt.succeeded`).

        With `clear_account`, the account's earlier failures are forgotten as well (a right
        password); the address keeps its count.
        """
        for key, stamp in keys:
            times = self._log.get(key)
            if times is None:
                continue
            if clear_account and key.startswith("account:"):
                del self._log[key]
                continue
            try:
                times.remove(stamp)
            except ValueError:
                pass
            if not times:
                del self._log[key]

    def hold_for(self, keys: list[tuple[str, float]]) -> float:
        """The slow-down for a failure: zero until half the account's limit, then growing."""
        if not self._failure_delay:
            return 0.0
        account = keys[0][0]
        failures = len(self._log.get(account, ()))
        free = max(1, self._account.max_failures // 2)
        return self._failure_delay * max(0, failures - free)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._log.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._log[key]
        return times

    def _make_room(self, now: float) -> None:
        for key in [key for key, times in self._log.items() if times[-1] <= now - self._window]:
            del self._log[key]
        if len(self._log) >= self._max_keys:
            for key in list(self._log)[: self._max_keys // 2]:
                del self._log[key]
