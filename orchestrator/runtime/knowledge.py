"""Knowledge in the orchestrator: the knowledge MCP server's service on the orchestrator's DB.

A document uploaded over HTTP, or a text-like file attached to a message, goes through the
same ingestion as the knowledge server's `add_document` tool (extract, chunk with overlap,
embed where on, store), run in this process. This module is the runtime's one door into
`mcp_servers` (an import-linter contract keeps it so): the composition root opens the
service here at startup, and `KnowledgeBase` turns the service's errors into the domain's,
so that routes depend on neither `mcp_servers` nor its exceptions.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from common.extraction import UnsupportedContent
from mcp_servers.knowledge import (
    CollectionInfo,
    DocumentInfo,
    Hit,
    Knowledge,
    NotAllowed,
    NotFoundError,
    TooLarge,
    knowledge_on,
)
from mcp_servers.knowledge.database import KNOWLEDGE_SCHEMA
from mcp_servers.settings import KnowledgeSettings
from orchestrator.domain import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge

if TYPE_CHECKING:
    from orchestrator.domain import StoredFile
    from orchestrator.settings import Settings

__all__ = ["KnowledgeBase", "open_knowledge_base"]

logger = logging.getLogger(__name__)


class KnowledgeBase:
    """The users' documents and collections, as the API serves them.

    Every method raises the domain's errors (mapped to HTTP by `api/errors.py`), never the
    knowledge service's own.
    """

    def __init__(self, knowledge: Knowledge) -> None:
        self._knowledge = knowledge

    @property
    def mode(self) -> str:
        """What search does: "hybrid (model)" or "full-text"."""
        return self._knowledge.mode

    async def ingest(
        self,
        user_id: str,
        data: bytes,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        collection: str = "default",
        title: str | None = None,
        as_admin: bool = False,
    ) -> DocumentInfo:
        """Add a document (text, Markdown, HTML or PDF) to one of the user's collections.

        Raises:
            PayloadTooLarge: over KNOWLEDGE_MAX_DOCUMENT_BYTES.
            InvalidInput: a kind of file the service cannot read, or a damaged PDF.
            Forbidden: a shared collection, and the caller is not an admin.
        """
        try:
            return await self._knowledge.ingest(
                user_id,
                data,
                filename=filename,
                mime_type=mime_type,
                collection=collection,
                title=title,
                as_admin=as_admin,
            )
        except TooLarge as error:
            raise PayloadTooLarge(str(error)) from error
        except UnsupportedContent as error:
            raise InvalidInput(str(error)) from error
        except NotAllowed as error:
            raise Forbidden(str(error)) from error

    async def index_file(
        self, user_id: str, file: StoredFile, data: bytes, *, collection: str
    ) -> str | None:
        """Add an attached file to the user's `collection`, returning its document id.

        None (logged) when the file is too large or not a kind of document the service reads.
        """
        try:
            document = await self._knowledge.ingest(
                user_id,
                data,
                filename=file.name,
                mime_type=file.content_type,
                collection=collection,
                title=file.name,
            )
        except (UnsupportedContent, TooLarge) as error:
            logger.info("File %s was not indexed: %s", file.id, error)
            return None
        return document.id

    async def search(
        self,
        user_id: str,
        query: str,
        *,
        collections: Sequence[str] | None = None,
        limit: int = 5,
    ) -> list[Hit]:
        """The passages of the user's (and shared) documents that best match `query`."""
        return await self._knowledge.search(user_id, query, collections=collections, limit=limit)

    async def documents(
        self, user_id: str, *, collection: str | None, limit: int, offset: int
    ) -> list[DocumentInfo]:
        """The user's documents (and shared ones), newest first, one page of them."""
        return await self._knowledge.store.documents(
            user_id, collection=collection, limit=limit, offset=offset
        )

    async def delete_document(
        self, user_id: str, document_id: str, *, as_admin: bool = False
    ) -> None:
        """Delete a document and its chunks.

        Raises:
            NotFound: no such document, or it is someone else's.
            Forbidden: a shared document, and the caller is not an admin.
        """
        try:
            await self._knowledge.store.delete_document(user_id, document_id, as_admin=as_admin)
        except NotFoundError as error:
            raise NotFound(str(error)) from error
        except NotAllowed as error:
            raise Forbidden(str(error)) from error

    async def collections(self, user_id: str) -> list[CollectionInfo]:
        """The user's collections and the shared ones, with their document counts."""
        return await self._knowledge.store.collections(user_id)

    async def create_collection(
        self, owner_id: str | None, name: str, description: str
    ) -> CollectionInfo:
        """Create a collection of `owner_id`'s, or a shared one when it is None.

        Raises:
            Conflict: the name is taken.
        """
        try:
            return await self._knowledge.store.create_collection(owner_id, name, description)
        except ValueError as error:
            raise Conflict(str(error)) from error


@asynccontextmanager
async def open_knowledge_base(
    settings: Settings, engine: AsyncEngine, url: str, *, migrate: bool
) -> AsyncGenerator[KnowledgeBase]:
    """The knowledge service on the orchestrator's database, its tables migrated when `migrate`.

    Built as the knowledge server builds it (`knowledge_on`): the local embedding model loads
    on its first use, not here, so opening costs two queries.
    """
    if migrate and await KNOWLEDGE_SCHEMA.upgrade(url, engine):
        logger.info("Knowledge tables upgraded to %s", KNOWLEDGE_SCHEMA.head())
    async with knowledge_on(engine, KnowledgeSettings(), settings.openai) as knowledge:
        yield KnowledgeBase(knowledge)
