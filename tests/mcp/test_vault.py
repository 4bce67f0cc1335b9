"""Secrets at rest: sealed under a data key, bound to their row, opened by any process."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from orchestrator.mcp import CircuitBreaker, MasterKeyError, MasterKeys, Vault
from orchestrator.mcp.governance import MemoryKeyStore, credential_binding, server_binding
from orchestrator.mcp.governance.vault import kid_of
from orchestrator.settings import AuthSettings, ConfigError, DatabaseSettings, MCPSettings, Settings

ALICE = credential_binding("alice-id", "notes")
BOB = credential_binding("bob-id", "notes")


def legacy_seal(material: str, value: dict[str, object]) -> str:
    """A blob as the vault sealed it before key rings (Fernet under a derived key)."""
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"assistant-mcp", info=b"mcp-credentials"
    ).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key)).encrypt(json.dumps(value).encode()).decode()


@pytest.mark.anyio
async def test_a_sealed_value_opens_for_its_row_and_hides_its_content() -> None:
    vault = Vault.local("master-one")
    sealed = await vault.seal({"access_token": "secret-token"}, ALICE)
    assert "secret-token" not in sealed and sealed.startswith("v2.")
    assert await vault.open(sealed, ALICE) == {"access_token": "secret-token"}
    assert await vault.open(None, ALICE) is None
    assert await vault.open("v2.nokey.AAAA", ALICE) is None
    assert await vault.open(sealed[:-4] + "AAAA", ALICE) is None  # damaged


@pytest.mark.anyio
async def test_a_blob_copied_to_another_row_does_not_open_there() -> None:
    vault = Vault.local("master-one")
    alices = await vault.seal({"tokens": {"access_token": "alice's"}}, ALICE)
    assert await vault.open(alices, BOB) is None
    assert await vault.open(alices, credential_binding("alice-id", "other-server")) is None
    secrets = await vault.seal({"env": {"API_KEY": "k"}}, server_binding("server-1", "alice-id"))
    assert await vault.open(secrets, server_binding("server-1", "bob-id")) is None
    assert await vault.open(secrets, server_binding("server-2", "alice-id")) is None
    assert await vault.open(secrets, server_binding("server-1", None)) is None
    assert await vault.open(secrets, server_binding("server-1", "alice-id")) == {
        "env": {"API_KEY": "k"}
    }


@pytest.mark.anyio
async def test_another_process_loads_a_new_data_key_when_it_first_meets_it() -> None:
    keys = MemoryKeyStore()
    first, second = Vault(MasterKeys("master"), keys), Vault(MasterKeys("master"), keys)
    old = await first.seal({"n": 1}, ALICE)
    assert await second.open(old, ALICE) == {"n": 1}
    new_kid = await first.add_key()
    new = await first.seal({"n": 2}, ALICE)
    assert kid_of(new) == new_kid != kid_of(old)
    assert await second.open(new, ALICE) == {"n": 2}  # loaded from the store on demand
    assert kid_of(await second.seal({"n": 3}, ALICE)) == new_kid  # and sealed with it


@pytest.mark.anyio
async def test_blobs_from_before_key_rings_still_open() -> None:
    vault = Vault(MasterKeys("master"), legacy=["old-token-key", "the-jwt-secret"])
    assert await vault.open(legacy_seal("old-token-key", {"a": 1}), ALICE) == {"a": 1}
    assert await vault.open(legacy_seal("the-jwt-secret", {"b": 2}), BOB) == {"b": 2}
    assert await vault.open(legacy_seal("someone-else", {"c": 3}), ALICE) is None
    assert await Vault.local("master").open(legacy_seal("the-jwt-secret", {"b": 2}), BOB) is None


@pytest.mark.anyio
async def test_a_wrong_master_key_is_refused_at_the_check_and_changes_nothing() -> None:
    keys = MemoryKeyStore()
    await Vault(MasterKeys("the-right-master"), keys).check()
    before = dict(keys.keys)
    wrong = Vault(MasterKeys("a-wrong-master"), keys)
    with pytest.raises(MasterKeyError, match="MCP_TOKEN_KEY"):
        await wrong.check()
    assert keys.keys == before
    # A ring that still holds the old master opens, and seals under the same data key.
    ring = Vault(MasterKeys("a-new-master", "the-right-master"), keys)
    await ring.check()
    assert keys.keys == before


def _settings(data_dir: Path, token_key: str | None, **values: object) -> Settings:
    key = SecretStr(token_key) if token_key is not None else None
    return Settings(data_dir=data_dir, mcp=MCPSettings(token_key=key), **values)  # type: ignore[arg-type]


def test_a_local_run_keeps_its_own_master_key_not_one_derived_from_the_jwt_secret(
    data_dir: Path,
) -> None:
    settings = _settings(data_dir, None)
    [master] = settings.secrets_master_keys()
    assert master == (data_dir / "secrets-master-key").read_text().strip()
    assert len(master) >= 32 and master != settings.jwt_secret()
    assert _settings(data_dir, None).secrets_master_keys() == [master]  # kept, not remade
    assert settings.legacy_secret_keys() == [settings.jwt_secret()]  # old blobs still open
    configured = _settings(data_dir, "new-master-key-1234, old-master-key-1234")
    assert configured.secrets_master_keys() == ["new-master-key-1234", "old-master-key-1234"]


@pytest.mark.parametrize("token_key", [None, "changeme", "short", "a-long-enough-key,changeme"])
def test_production_refuses_a_missing_or_weak_master_key(data_dir: Path, token_key: str) -> None:
    settings = _settings(
        data_dir,
        token_key,
        environment="production",
        auth=AuthSettings(jwt_secret_key=SecretStr("j" * 48)),
        database=DatabaseSettings(url="postgresql://db/assistant"),
    )
    with pytest.raises(ConfigError, match="MCP_TOKEN_KEY"):
        settings.check()
    assert not (data_dir / "secrets-master-key").exists()


def test_a_vault_needs_a_master_key() -> None:
    with pytest.raises(ValueError, match="master key"):
        MasterKeys("", "")


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
