"""The knowledge tables: collections, documents, chunks and memories, scoped to a user.

Every read takes the user and only ever sees that user's collections plus the shared ones
(owner NULL, created by an admin through the orchestrator API); every write takes the user
and only touches that user's rows, unless the caller says it acts as an admin. A row that
exists but belongs to someone else is reported as missing.

Search ranks with full-text and, where pgvector and an embedder are on, vectors
(`search.py`); the types returned and raised are in `records.py`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import Text

from mcp_servers.knowledge.chunking import Chunk
from mcp_servers.knowledge.records import (
    CollectionInfo,
    DocumentInfo,
    Hit,
    MemoryInfo,
    NotAllowed,
    NotFoundError,
    document_from_row,
    parse_id,
)
from mcp_servers.knowledge.search import (
    MODEL_NAME,
    recall_memories,
    search_chunks,
    vector_literal,
)

__all__ = [
    "CollectionInfo",
    "DocumentInfo",
    "Hit",
    "KnowledgeStore",
    "MemoryInfo",
    "NotAllowed",
    "NotFoundError",
]


class KnowledgeStore:
    """The knowledge tables, read and written on behalf of one user at a time.

    Args:
        engine: The knowledge database.
        vectors: Whether the database has pgvector (embeddings are stored and searched).
        text_search_config: PostgreSQL's text search configuration, such as "english".

    Raises:
        ValueError: `text_search_config` is not a configuration's name.
    """

    def __init__(self, engine: AsyncEngine, *, vectors: bool, text_search_config: str) -> None:
        if not re.match(r"^[a-z_]+$", text_search_config):
            raise ValueError(f"Not a text search configuration: {text_search_config!r}")
        self.engine = engine
        self.vectors = vectors
        self._cfg = text_search_config

    # -- collections ---------------------------------------------------------------------

    async def collections(self, user_id: str) -> list[CollectionInfo]:
        """The user's collections and the shared ones, with document counts."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT c.id, c.name, c.description, c.owner_id IS NULL AS shared, "
                    "(SELECT count(*) FROM kb_documents d WHERE d.collection_id = c.id) AS n "
                    "FROM kb_collections c WHERE c.owner_id = :user OR c.owner_id IS NULL "
                    "ORDER BY shared, c.name"
                ),
                {"user": user_id},
            )
            return [CollectionInfo(str(r.id), r.name, r.description, r.shared, r.n) for r in rows]

    async def create_collection(
        self, owner_id: str | None, name: str, description: str = ""
    ) -> CollectionInfo:
        """A new collection of `owner_id`, or a shared one when None (admins only).

        Raises:
            ValueError: the name is taken.
        """
        new_id = uuid.uuid4()
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    text(
                        "INSERT INTO kb_collections (id, owner_id, name, description) "
                        "VALUES (:id, :owner, :name, :description)"
                    ),
                    {"id": new_id, "owner": owner_id, "name": name, "description": description},
                )
        except IntegrityError as error:
            raise ValueError(f"A collection named {name!r} already exists.") from error
        return CollectionInfo(str(new_id), name, description, owner_id is None)

    async def _collection_for_write(
        self, conn: AsyncConnection, user_id: str, name: str, *, as_admin: bool, create: bool
    ) -> tuple[uuid.UUID, bool]:
        own = (
            await conn.execute(
                text("SELECT id FROM kb_collections WHERE owner_id = :user AND name = :name"),
                {"user": user_id, "name": name},
            )
        ).scalar()
        if own is not None:
            return own, False
        shared = (
            await conn.execute(
                text("SELECT id FROM kb_collections WHERE owner_id IS NULL AND name = :name"),
                {"name": name},
            )
        ).scalar()
        if shared is not None:
            if not as_admin:
                raise NotAllowed(f"{name!r} is a shared collection; only an admin can change it.")
            return shared, True
        if not create:
            raise NotFoundError(f"No collection named {name!r}.")
        new_id = uuid.uuid4()
        await conn.execute(
            text(
                "INSERT INTO kb_collections (id, owner_id, name) VALUES (:id, :owner, :name) "
                "ON CONFLICT DO NOTHING"
            ),
            {"id": new_id, "owner": user_id, "name": name},
        )
        found = (
            await conn.execute(
                text("SELECT id FROM kb_collections WHERE owner_id = :user AND name = :name"),
                {"user": user_id, "name": name},
            )
        ).scalar()
        if found is None:  # unreachable: inserted or already there a moment ago
            raise NotFoundError(f"No collection named {name!r}.")
        return found, False

    async def readable_collection_ids(
        self, user_id: str, names: Sequence[str] | None = None
    ) -> list[uuid.UUID]:
        """Ids of the user's and the shared collections (only those named, if given).

        Raises:
            NotFoundError: a named collection the user cannot read.
        """
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT id, name FROM kb_collections "
                        "WHERE owner_id = :user OR owner_id IS NULL"
                    ),
                    {"user": user_id},
                )
            ).all()
        if names is None:
            return [row.id for row in rows]
        by_name: dict[str, list[uuid.UUID]] = {}
        for row in rows:
            by_name.setdefault(row.name, []).append(row.id)
        missing = [name for name in names if name not in by_name]
        if missing:
            raise NotFoundError(f"No collection named {missing[0]!r}.")
        return [cid for name in names for cid in by_name[name]]

    # -- documents -----------------------------------------------------------------------

    async def add_document(
        self,
        user_id: str,
        collection: str,
        *,
        title: str,
        source: str | None,
        mime_type: str | None,
        kind: str,
        size_bytes: int,
        sha256: str,
        content: str,
        chunks: Sequence[Chunk],
        pages: Sequence[int | None] | None = None,
        embeddings: Sequence[Sequence[float]] | None = None,
        embedding_model: str | None = None,
        as_admin: bool = False,
    ) -> DocumentInfo:
        """Store a document and its chunks; the same content twice in a collection is kept once.

        Raises:
            NotAllowed: writing to a shared collection without being an admin.
        """
        use_vectors = self.vectors and embeddings is not None and embedding_model is not None
        if use_vectors and not MODEL_NAME.match(embedding_model or ""):
            raise ValueError(f"Not a model name: {embedding_model!r}")
        async with self.engine.begin() as conn:
            collection_id, _shared = await self._collection_for_write(
                conn, user_id, collection, as_admin=as_admin, create=True
            )
            existing = (
                await conn.execute(
                    text(
                        "SELECT id FROM kb_documents WHERE collection_id = :c AND sha256 = :sha "
                        "LIMIT 1"
                    ),
                    {"c": collection_id, "sha": sha256},
                )
            ).scalar()
            if existing is not None:
                info = await self._document_info(conn, existing)
                return DocumentInfo(**{**info.__dict__, "duplicate": True})
            document_id = uuid.uuid4()
            await conn.execute(
                text(
                    "INSERT INTO kb_documents (id, collection_id, title, source, mime_type, kind, "
                    "size_bytes, sha256, content, chunk_count, created_by) VALUES (:id, :c, "
                    ":title, :source, :mime, :kind, :size, :sha, :content, :n, :by)"
                ),
                {
                    "id": document_id,
                    "c": collection_id,
                    "title": title,
                    "source": source,
                    "mime": mime_type,
                    "kind": kind,
                    "size": size_bytes,
                    "sha": sha256,
                    "content": content,
                    "n": len(chunks),
                    "by": user_id,
                },
            )
            rows = [
                {
                    "doc": document_id,
                    "c": collection_id,
                    "pos": chunk.position,
                    "start": chunk.start,
                    "end": chunk.end,
                    "page": pages[i] if pages else None,
                    "section": chunk.section,
                    "text": chunk.text,
                    "cfg": self._cfg,
                    **(
                        {"emb": vector_literal(embeddings[i]), "model": embedding_model}
                        if use_vectors and embeddings is not None
                        else {}
                    ),
                }
                for i, chunk in enumerate(chunks)
            ]
            if rows:
                vector_columns = ", embedding, embedding_model" if use_vectors else ""
                vector_values = ", CAST(:emb AS vector), :model" if use_vectors else ""
                await conn.execute(
                    text(
                        "INSERT INTO kb_chunks (document_id, collection_id, position, char_start, "  # noqa: S608 - only checked identifiers
                        f"char_end, page, section, text, tsv{vector_columns}) VALUES (:doc, :c, "
                        ":pos, :start, :end, :page, :section, :text, "
                        f"to_tsvector(CAST(:cfg AS regconfig), :text){vector_values})"
                    ),
                    rows,
                )
            return await self._document_info(conn, document_id)

    async def _document_info(self, conn: AsyncConnection, document_id: Any) -> DocumentInfo:
        row = (
            await conn.execute(
                text(
                    "SELECT d.id, c.name AS collection, d.title, d.source, d.mime_type, d.kind, "
                    "d.size_bytes, d.chunk_count, d.created_at, c.owner_id IS NULL AS shared "
                    "FROM kb_documents d JOIN kb_collections c ON c.id = d.collection_id "
                    "WHERE d.id = :id"
                ),
                {"id": document_id},
            )
        ).one()
        return document_from_row(row)

    async def documents(
        self, user_id: str, *, collection: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[DocumentInfo]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT d.id, c.name AS collection, d.title, d.source, d.mime_type, d.kind, "
                    "d.size_bytes, d.chunk_count, d.created_at, c.owner_id IS NULL AS shared "
                    "FROM kb_documents d JOIN kb_collections c ON c.id = d.collection_id "
                    "WHERE (c.owner_id = :user OR c.owner_id IS NULL) "
                    "AND (CAST(:collection AS text) IS NULL OR c.name = :collection) "
                    "ORDER BY d.created_at DESC, d.id LIMIT :limit OFFSET :offset"
                ),
                {"user": user_id, "collection": collection, "limit": limit, "offset": offset},
            )
            return [document_from_row(row) for row in rows]

    async def document(self, user_id: str, document_id: str) -> tuple[DocumentInfo, str]:
        """A readable document and its text.

        Raises:
            NotFoundError: no such document for this user.
        """
        parsed = parse_id(document_id)
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT d.id, c.name AS collection, d.title, d.source, d.mime_type, "
                        "d.kind, d.size_bytes, d.chunk_count, d.created_at, "
                        "c.owner_id IS NULL AS shared, d.content "
                        "FROM kb_documents d JOIN kb_collections c ON c.id = d.collection_id "
                        "WHERE d.id = :id AND (c.owner_id = :user OR c.owner_id IS NULL)"
                    ),
                    {"id": parsed, "user": user_id},
                )
            ).one_or_none()
        if row is None:
            raise NotFoundError(f"No document {document_id}.")
        return document_from_row(row), row.content

    async def delete_document(self, user_id: str, document_id: str, *, as_admin: bool = False):
        """Raises NotFoundError (not the user's) or NotAllowed (shared, not an admin)."""
        parsed = parse_id(document_id)
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT c.owner_id FROM kb_documents d JOIN kb_collections c "
                        "ON c.id = d.collection_id WHERE d.id = :id "
                        "AND (c.owner_id = :user OR c.owner_id IS NULL)"
                    ),
                    {"id": parsed, "user": user_id},
                )
            ).one_or_none()
            if row is None:
                raise NotFoundError(f"No document {document_id}.")
            if row.owner_id is None and not as_admin:
                raise NotAllowed(
                    "The document is in a shared collection; only an admin can delete it."
                )
            await conn.execute(text("DELETE FROM kb_documents WHERE id = :id"), {"id": parsed})

    # -- search --------------------------------------------------------------------------

    async def search(
        self,
        user_id: str,
        query: str,
        *,
        collections: Sequence[str] | None = None,
        query_vector: Sequence[float] | None = None,
        model: str | None = None,
        limit: int = 5,
    ) -> list[Hit]:
        """The best chunks for `query` among the user's readable collections."""
        collection_ids = await self.readable_collection_ids(user_id, collections)
        if not collection_ids:
            return []
        async with self.engine.connect() as conn:
            return await search_chunks(
                conn,
                collection_ids,
                query,
                cfg=self._cfg,
                vectors=self.vectors,
                query_vector=query_vector,
                model=model,
                limit=limit,
            )

    # -- memories ------------------------------------------------------------------------

    async def remember(
        self,
        user_id: str,
        memory: str,
        tags: Sequence[str],
        *,
        embedding: Sequence[float] | None = None,
        model: str | None = None,
    ) -> MemoryInfo:
        new_id = uuid.uuid4()
        use_vector = self.vectors and embedding is not None and model is not None
        columns = ", embedding, embedding_model" if use_vector else ""
        values = ", CAST(:emb AS vector), :model" if use_vector else ""
        params: dict[str, Any] = {
            "id": new_id,
            "user": user_id,
            "text": memory,
            "tags": list(tags),
            "cfg": self._cfg,
        }
        if use_vector and embedding is not None:
            params |= {"emb": vector_literal(embedding), "model": model}
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    text(
                        f"INSERT INTO kb_memories (id, owner_id, text, tags, tsv{columns}) VALUES "  # noqa: S608 - only checked identifiers
                        f"(:id, :user, :text, :tags, to_tsvector(CAST(:cfg AS regconfig), :text)"
                        f"{values}) RETURNING created_at"
                    ).bindparams(bindparam("tags", type_=ARRAY(Text()))),
                    params,
                )
            ).one()
        return MemoryInfo(str(new_id), memory, list(tags), row.created_at)

    async def recall(
        self,
        user_id: str,
        query: str | None,
        *,
        tags: Sequence[str] = (),
        query_vector: Sequence[float] | None = None,
        model: str | None = None,
        limit: int = 10,
    ) -> list[MemoryInfo]:
        """The user's memories best matching `query` (the newest ones without a query)."""
        async with self.engine.connect() as conn:
            return await recall_memories(
                conn,
                user_id,
                query,
                tags=tags,
                cfg=self._cfg,
                vectors=self.vectors,
                query_vector=query_vector,
                model=model,
                limit=limit,
            )

    async def forget(self, user_id: str, memory_id: str) -> None:
        """Raises NotFoundError when the user has no such memory."""
        parsed = parse_id(memory_id)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                text("DELETE FROM kb_memories WHERE id = :id AND owner_id = :user"),
                {"id": parsed, "user": user_id},
            )
        if result.rowcount == 0:
            raise NotFoundError(f"No memory {memory_id}.")
