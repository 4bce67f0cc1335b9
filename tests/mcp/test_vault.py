"""Secrets at rest: sealed, opened, rotated; a lost key reads as absent."""

from __future__ import annotations

from orchestrator.mcp import CircuitBreaker, Vault


def test_sealed_values_open_only_with_the_key() -> None:
    vault = Vault("key-one")
    sealed = vault.seal({"access_token": "secret-token"})
    assert "secret-token" not in sealed
    assert vault.open(sealed) == {"access_token": "secret-token"}
    assert Vault("another-key").open(sealed) is None
    assert vault.open(None) is None


def test_keys_rotate_new_first_old_still_opens() -> None:
    old = Vault("old-key").seal({"a": 1})
    rotated = Vault.from_settings("new-key,old-key", jwt_secret="ignored")
    assert rotated.open(old) == {"a": 1}
    assert Vault("new-key").open(rotated.seal({"b": 2})) == {"b": 2}
    derived = Vault.from_settings(None, jwt_secret="the-jwt-secret")
    assert Vault("the-jwt-secret").open(derived.seal({"c": 3})) == {"c": 3}


def test_the_breaker_backs_off_then_opens_and_a_stable_session_resets_it() -> None:
    breaker = CircuitBreaker(threshold=3, base_delay=1.0, max_delay=10.0, open_interval=60.0)
    delays = []
    for _ in range(2):
        breaker.record_failure("boom")
        delays.append(breaker.delay())
    assert 0.8 <= delays[0] <= 1.2 and 1.6 <= delays[1] <= 2.4
    assert not breaker.open
    breaker.record_failure("boom")
    assert breaker.open and breaker.delay() == 60.0
    breaker.session_ended(lasted=30.0, error="bye")
    assert breaker.failures == 0 and not breaker.open
    breaker.session_ended(lasted=0.1, error="crashed at once")
    assert breaker.failures == 1
