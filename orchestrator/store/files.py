"""Attached files' records in PostgreSQL (their bytes are in object storage)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.domain import NotFound, StoredFile
from orchestrator.store.schema import files

__all__ = ["SqlFileStore"]

_GONE = "No such file."


def _file(row: Any) -> StoredFile:
    return StoredFile(
        id=str(row.id),
        user_id=str(row.user_id),
        name=row.name,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        created_at=row.created_at,
        document_id=row.document_id,
    )


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound(_GONE) from None


class SqlFileStore:
    """The `files` table: each file is its owner's alone; others get `NotFound`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(
        self, file_id: str, user_id: str, *, name: str, content_type: str, size: int, sha256: str
    ) -> StoredFile:
        """Record an uploaded file (its bytes already stored under `file_id`)."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    insert(files)
                    .values(
                        id=file_id,
                        user_id=user_id,
                        name=name,
                        content_type=content_type,
                        size=size,
                        sha256=sha256,
                    )
                    .returning(files)
                )
            ).one()
        return _file(row)

    async def get(self, user_id: str, file_id: str) -> StoredFile:
        """One of the user's files.

        Raises:
            NotFound: no such file, or someone else's.
        """
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(files).where(files.c.id == _uuid(file_id), files.c.user_id == user_id)
                )
            ).one_or_none()
        if row is None:
            raise NotFound(_GONE)
        return _file(row)

    async def get_many(self, user_id: str, file_ids: list[str]) -> list[StoredFile]:
        """The files in the order asked, each once.

        Raises:
            NotFound: one of them is not the user's (naming which).
        """
        wanted = list(dict.fromkeys(_uuid(file_id) for file_id in file_ids))
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(files).where(files.c.id.in_(wanted), files.c.user_id == user_id)
                )
            ).all()
        found = {str(row.id): _file(row) for row in rows}
        missing = [file_id for file_id in wanted if file_id not in found]
        if missing:
            raise NotFound(
                f"No such file: {', '.join(missing)}. Upload it with POST /api/v1/files first.",
                detail={"missing": missing},
            )
        return [found[file_id] for file_id in wanted]

    async def by_id(self, file_id: str) -> StoredFile | None:
        """Whoever's it is (for a message that already names it)."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(files).where(files.c.id == _uuid(file_id)))
            ).one_or_none()
        return _file(row) if row is not None else None

    async def list(self, user_id: str, *, limit: int, offset: int) -> list[StoredFile]:
        """A page of the user's files, newest first."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(files)
                    .where(files.c.user_id == user_id)
                    .order_by(files.c.created_at.desc(), files.c.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
        return [_file(row) for row in rows]

    async def remove(self, user_id: str, file_id: str) -> StoredFile:
        """Forget one of the user's files and return its record (to delete its bytes).

        Raises:
            NotFound: no such file, or someone else's.
        """
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    delete(files)
                    .where(files.c.id == _uuid(file_id), files.c.user_id == user_id)
                    .returning(files)
                )
            ).one_or_none()
        if row is None:
            raise NotFound(_GONE)
        return _file(row)

    async def set_document(self, file_id: str, document_id: str) -> None:
        """Link the file to the knowledge document made from it."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(files).where(files.c.id == file_id).values(document_id=document_id)
            )
