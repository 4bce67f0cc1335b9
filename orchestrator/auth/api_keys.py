"""API keys: `sk-asst-...` secrets shown once, stored as SHA-256 digests.

The keys carry 256 random bits, so a fast digest is safe (no offline guessing); argon2 is
for passwords, which people choose.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["KEY_PREFIX", "digest", "new_key"]

KEY_PREFIX = "sk-asst-"


def new_key() -> tuple[str, str, str]:
    """A new key: (secret, display prefix, digest)."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, secret[: len(KEY_PREFIX) + 6], digest(secret)


def digest(secret: str) -> str:
    """The SHA-256 hex digest a key is stored and looked up by."""
    return hashlib.sha256(secret.encode()).hexdigest()
