"""Passwords: the rules a new one must meet, and hashing with argon2id off the event loop.

The rules are few and each is said plainly when broken (NIST SP 800-63B's advice): at least
`MIN_PASSWORD_LENGTH` characters, at most `MAX_PASSWORD_LENGTH`, not the account's email
(or the name before its `@`), and not one of the passwords most often found in breaches.
No rules about character classes: they make passwords harder to remember, not to guess.
"""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from orchestrator.domain import InvalidInput

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "check_password",
    "hash_password",
    "verify_password",
]

# OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane): about 60 ms here. The library's
# default (64 MiB, 4 lanes) takes 600 ms on a 2-core machine, a login-flood DoS waiting to
# happen, for little extra strength.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128

# The most common passwords of 8 characters or more in public breach corpora (shorter ones
# are refused by length already). Compared without regard to case.
_COMMON = frozenset(
    """
    password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword
    12345678 123456789 1234567890 0123456789 87654321 987654321 11111111 00000000
    22222222 88888888 12341234 11223344 12344321 123123123 147258369 123456789a
    qwertyui qwertyuiop qwerty12 qwerty123 qwerty1234 1qaz2wsx zaq12wsx 1q2w3e4r
    1q2w3e4r5t q1w2e3r4 qazwsxedc asdfghjk asdfghjkl zxcvbnm1 abcd1234 abc12345
    abcdefgh iloveyou iloveyou1 sunshine princess football baseball superman starwars
    whatever welcome1 welcome123 letmein1 trustno1 changeme changeme1 admin123
    administrator computer internet michelle jennifer master12 dragon12 monkey12
    shadow12 access14 mustang1 liverpool chelsea1 charlie1 jordan23 secret123
    """.split()
)


def check_password(password: str, *, email: str | None = None) -> None:
    """Refuse a new password that breaks a rule, naming the rule.

    Raises:
        InvalidInput: too short, too long, the email (or its name part), or a common one;
            `detail.rule` says which ("min_length", "max_length", "email", "common").
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password needs at least {MIN_PASSWORD_LENGTH} characters "
            f"(it has {len(password)}).",
            detail={"rule": "min_length", "min_length": MIN_PASSWORD_LENGTH},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password can have at most {MAX_PASSWORD_LENGTH} characters.",
            detail={"rule": "max_length", "max_length": MAX_PASSWORD_LENGTH},
        )
    folded = password.strip().casefold()
    if email:
        address = email.strip().casefold()
        if folded in {address, address.partition("@")[0]}:
            raise InvalidInput(
                "The password cannot be your email address or the name before its @.",
                detail={"rule": "email"},
            )
    if folded in _COMMON:
        raise InvalidInput(
            "This password is one of the most common ones, which are tried first: choose another.",
            detail={"rule": "common"},
        )


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
