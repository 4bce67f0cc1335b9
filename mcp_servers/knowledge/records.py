"""What the knowledge store returns and raises: collections, documents, hits, memories."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "CollectionInfo",
    "DocumentInfo",
    "Hit",
    "MemoryInfo",
    "NotAllowed",
    "NotFoundError",
    "document_from_row",
    "parse_id",
]


class NotFoundError(Exception):
    """No such row for this user (it may exist for someone else)."""


class NotAllowed(Exception):
    """The user may read this but not change it (a shared collection)."""


@dataclass(frozen=True)
class CollectionInfo:
    """A collection the user can read (`shared`: everyone's, managed by admins)."""

    id: str
    name: str
    description: str
    shared: bool
    documents: int = 0


@dataclass(frozen=True)
class DocumentInfo:
    """A stored document, without its text (`duplicate`: the same content was there)."""

    id: str
    collection: str
    title: str
    source: str | None
    mime_type: str | None
    kind: str
    size_bytes: int
    chunk_count: int
    created_at: datetime
    shared: bool = False
    duplicate: bool = False


@dataclass(frozen=True)
class Hit:
    """A chunk found by search, where it sits in its document, and which ranking found it."""

    chunk_id: int
    document_id: str
    title: str
    source: str | None
    collection: str
    position: int
    char_start: int
    char_end: int
    page: int | None
    section: str | None
    text: str
    score: float
    matched_by: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        """The chunk's resource address, for citing it."""
        return f"knowledge://documents/{self.document_id}#chunk={self.position}"


@dataclass(frozen=True)
class MemoryInfo:
    """Something remembered for a user (`score`: how well it matched a query)."""

    id: str
    text: str
    tags: list[str]
    created_at: datetime
    score: float | None = None


def parse_id(value: str) -> uuid.UUID:
    """A row id given by a caller; one that is not a UUID names no row.

    Raises:
        NotFoundError: not a UUID.
    """
    try:
        return uuid.UUID(value)
    except ValueError as error:
        raise NotFoundError(f"No such id: {value!r}.") from error


def document_from_row(row: Any) -> DocumentInfo:
    """A `DocumentInfo` from a row of the documents joined with their collection."""
    return DocumentInfo(
        id=str(row.id),
        collection=row.collection,
        title=row.title,
        source=row.source,
        mime_type=row.mime_type,
        kind=row.kind,
        size_bytes=row.size_bytes,
        chunk_count=row.chunk_count,
        created_at=row.created_at,
        shared=row.shared,
    )
