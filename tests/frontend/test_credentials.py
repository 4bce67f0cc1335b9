"""The session's tokens, renewed on the server: one refresh however many calls find them stale."""

from __future__ import annotations

import threading

from cachelib import SimpleCache

from frontend.credentials import Credentials
from frontend.upstream import Orchestrator
from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.frontend.conftest import Stack


def test_calls_that_find_the_token_stale_at_once_refresh_it_once_and_stay_signed_in(
    stack: Stack,
) -> None:
    now = [1_000_000.0]
    orchestrator = Orchestrator(stack.orchestrator_url)
    cache = SimpleCache()
    credentials = Credentials(cache, orchestrator, lifetime_seconds=3600, clock=lambda: now[0])
    try:
        key = credentials.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        credentials.access(key)
        spent = cache.get(f"tokens:{key}")["refresh"]
        now[0] += 3600  # the access token has expired
        start = threading.Barrier(6)
        seen: list[str] = []

        def call() -> None:
            start.wait()
            seen.append(credentials.access(key))

        threads = [threading.Thread(target=call) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(seen) == 6 and len(set(seen)) == 1
        assert cache.get(f"tokens:{key}")["refresh"] != spent
        # A spent refresh token reused would have revoked the family: the next renewal works.
        now[0] += 3600
        renewed = credentials.access(key)
        me = orchestrator.call("GET", "/auth/me", renewed).json()
        assert me["email"] == ADMIN_EMAIL
    finally:
        orchestrator.close()
