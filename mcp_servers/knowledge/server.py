"""The knowledge server: search the user's documents, add to them, and long-term memory.

Documents are also MCP resources (`knowledge://documents/{id}`), listed per user.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import mcp_types as types
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from pydantic import Field

from common.extraction import UnsupportedContent
from mcp_servers.identity import current_caller, require_user
from mcp_servers.knowledge.service import Knowledge, TooLarge, open_knowledge
from mcp_servers.knowledge.store import DocumentInfo, Hit, NotAllowed, NotFoundError
from mcp_servers.server import DESTRUCTIVE, READ_ONLY, OurServer, resolver_for
from mcp_servers.settings import ServersSettings

__all__ = ["NAME", "KnowledgeServer", "build_server"]

NAME = "knowledge"
_INSTRUCTIONS = (
    "The user's documents and long-term memory. search_knowledge finds passages with "
    "citations (document, chunk, characters, page); cite them as [n] in answers. Use "
    "remember for facts the user wants kept across conversations, recall to look them up."
)
_URI_PREFIX = "knowledge://documents/"
_MIME = {
    "text": "text/plain",
    "markdown": "text/markdown",
    "html": "text/markdown",
    "pdf": "text/plain",
}

Collection = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w .-]+$")]


class KnowledgeServer(OurServer):
    """Lists each user's documents as resources (the SDK's list is one for everybody)."""

    knowledge: Knowledge | None = None

    async def list_resources(self) -> list[types.Resource]:
        caller = current_caller()
        if caller is None or caller.user_id is None or self.knowledge is None:
            return []
        documents = await self.knowledge.store.documents(caller.user_id, limit=500)
        return [_resource(document) for document in documents]


def _resource(document: DocumentInfo) -> types.Resource:
    return types.Resource(
        uri=f"{_URI_PREFIX}{document.id}",
        name=document.title,
        title=document.title,
        description=f"{document.kind} in {document.collection}"
        + (" (shared)" if document.shared else "")
        + f", {document.chunk_count} chunks",
        mime_type=_MIME.get(document.kind, "text/plain"),
        size=document.size_bytes,
    )


def _document_json(document: DocumentInfo) -> dict[str, Any]:
    return {
        "id": document.id,
        "uri": f"{_URI_PREFIX}{document.id}",
        "title": document.title,
        "collection": document.collection,
        "shared": document.shared,
        "source": document.source,
        "kind": document.kind,
        "size_bytes": document.size_bytes,
        "chunks": document.chunk_count,
        "created_at": document.created_at.isoformat(),
    }


def _hit_json(number: int, hit: Hit) -> dict[str, Any]:
    where = [f"chunk {hit.position}", f"characters {hit.char_start}-{hit.char_end}"]
    if hit.page is not None:
        where.insert(0, f"page {hit.page}")
    if hit.section:
        where.insert(0, f"section '{hit.section}'")
    return {
        "n": number,
        "citation": f"[{number}] {hit.title} ({hit.collection}), " + ", ".join(where),
        "text": hit.text,
        "score": hit.score,
        "matched_by": hit.matched_by,
        "document": {
            "id": hit.document_id,
            "uri": hit.uri,
            "title": hit.title,
            "source": hit.source,
            "collection": hit.collection,
        },
        "position": {
            "chunk": hit.position,
            "char_start": hit.char_start,
            "char_end": hit.char_end,
            "page": hit.page,
            "section": hit.section,
        },
    }


def build_server(
    settings: ServersSettings | None = None, *, knowledge: Knowledge | None = None
) -> KnowledgeServer:
    """The knowledge server; without `knowledge`, it opens its own store when it starts."""
    settings = settings or ServersSettings()

    @asynccontextmanager
    async def lifespan(_server: Any) -> AsyncIterator[dict[str, Any]]:
        if knowledge is not None:
            server.knowledge = knowledge
            yield {}
            return
        async with open_knowledge(settings) as opened:
            server.knowledge = opened
            try:
                yield {}
            finally:
                server.knowledge = None

    server = KnowledgeServer(
        NAME,
        resolver=resolver_for(NAME, settings),
        instructions=_INSTRUCTIONS,
        lifespan=lifespan,
    )
    server.knowledge = knowledge

    def service() -> Knowledge:
        if server.knowledge is None:
            raise ToolError("The knowledge store is not open yet.")
        return server.knowledge

    @server.tool(annotations=READ_ONLY)
    async def search_knowledge(
        query: Annotated[str, Field(min_length=1, max_length=2000)],
        collections: Annotated[list[Collection] | None, Field(max_length=20)] = None,
        limit: Annotated[int, Field(ge=1, le=50)] = 5,
    ) -> dict[str, Any]:
        """Search the user's documents (and shared collections). Each result cites its
        document and position; quote them as [n]."""
        user = require_user()
        try:
            hits = await service().search(user, query, collections=collections, limit=limit)
        except NotFoundError as error:
            raise ToolError(str(error)) from error
        return {
            "query": query,
            "search": service().mode,
            "results": [_hit_json(n, hit) for n, hit in enumerate(hits, start=1)],
        }

    @server.tool()
    async def add_document(
        content: Annotated[str, Field(min_length=1, description="The text, or base64 for PDF")],
        title: Annotated[str | None, Field(max_length=500)] = None,
        format: Literal["text", "markdown", "html", "pdf_base64"] = "markdown",
        collection: Collection = "default",
        source: Annotated[str | None, Field(max_length=2048)] = None,
    ) -> dict[str, Any]:
        """Add a document to one of the user's collections so it can be searched later."""
        user = require_user()
        if format == "pdf_base64":
            try:
                data = base64.b64decode(content, validate=True)
            except binascii.Error as error:
                raise ToolError("content is not valid base64") from error
            mime = "application/pdf"
        else:
            data = content.encode()
            mime = {"text": "text/plain", "markdown": "text/markdown", "html": "text/html"}[format]
        try:
            document = await service().ingest(
                user, data, mime_type=mime, collection=collection, title=title, source=source
            )
        except (TooLarge, UnsupportedContent, NotAllowed) as error:
            raise ToolError(str(error)) from error
        return {**_document_json(document), "duplicate": document.duplicate}

    @server.tool(annotations=READ_ONLY)
    async def list_documents(
        collection: Collection | None = None,
        limit: Annotated[int, Field(ge=1, le=200)] = 50,
        offset: Annotated[int, Field(ge=0)] = 0,
    ) -> dict[str, Any]:
        """List the user's documents (newest first), optionally in one collection."""
        documents = await service().store.documents(
            require_user(), collection=collection, limit=limit, offset=offset
        )
        return {"documents": [_document_json(document) for document in documents]}

    @server.tool(annotations=DESTRUCTIVE)
    async def delete_document(document_id: Annotated[str, Field(max_length=64)]) -> dict:
        """Delete one of the user's documents and its chunks."""
        try:
            await service().store.delete_document(require_user(), document_id)
        except (NotFoundError, NotAllowed) as error:
            raise ToolError(str(error)) from error
        return {"id": document_id, "deleted": True}

    @server.tool(annotations=READ_ONLY)
    async def list_collections() -> dict[str, Any]:
        """The user's collections and the shared ones, with their document counts."""
        collections = await service().store.collections(require_user())
        return {
            "collections": [
                {
                    "name": c.name,
                    "description": c.description,
                    "shared": c.shared,
                    "documents": c.documents,
                }
                for c in collections
            ]
        }

    @server.tool()
    async def create_collection(
        name: Collection, description: Annotated[str, Field(max_length=1000)] = ""
    ) -> dict[str, Any]:
        """Create a collection for the user's documents."""
        try:
            created = await service().store.create_collection(require_user(), name, description)
        except ValueError as error:
            raise ToolError(str(error)) from error
        return {"name": created.name, "description": created.description, "shared": False}

    @server.tool()
    async def remember(
        text: Annotated[str, Field(min_length=1, max_length=4000)],
        tags: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=20)] = [],  # noqa: B006 - pydantic copies defaults
    ) -> dict[str, Any]:
        """Keep a fact about the user for later conversations (preferences, details)."""
        memory = await service().remember(require_user(), text, tags)
        return {
            "id": memory.id,
            "text": memory.text,
            "tags": memory.tags,
            "created_at": memory.created_at.isoformat(),
        }

    @server.tool(annotations=READ_ONLY)
    async def recall(
        query: Annotated[str | None, Field(max_length=2000)] = None,
        tags: Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=20)] = [],  # noqa: B006
        limit: Annotated[int, Field(ge=1, le=100)] = 10,
    ) -> dict[str, Any]:
        """Look up what was remembered about the user (best matches, or the newest)."""
        memories = await service().recall(require_user(), query, tags=tags, limit=limit)
        return {
            "memories": [
                {
                    "id": m.id,
                    "text": m.text,
                    "tags": m.tags,
                    "created_at": m.created_at.isoformat(),
                    "score": m.score,
                }
                for m in memories
            ]
        }

    @server.tool(annotations=DESTRUCTIVE)
    async def forget(memory_id: Annotated[str, Field(max_length=64)]) -> dict[str, Any]:
        """Delete one memory (ids come from recall)."""
        try:
            await service().store.forget(require_user(), memory_id)
        except NotFoundError as error:
            raise ToolError(str(error)) from error
        return {"id": memory_id, "forgotten": True}

    @server.resource(
        _URI_PREFIX + "{document_id}",
        name="document",
        description="A document of the user's knowledge base, as text",
        mime_type="text/markdown",
    )
    async def read_document(document_id: str) -> str:
        try:
            _, content = await service().store.document(require_user(), document_id)
        except NotFoundError as error:
            raise ResourceNotFoundError(str(error)) from error
        return content

    return server
