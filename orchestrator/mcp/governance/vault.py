"""Sealing secrets at rest: OAuth tokens and the secret parts of server configurations.

A sealed blob is `v2.<kid>.<base64(nonce | AES-GCM ciphertext)>`: the JSON value encrypted
with the data key `kid` (see `key_ring`), with the row it belongs to as associated data
(`server_binding`, `credential_binding`). A blob copied into another row, another user's
or another server's, does not open there: it reads as absent and the user authorizes
again. Blobs from before (Fernet, under `MCP_TOKEN_KEY` or a key derived from the JWT
secret) still open, unbound, until `assistant secrets rotate` re-seals them.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from orchestrator.mcp.governance.key_ring import (
    DataKey,
    KeyStore,
    MasterKeyError,
    MasterKeys,
    MemoryKeyStore,
    new_data_key,
)

__all__ = ["LEGACY", "Vault", "credential_binding", "kid_of", "server_binding"]

logger = logging.getLogger(__name__)

_PREFIX = "v2."
_NONCE = 12
LEGACY = "legacy"
"""What `kid_of` says of a blob sealed before key rings (Fernet)."""


def server_binding(server_id: str, owner_id: str | None) -> bytes:
    """What a registered server's sealed secrets are bound to: its row and its owner."""
    return json.dumps(["mcp_servers", server_id, owner_id]).encode()


def credential_binding(user_id: str, server_key: str) -> bytes:
    """What a user's sealed credentials for a server are bound to: that user and server."""
    return json.dumps(["mcp_credentials", user_id, server_key]).encode()


def kid_of(sealed: str) -> str:
    """The data key a blob is sealed with, or `LEGACY`."""
    if sealed.startswith(_PREFIX):
        return sealed[len(_PREFIX) :].split(".", 1)[0]
    return LEGACY


def _legacy_fernet(material: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"assistant-mcp", info=b"mcp-credentials"
    ).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


class Vault:
    """Seals with the current data key, opens with any (loading unknown ones on demand)."""

    def __init__(
        self, masters: MasterKeys, keys: KeyStore | None = None, *, legacy: Sequence[str] = ()
    ) -> None:
        self.masters = masters
        self.keys: KeyStore = keys if keys is not None else MemoryKeyStore()
        materials = [material for material in legacy if material]
        self._legacy = MultiFernet([_legacy_fernet(m) for m in materials]) if materials else None
        self._secrets: dict[str, AESGCM] = {}

    @classmethod
    def local(cls, *materials: str) -> Vault:
        """A vault on master keys from `materials`, its data keys in memory (tests, probes)."""
        return cls(MasterKeys(*materials))

    async def check(self) -> None:
        """Open every stored data key, and make the first one if there is none (at startup).

        Raises:
            MasterKeyError: the configured master keys do not open a stored data key; nothing
                was changed.
        """
        for key in await self.keys.all_keys():
            self._remember(key)
        await self._current()

    async def add_key(self) -> str:
        """Make a new data key, current from now on in every process; returns its kid."""
        key, secret = new_data_key(self.masters)
        await self.keys.add(key)
        self._secrets[key.kid] = AESGCM(secret)
        return key.kid

    async def seal(self, value: dict[str, Any], bound_to: bytes, *, kid: str | None = None) -> str:
        """`value` as JSON, encrypted and bound to its row, under the current key (or `kid`)."""
        if kid is None:
            kid = await self._current()
        secret = await self._secret(kid)
        if secret is None:
            raise MasterKeyError(f"There is no data key {kid} to seal with.")
        nonce = os.urandom(_NONCE)
        sealed = secret.encrypt(nonce, json.dumps(value).encode(), _aad(kid, bound_to))
        return f"{_PREFIX}{kid}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    async def open(self, sealed: str | None, bound_to: bytes) -> dict[str, Any] | None:
        """What `seal` sealed for this row; None when there is nothing, or it does not open.

        A blob that does not open (another row's, damaged, or under a key that is gone)
        reads as absent: the server lacks its secrets, the user authorizes again.
        """
        if not sealed:
            return None
        kid = kid_of(sealed)
        if kid == LEGACY:
            return self._open_legacy(sealed)
        try:
            secret = await self._secret(kid)
        except MasterKeyError as error:
            logger.error("A sealed secret cannot be opened: %s", error)
            return None
        if secret is None:
            logger.warning("A sealed secret names data key %s, which does not exist", kid)
            return None
        try:
            raw = base64.urlsafe_b64decode(sealed.split(".", 2)[2])
            plain = secret.decrypt(raw[:_NONCE], raw[_NONCE:], _aad(kid, bound_to))
            return json.loads(plain)
        except (InvalidTag, ValueError, IndexError):
            logger.warning(
                "A sealed secret under data key %s does not open for its row: copied from "
                "another row or damaged",
                kid,
            )
            return None

    def _open_legacy(self, sealed: str) -> dict[str, Any] | None:
        if self._legacy is None:
            logger.warning("A sealed secret from before key rings cannot be opened: no old key")
            return None
        try:
            return json.loads(self._legacy.decrypt(sealed.encode()))
        except (InvalidToken, ValueError):
            logger.warning("A sealed secret from before key rings does not open with old keys")
            return None

    async def _current(self) -> str:
        current = await self.keys.current()
        if current is None:
            key, secret = new_data_key(self.masters)
            current = await self.keys.add(key, only_if_none_current=True)
            if current.kid == key.kid:
                self._secrets[key.kid] = AESGCM(secret)
        return current.kid

    async def _secret(self, kid: str) -> AESGCM | None:
        known = self._secrets.get(kid)
        if known is not None:
            return known
        key = await self.keys.key(kid)
        return self._remember(key) if key is not None else None

    def _remember(self, key: DataKey) -> AESGCM:
        secret = AESGCM(self.masters.unwrap(key))
        self._secrets[key.kid] = secret
        return secret


def _aad(kid: str, bound_to: bytes) -> bytes:
    return b"assistant-secret\x00" + kid.encode() + b"\x00" + bound_to
