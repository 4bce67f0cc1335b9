"""The vault's keys: master keys from the settings, data keys stored wrapped by them.

An envelope, as cloud KMSs do it. Master keys never touch the database: each is derived
(HKDF-SHA256) from a string in `MCP_TOKEN_KEY` (or the local run's generated secret) and
known by a short fingerprint. Data keys are random 256-bit AES-GCM keys, each named by a
`kid`, stored in `secret_keys` wrapped (AES-GCM) by a master key, with the `kid` as the
associated data. Blobs are sealed with a data key; rotating data keys re-seals rows, rotating
the master key re-wraps only the few data keys. Every process finds a data key it has not
seen in the store, so a rotation needs no restart anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from common.settings import ConfigError
from orchestrator.domain import Conflict
from orchestrator.domain.secrets import DataKey

__all__ = ["DataKey", "KeyStore", "MasterKeyError", "MasterKeys", "MemoryKeyStore", "new_data_key"]

_NONCE = 12


class MasterKeyError(ConfigError):
    """No configured master key unwraps a stored data key: the settings hold the wrong key."""


class KeyStore(Protocol):
    """Where data keys are kept (wrapped); `orchestrator.store.SqlKeyStore` implements it."""

    async def all_keys(self) -> list[DataKey]:
        """Every data key, oldest first."""
        ...

    async def key(self, kid: str) -> DataKey | None:
        """One data key by name, if it exists."""
        ...

    async def current(self) -> DataKey | None:
        """The data key new blobs are sealed with: the newest one not retired."""
        ...

    async def add(self, key: DataKey, *, only_if_none_current: bool = False) -> DataKey:
        """Store a new data key; it becomes current. Returns the current key afterwards.

        With `only_if_none_current`, a key is added only when there is no current one (two
        processes starting at once agree on one).
        """
        ...

    async def retire_all_but(self, kid: str) -> list[str]:
        """Retire every other key not yet retired (they still open); returns their names."""
        ...

    async def rewrap(self, kid: str, old_wrapped: str, master_id: str, wrapped: str) -> bool:
        """Replace a key's wrapping if it is still `old_wrapped`; whether it was replaced."""
        ...

    def rotating(self) -> AbstractAsyncContextManager[None]:
        """Held while one rotation runs, in any process.

        Raises:
            Conflict: another rotation is running.
        """
        ...


def _derive(material: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"assistant-secrets", info=info).derive(
        material.encode()
    )


class MasterKeys:
    """The ring of master keys from the settings: the first wraps, every one unwraps.

    Raises:
        ValueError: no material was given.
    """

    def __init__(self, *materials: str) -> None:
        keys = [_derive(material, b"master-key") for material in materials if material]
        if not keys:
            raise ValueError("the vault needs a master key")
        self._by_id = {hashlib.sha256(b"master-id" + key).hexdigest()[:16]: key for key in keys}
        self.current_id = next(iter(self._by_id))

    @property
    def ids(self) -> list[str]:
        """The fingerprints of the ring's keys, the current one first."""
        return list(self._by_id)

    def wrap(self, kid: str, secret: bytes) -> tuple[str, str]:
        """`secret` (a data key) wrapped by the current master key, and that key's id."""
        nonce = os.urandom(_NONCE)
        sealed = AESGCM(self._by_id[self.current_id]).encrypt(nonce, secret, _aad(kid))
        return self.current_id, base64.urlsafe_b64encode(nonce + sealed).decode()

    def unwrap(self, key: DataKey) -> bytes:
        """The data key's secret.

        Raises:
            MasterKeyError: its master key is not in the ring, or does not open it.
        """
        master = self._by_id.get(key.master_id)
        if master is None:
            raise MasterKeyError(
                f"Data key {key.kid} is wrapped by master key {key.master_id}, which "
                f"MCP_TOKEN_KEY does not hold (it holds {', '.join(self.ids)}). Put the "
                "master key that was in use back into MCP_TOKEN_KEY (comma-separated after "
                "the new one), or the sealed secrets cannot be opened."
            )
        try:
            raw = base64.urlsafe_b64decode(key.wrapped)
            return AESGCM(master).decrypt(raw[:_NONCE], raw[_NONCE:], _aad(key.kid))
        except (InvalidTag, ValueError) as error:
            raise MasterKeyError(
                f"Data key {key.kid} does not open with master key {key.master_id}: the "
                "stored key is damaged."
            ) from error


def _aad(kid: str) -> bytes:
    return b"assistant-data-key\x00" + kid.encode()


def new_data_key(masters: MasterKeys) -> tuple[DataKey, bytes]:
    """A fresh random data key, wrapped by the current master key, and its secret."""
    now = datetime.now(UTC)
    kid = f"{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    secret = AESGCM.generate_key(bit_length=256)
    master_id, wrapped = masters.wrap(kid, secret)
    return DataKey(kid, master_id, wrapped, now), secret


@dataclass
class MemoryKeyStore:
    """A `KeyStore` in memory, for the CLI's one-off connections and tests."""

    keys: dict[str, DataKey] = field(default_factory=dict[str, DataKey])
    busy: bool = False

    async def all_keys(self) -> list[DataKey]:
        """Every data key, oldest first."""
        return sorted(self.keys.values(), key=lambda key: key.created_at)

    async def key(self, kid: str) -> DataKey | None:
        """One data key by name."""
        return self.keys.get(kid)

    async def current(self) -> DataKey | None:
        """The newest key not retired."""
        live: Sequence[DataKey] = [k for k in await self.all_keys() if k.retired_at is None]
        return live[-1] if live else None

    async def add(self, key: DataKey, *, only_if_none_current: bool = False) -> DataKey:
        """Store a new data key (unless one is current and `only_if_none_current`)."""
        current = await self.current()
        if only_if_none_current and current is not None:
            return current
        self.keys[key.kid] = key
        return key

    async def retire_all_but(self, kid: str) -> list[str]:
        """Retire every other live key."""
        now = datetime.now(UTC)
        retired = [k.kid for k in self.keys.values() if k.kid != kid and k.retired_at is None]
        for name in retired:
            self.keys[name] = replace(self.keys[name], retired_at=now)
        return retired

    async def rewrap(self, kid: str, old_wrapped: str, master_id: str, wrapped: str) -> bool:
        """Replace a key's wrapping if unchanged."""
        key = self.keys.get(kid)
        if key is None or key.wrapped != old_wrapped:
            return False
        self.keys[kid] = replace(key, master_id=master_id, wrapped=wrapped)
        return True

    @asynccontextmanager
    async def rotating(self) -> AsyncIterator[None]:
        """Held while one rotation runs.

        Raises:
            Conflict: another rotation is running.
        """
        if self.busy:
            raise Conflict("Another rotation of the secrets' keys is running.")
        self.busy = True
        try:
            yield
        finally:
            self.busy = False
