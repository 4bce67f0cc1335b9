"""The admin account created on a fresh database, so that someone can log in at all."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from orchestrator.auth.service import AuthService

__all__ = ["FirstAdmin", "ensure_first_admin"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FirstAdmin:
    """The admin account created on first start.

    `password` and `password_file` are set only for a generated password (then written to that
    file); None when the operator chose it.
    """

    email: str
    password: str | None
    password_file: Path | None


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


async def ensure_first_admin(
    auth: AuthService, data_dir: Path, *, email: str | None, password: str | None
) -> FirstAdmin | None:
    """Create the first admin when there are no users; None when users exist.

    With `email` and `password` (ASSISTANT_ADMIN_EMAIL / _PASSWORD) those are used.
    Otherwise the admin is `admin@localhost` with a random password, written to a file
    only the owner can read, so that it is shown once and never lost.

    Raises:
        InvalidInput: the chosen password breaks a password rule.
    """
    if await auth.users.count() > 0:
        return None
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    email = email or "admin@localhost"
    await auth.create_user(email, password, is_admin=True)
    if not generated:
        return FirstAdmin(email=email, password=None, password_file=None)
    path = data_dir / "initial-admin-password"
    await asyncio.to_thread(_write_private, path, f"{email}\n{password}\n")
    logger.info("Created the first admin %s; password in %s", email, path)
    return FirstAdmin(email=email, password=password, password_file=path)
