"""Sealing secrets at rest: OAuth tokens and the secret parts of server configurations.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key that is either
`MCP_TOKEN_KEY` (any string; several, comma-separated, to rotate: the first seals, all
open) or derived from the JWT secret with HKDF, so a local run needs no extra setting.
A value that no key opens reads as absent: the user authorizes again.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["Vault"]

logger = logging.getLogger(__name__)


def _fernet(material: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"assistant-mcp", info=b"mcp-credentials"
    ).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


class Vault:
    """Seals and opens secrets with the first of its keys (opens with any).

    Raises:
        ValueError: no key was given.
    """

    def __init__(self, *materials: str) -> None:
        keys = [material for material in materials if material]
        if not keys:
            raise ValueError("the vault needs a key")
        self._fernet = MultiFernet([_fernet(material) for material in keys])

    @classmethod
    def from_settings(cls, token_key: str | None, jwt_secret: str) -> Vault:
        """The vault for `MCP_TOKEN_KEY` (comma-separated keys), else for the JWT secret."""
        if token_key:
            return cls(*(part.strip() for part in token_key.split(",")))
        return cls(jwt_secret)

    def seal(self, value: dict[str, Any]) -> str:
        """`value` as JSON, encrypted and authenticated."""
        return self._fernet.encrypt(json.dumps(value).encode()).decode()

    def open(self, sealed: str | None) -> dict[str, Any] | None:
        """What `seal` sealed; None when there is nothing, or no key opens it."""
        if not sealed:
            return None
        try:
            return json.loads(self._fernet.decrypt(sealed.encode()))
        except (InvalidToken, ValueError):
            logger.warning("A sealed MCP credential cannot be opened with the current key")
            return None
