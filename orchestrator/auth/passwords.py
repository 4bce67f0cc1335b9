"""Password hashing with argon2id, off the event loop."""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["hash_password", "verify_password"]

# OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): about 60 ms here. The library's
# default (64 MiB, 4 lanes) takes 600 ms on a 2-core machine, a login-flood DoS waiting to
# happen, for little extra strength.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

MIN_PASSWORD_LENGTH = 8


async def hash_password(password: str) -> str:
    """An argon2id hash of `password`, computed in a worker thread."""
    return await asyncio.to_thread(_HASHER.hash, password)


@cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so that both paths take as long."""
    return _HASHER.hash("not-a-real-password")


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`; False when there is no hash.

    A missing hash is checked against a dummy one, so an unknown user takes as long to refuse as
    a wrong password.
    """

    def verify() -> bool:
        try:
            return (
                _HASHER.verify(password_hash or _dummy_hash(), password)
                and password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)
