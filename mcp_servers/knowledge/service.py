"""Knowledge as one service: ingest documents, search them, remember things.

Used by the knowledge MCP server and by the orchestrator's upload route, so that a
document uploaded over HTTP and one added by a tool go through the same steps: extract
the text, chunk it with overlap, embed the chunks (when an embedder is on and the database
has pgvector), store everything in one transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from common.extraction import Extracted, extract
from common.settings import OpenAIAccess
from mcp_servers.knowledge.chunking import chunk_text
from mcp_servers.knowledge.database import has_vectors, open_engine
from mcp_servers.knowledge.embeddings import Embedder, EmbeddingFailed, choose_embedder
from mcp_servers.knowledge.store import DocumentInfo, Hit, KnowledgeStore, MemoryInfo
from mcp_servers.settings import KnowledgeSettings, ServersSettings

__all__ = ["Knowledge", "TooLarge", "knowledge_on", "open_knowledge"]

logger = logging.getLogger(__name__)


class TooLarge(Exception):
    """The document is over KNOWLEDGE_MAX_DOCUMENT_BYTES."""


@dataclass
class Knowledge:
    store: KnowledgeStore
    embedder: Embedder | None
    config: KnowledgeSettings

    @property
    def mode(self) -> str:
        """What search does: "hybrid (model)" or "full-text"."""
        if self.embedder is not None and self.store.vectors:
            return f"hybrid ({self.embedder.name})"
        return "full-text"

    async def _embed(self, texts: list[str]) -> list[list[float]] | None:
        if self.embedder is None or not self.store.vectors or not texts:
            return None
        try:
            return await self.embedder.embed(texts)
        except EmbeddingFailed as error:
            logger.warning("Embedding failed, storing for full-text search only: %s", error)
            return None

    async def ingest(
        self,
        user_id: str,
        data: bytes,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        collection: str = "default",
        title: str | None = None,
        source: str | None = None,
        as_admin: bool = False,
    ) -> DocumentInfo:
        """Add a document (text, Markdown, HTML or PDF) to one of the user's collections.

        Raises:
            TooLarge: over the size limit.
            UnsupportedContent: a kind of file we cannot read, or a damaged PDF.
            NotAllowed: a shared collection, and the caller is not an admin.
        """
        if len(data) > self.config.max_document_bytes:
            raise TooLarge(
                f"The document is {len(data)} bytes; the limit is {self.config.max_document_bytes}."
            )
        document: Extracted = await asyncio.to_thread(
            extract, data, mime_type=mime_type, filename=filename, url=source
        )
        chunks = chunk_text(
            document.text,
            size=self.config.chunk_chars,
            overlap=self.config.overlap_chars,
            markdown=document.kind in ("markdown", "html"),
        )
        pages = [document.page_at(chunk.start) for chunk in chunks] if document.pages else None
        embeddings = await self._embed([chunk.text for chunk in chunks])
        name = title or document.title or filename or (source or "Untitled document")
        return await self.store.add_document(
            user_id,
            collection,
            title=name[:500],
            source=source or filename,
            mime_type=mime_type,
            kind=document.kind,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            content=document.text,
            chunks=chunks,
            pages=pages,
            embeddings=embeddings,
            embedding_model=self.embedder.name
            if embeddings is not None and self.embedder
            else None,
            as_admin=as_admin,
        )

    async def search(
        self,
        user_id: str,
        query: str,
        *,
        collections: Sequence[str] | None = None,
        limit: int = 5,
    ) -> list[Hit]:
        vectors = await self._embed([query])
        return await self.store.search(
            user_id,
            query,
            collections=collections,
            query_vector=vectors[0] if vectors else None,
            model=self.embedder.name if vectors and self.embedder else None,
            limit=limit,
        )

    async def remember(self, user_id: str, text: str, tags: Sequence[str] = ()) -> MemoryInfo:
        vectors = await self._embed([text])
        return await self.store.remember(
            user_id,
            text,
            tags,
            embedding=vectors[0] if vectors else None,
            model=self.embedder.name if vectors and self.embedder else None,
        )

    async def recall(
        self, user_id: str, query: str | None, *, tags: Sequence[str] = (), limit: int = 10
    ) -> list[MemoryInfo]:
        vectors = await self._embed([query]) if query else None
        return await self.store.recall(
            user_id,
            query,
            tags=tags,
            query_vector=vectors[0] if vectors else None,
            model=self.embedder.name if vectors and self.embedder else None,
            limit=limit,
        )


@asynccontextmanager
async def open_knowledge(
    settings: ServersSettings, *, embedder: Embedder | str | None = "configured"
) -> AsyncIterator[Knowledge]:
    """The knowledge service on its database (migrated), with the configured embedder.

    `embedder` replaces the configured one (tests pass one, or None for full-text only).
    """
    core = settings.core
    url = settings.knowledge.database_url or core.database.url
    async with (
        open_engine(url, core.data_dir, migrate=not core.production) as engine,
        knowledge_on(engine, settings.knowledge, core.openai, embedder=embedder) as knowledge,
    ):
        logger.info("Knowledge search: %s", knowledge.mode)
        yield knowledge


@asynccontextmanager
async def knowledge_on(
    engine: AsyncEngine,
    config: KnowledgeSettings,
    openai: OpenAIAccess,
    *,
    embedder: Embedder | str | None = "configured",
) -> AsyncIterator[Knowledge]:
    """The knowledge service on an open engine whose knowledge tables are migrated.

    The embedder is the configured one (KNOWLEDGE_EMBEDDINGS) unless `embedder` gives one;
    a local model loads on its first use. The embedder is closed on exit, the engine not.
    """
    if isinstance(embedder, str):
        key = openai.api_key
        embedder = choose_embedder(
            config.embeddings,
            openai_api_key=key.get_secret_value() if key else None,
            openai_base_url=openai.base_url,
            openai_model=config.openai_model,
        )
    store = KnowledgeStore(
        engine, vectors=await has_vectors(engine), text_search_config=config.text_search_config
    )
    try:
        yield Knowledge(store, embedder, config)
    finally:
        close = getattr(embedder, "close", None)
        if close is not None:
            await close()
