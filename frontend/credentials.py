"""The orchestrator tokens of each browser session, kept on the server and renewed here.

The browser's cookie names a server-side session; the session names a key in this store,
where the access and refresh tokens live (the same cache as the sessions: files in the data
folder, or Redis). Nothing here ever reaches the page.

Refresh tokens are single-use, and a reused one revokes its whole family, so two requests
of one session that find the access token stale must not both spend the refresh token: a
lock per key lets the first refresh and the others read its result.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict

from cachelib.base import BaseCache

from frontend.upstream import Orchestrator, Tokens, Unauthorized

__all__ = ["Credentials", "SignedOut"]

logger = logging.getLogger(__name__)

# Renew an access token this long before it expires, so that a call never races its end.
_EARLY_SECONDS = 30.0


class SignedOut(Exception):
    """The session has no usable tokens any more: the user must log in again."""


class Credentials:
    """Tokens by opaque key, renewed through the orchestrator when they near their end."""

    def __init__(
        self,
        cache: BaseCache,
        orchestrator: Orchestrator,
        *,
        lifetime_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._cache = cache
        self._orchestrator = orchestrator
        self._lifetime = lifetime_seconds
        self._clock = clock
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _load(self, key: str) -> Tokens:
        stored = self._cache.get(f"tokens:{key}")
        if not isinstance(stored, dict):
            raise SignedOut("The session has ended.")
        return Tokens(**stored)

    def _save(self, key: str, tokens: Tokens) -> None:
        self._cache.set(f"tokens:{key}", asdict(tokens), timeout=self._lifetime)

    def login(self, email: str, password: str) -> str:
        """Log in at the orchestrator; the key that names the tokens from now on.

        Raises:
            Unauthorized: wrong email or password.
            ApiError, Unreachable: the orchestrator refused or did not answer.
        """
        return self.keep(self._orchestrator.login(email, password, self._clock()))

    def keep(self, tokens: Tokens) -> str:
        """Keep tokens got another way (an OIDC login); the key that names them."""
        key = secrets.token_urlsafe(32)
        self._save(key, tokens)
        return key

    def now(self) -> float:
        """This store's clock (token lifetimes are counted on it)."""
        return self._clock()

    def access(self, key: str) -> str:
        """A valid access token for the key, renewed first if it is about to expire.

        Raises:
            SignedOut: no tokens, or the refresh token was refused.
            Unreachable: the orchestrator did not answer.
        """
        tokens = self._load(key)
        if not self._expiring(tokens):
            return tokens.access
        return self._renew(key, self._expiring)

    def _expiring(self, tokens: Tokens) -> bool:
        return tokens.expires_at - _EARLY_SECONDS <= self._clock()

    def renew(self, key: str, refused: str) -> str:
        """A new access token after `refused` was turned down (unless another call renewed it).

        Raises:
            SignedOut, Unreachable: as for `access`.
        """
        return self._renew(key, lambda current: current.access == refused)

    def _renew(self, key: str, stale: Callable[[Tokens], bool]) -> str:
        with self._lock(key):
            tokens = self._load(key)
            if not stale(tokens):
                return tokens.access
            try:
                fresh = self._orchestrator.refresh(tokens.refresh, self._clock())
            except Unauthorized as error:
                self.forget(key)
                raise SignedOut("The session has expired; log in again.") from error
            self._save(key, fresh)
            logger.debug("renewed the access token of a session")
            return fresh.access

    def forget(self, key: str) -> None:
        self._cache.delete(f"tokens:{key}")
        with self._guard:
            self._locks.pop(key, None)
