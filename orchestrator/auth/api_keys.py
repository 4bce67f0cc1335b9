"""API keys: `sk-asst-...` secrets shown once, stored as SHA-256 digests, checked here.

The keys carry 256 random bits, so a fast digest is safe (no offline guessing); argon2 is
for passwords, which people choose.

`KeyChecker` turns a presented key into its stored record and owner. A lookup is kept for
`recheck_seconds` (5 by default): a key deleted on any replica stops working everywhere
within that bound, and at once on the replica that deleted it. Expiry is checked on every
use against the cached record, so a key stops at its `expires_at` to the second. The key's
`last_used_at` is written at most once per `stamp_every` (a minute), by this process and,
through a condition in the UPDATE, by all replicas together: no write per request.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import UTC, datetime, timedelta

from orchestrator.domain import Unauthorized
from orchestrator.store import ApiKeyRecord, SqlUserStore, UserRecord

__all__ = ["KEY_PREFIX", "KeyChecker", "digest", "new_key"]

KEY_PREFIX = "sk-asst-"

_CACHE_SIZE = 10_000


def new_key() -> tuple[str, str, str]:
    """A new key: (secret, display prefix, digest)."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, secret[: len(KEY_PREFIX) + 6], digest(secret)


def digest(secret: str) -> str:
    """The SHA-256 hex digest a key is stored and looked up by."""
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyChecker:
    """Looks keys up (cached for `recheck_seconds`), refuses expired ones, stamps their use."""

    def __init__(
        self, users: SqlUserStore, *, recheck_seconds: float, stamp_every: float = 60.0
    ) -> None:
        self._users = users
        self._recheck = recheck_seconds
        self._stamp_every = stamp_every
        self._found: dict[str, tuple[ApiKeyRecord, UserRecord, float]] = {}
        self._stamped: dict[str, float] = {}

    async def check(self, secret: str) -> tuple[ApiKeyRecord, UserRecord]:
        """The key and its owner (as stored at most `recheck_seconds` ago).

        Raises:
            Unauthorized: no such key (or deleted), or it has expired.
        """
        key_hash = digest(secret)
        now = time.monotonic()
        cached = self._found.get(key_hash)
        if cached is not None and cached[2] > now:
            key, owner = cached[0], cached[1]
        else:
            found = await self._users.key_and_owner(key_hash)
            if found is None:
                self._found.pop(key_hash, None)
                raise Unauthorized("The API key is not valid.")
            key, owner = found
            if len(self._found) >= _CACHE_SIZE:
                self._found.clear()
            self._found[key_hash] = (key, owner, now + self._recheck)
        if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
            when = key.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise Unauthorized(
                f"The API key expired on {when}.",
                detail={"expired_at": key.expires_at.isoformat()},
            )
        await self._stamp(key.id, now)
        return key, owner

    async def _stamp(self, key_id: str, now: float) -> None:
        last = self._stamped.get(key_id)
        if last is not None and now - last < self._stamp_every:
            return
        if len(self._stamped) >= _CACHE_SIZE:
            self._stamped.clear()
        self._stamped[key_id] = now
        await self._users.stamp_key_used(key_id, every=timedelta(seconds=self._stamp_every))

    def forget(self, *, key_hash: str | None = None, user_id: str | None = None) -> None:
        """Drop cached lookups: one key's, or every key of a user's."""
        if key_hash is not None:
            self._found.pop(key_hash, None)
        if user_id is not None:
            for stale in [h for h, (key, _, _) in self._found.items() if key.user_id == user_id]:
                self._found.pop(stale, None)
