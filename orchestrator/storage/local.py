"""Files' bytes in a local folder (`STORAGE_DIR`, by default `data/files`).

An upload is written to `.incoming/` beside the files and renamed into place on commit, so
a file is either whole under its key or not there at all. Whatever a crash leaves in
`.incoming/` is swept when the storage opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from orchestrator.domain import NotFound

__all__ = ["LocalStorage"]

logger = logging.getLogger(__name__)

_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
_CHUNK = 256 * 1024
INCOMING = ".incoming"


def _checked(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class _LocalUpload:
    def __init__(self, file: BinaryIO, draft: Path, target: Path) -> None:
        self._file = file
        self._draft = draft
        self._target = target
        self._done = False

    async def write(self, data: bytes) -> None:
        await asyncio.to_thread(self._file.write, data)

    async def commit(self) -> None:
        def finish() -> None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._draft, self._target)

        await asyncio.to_thread(finish)
        self._done = True

    async def abort(self) -> None:
        if self._done:
            return
        self._done = True
        # Not in a thread: an abort runs while a cancelled request unwinds, and must finish.
        self._file.close()
        self._draft.unlink(missing_ok=True)


class LocalStorage:
    """`BlobStorage` in a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._incoming = root / INCOMING

    def open(self, *, stale_after: float = 3600.0) -> None:
        """Create the folders and remove uploads a crash left behind."""
        self._incoming.mkdir(parents=True, exist_ok=True, mode=0o700)
        cutoff = time.time() - stale_after
        for leftover in self._incoming.iterdir():
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    logger.info("Removed an unfinished upload: %s", leftover.name)

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    async def begin(self, key: str, content_type: str = "") -> _LocalUpload:
        """Start an upload to a fresh file in `.incoming/`; `content_type` is not kept.

        Raises:
            ValueError: `key` is not a storage key (letters, digits, `_`, `-` and `/` only).
        """
        target = self._path(key)
        draft = self._incoming / f"{uuid.uuid4().hex}.part"
        self._incoming.mkdir(parents=True, exist_ok=True, mode=0o700)
        file = await asyncio.to_thread(draft.open, "xb")
        return _LocalUpload(file, draft, target)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        """The file's bytes in 256 KiB chunks, read in a worker thread.

        Raises:
            NotFound: there is no file under `key`.
        """
        path = self._path(key)
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise NotFound("The file's content is gone from storage.") from None
        try:
            while chunk := await asyncio.to_thread(file.read, _CHUNK):
                yield chunk
        finally:
            file.close()

    async def delete(self, key: str) -> None:
        """Remove the file under `key`; nothing happens when there is none."""
        await asyncio.to_thread(self._path(key).unlink, True)
