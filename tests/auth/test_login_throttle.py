"""Attack tests: password guessing is throttled, and a login flood cannot exhaust the CPU."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import argon2
import httpx
import pytest
from fastapi import FastAPI

from orchestrator.auth import AuthService, LoginThrottle, TokenCodec
from orchestrator.domain import LimitExceeded, Unauthorized
from orchestrator.main import create_app
from tests.api.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.anyio

PASSWORD = "the right password"


@pytest.fixture
def serve(database_url: str, data_dir: Path, fake_openai: FakeOpenAI) -> Callable[..., Any]:
    """An app whose auth settings are overridden by the keyword arguments."""

    @asynccontextmanager
    async def serving(**auth: Any) -> AsyncIterator[FastAPI]:
        settings = make_settings(database_url, data_dir, fake_openai.url)  # type: ignore[attr-defined]
        settings.auth = settings.auth.model_copy(update={"login_failure_delay_seconds": 0, **auth})
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            yield app

    return serving


def client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client whose requests come from `address`, as the server sees it."""
    transport = httpx.ASGITransport(app=app, client=(address, 40_000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def new_account(app: FastAPI) -> str:
    email = f"{uuid.uuid4().hex[:10]}@test.example"
    await app.state.services.auth.create_user(email, PASSWORD)
    return email


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", json={"email": email, "password": password})


def assert_rate_limited(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["type"] == "rate_limited" and error["message"]
    assert set(error["detail"]) == {"limit", "retry_after"}
    assert response.headers["retry-after"] == str(error["detail"]["retry_after"])
    assert int(response.headers["retry-after"]) >= 1
    return error


async def test_the_sixth_wrong_password_for_an_account_gets_429_with_retry_after(
    serve: Callable[..., Any],
) -> None:
    async with serve(login_window_seconds=600) as app, client_from(app, "192.0.2.10") as client:
        email = await new_account(app)
        for _ in range(5):
            assert (await login(client, email, "wrong guess")).status_code == 401
        error = assert_rate_limited(await login(client, email, "wrong guess"))
        assert "account" in error["detail"]["limit"]
        assert 590 <= error["detail"]["retry_after"] <= 600
        # Locked means locked: the right password is refused too until the window passes,
        # from any address, so a guesser cannot tell that a guess was right.
        assert_rate_limited(await login(client, email, PASSWORD))
        async with client_from(app, "192.0.2.99") as elsewhere:
            assert_rate_limited(await login(elsewhere, email, PASSWORD))
            # Another account is not affected.
            other = await new_account(app)
            assert (await login(elsewhere, other, PASSWORD)).status_code == 200


async def test_one_address_trying_many_accounts_is_stopped_too(serve: Callable[..., Any]) -> None:
    async with serve(login_max_failures_per_address=20) as app:
        victim = await new_account(app)
        async with client_from(app, "203.0.113.7") as attacker:
            for number in range(20):
                sprayed = f"user{number}-{uuid.uuid4().hex[:6]}@test.example"
                assert (await login(attacker, sprayed, "Password1!")).status_code == 401
            error = assert_rate_limited(await login(attacker, victim, "Password1!"))
            assert "address" in error["detail"]["limit"]
            assert_rate_limited(await login(attacker, f"new-{uuid.uuid4().hex}@x.example", "x"))
        # The victim, from their own address, is not locked out by the attacker.
        async with client_from(app, "198.51.100.20") as owner:
            assert (await login(owner, victim, PASSWORD)).status_code == 200


async def test_a_successful_login_resets_the_account_counter(serve: Callable[..., Any]) -> None:
    async with serve() as app, client_from(app, "192.0.2.11") as client:
        email = await new_account(app)
        for _ in range(4):
            assert (await login(client, email, "typo")).status_code == 401
        assert (await login(client, email, PASSWORD)).status_code == 200
        for _ in range(5):
            assert (await login(client, email, "typo again")).status_code == 401
        assert_rate_limited(await login(client, email, "typo again"))


async def test_the_right_password_works_again_once_the_lock_window_has_passed(
    serve: Callable[..., Any],
) -> None:
    async with serve() as app:
        services = app.state.services
        clock = [1000.0]
        auth = AuthService(
            services.users,
            TokenCodec(services.settings.jwt_secret(), access_minutes=5, refresh_days=1),
            throttle=LoginThrottle(
                max_failures=5, max_address_failures=20, window=60, clock=lambda: clock[0]
            ),
        )
        email = await new_account(app)
        for _ in range(5):
            with pytest.raises(Unauthorized):
                await auth.login(email, "wrong", address="192.0.2.12")
            clock[0] += 1
        with pytest.raises(LimitExceeded) as locked:
            await auth.login(email, PASSWORD, address="192.0.2.12")
        assert locked.value.retry_after == 55  # the first failure leaves the window then
        clock[0] += 54
        with pytest.raises(LimitExceeded):
            await auth.login(email, PASSWORD, address="192.0.2.12")
        clock[0] += 1
        pair = await auth.login(email, PASSWORD, address="192.0.2.12")
        assert (await auth.authenticate(pair.access_token)).email == email


class Argon2Meter:
    """Measures the real argon2 verifications of this process: how many, how many at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.running = 0
        self.most_at_once = 0
        self.durations: list[float] = []
        self._lock = threading.Lock()
        real = argon2.PasswordHasher.verify

        def verify(hasher: argon2.PasswordHasher, hash: str | bytes, password: str | bytes) -> Any:
            with self._lock:
                self.calls += 1
                self.running += 1
                self.most_at_once = max(self.most_at_once, self.running)
            started = time.perf_counter()
            try:
                return real(hasher, hash, password)
            finally:
                with self._lock:
                    self.running -= 1
                    self.durations.append(time.perf_counter() - started)

        monkeypatch.setattr(argon2.PasswordHasher, "verify", verify)


async def test_a_login_flood_runs_at_most_k_password_checks_at_once_and_throttled_ones_none(
    serve: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serve(login_concurrency=2, login_max_failures_per_address=1000) as app:
        accounts = [await new_account(app) for _ in range(12)]
        meter = Argon2Meter(monkeypatch)
        async with client_from(app, "203.0.113.50") as flood:
            answers = await asyncio.gather(*(login(flood, email, "guess") for email in accounts))
            assert [answer.status_code for answer in answers] == [401] * 12
            assert meter.calls == 12
            assert meter.most_at_once <= 2

            locked = accounts[0]
            for _ in range(4):
                await login(flood, locked, "guess")
            checks = meter.calls
            slowest_check = max(meter.durations)

            async def timed() -> tuple[httpx.Response, float]:
                started = time.perf_counter()
                response = await login(flood, locked, "guess")
                return response, time.perf_counter() - started

            throttled = await asyncio.gather(*(timed() for _ in range(40)))
        for response, _ in throttled:
            assert_rate_limited(response)
        assert meter.calls == checks  # not one argon2 run for a throttled attempt
        fastest = sorted(elapsed for _, elapsed in throttled)[len(throttled) // 2]
        assert fastest < slowest_check
        print(
            f"\nlogin flood: 12 checks, at most {meter.most_at_once} at once (limit 2); "
            f"40 throttled answers, median {fastest * 1000:.1f} ms, "
            f"no argon2 (one check took up to {slowest_check * 1000:.0f} ms)"
        )


async def test_logins_waiting_too_long_for_a_check_get_429_not_a_hang(
    serve: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serve(
        login_concurrency=1, login_queue_seconds=0.001, login_max_failures_per_address=1000
    ) as app:
        accounts = [await new_account(app) for _ in range(6)]
        meter = Argon2Meter(monkeypatch)
        async with client_from(app, "203.0.113.51") as flood:
            answers = await asyncio.gather(*(login(flood, email, "guess") for email in accounts))
        statuses = sorted(answer.status_code for answer in answers)
        assert 401 in statuses and 429 in statuses and set(statuses) == {401, 429}
        busy = next(answer for answer in answers if answer.status_code == 429)
        assert "concurrent" in assert_rate_limited(busy)["detail"]["limit"]
        assert meter.most_at_once == 1 and meter.calls == statuses.count(401)
