"""Knowledge documents: upload (text, Markdown, HTML, PDF), list, delete; collections.

The same ingestion as the knowledge MCP server's `add_document` tool (extract, chunk with
overlap, embed where on, store), run in this process on the orchestrator's database by the
knowledge base the composition root opens (`runtime/knowledge.py`). An admin can create
shared collections and upload into them; everyone can search them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from pydantic import BaseModel, Field

from orchestrator.api.deps import AuditDep, CurrentUser, KnowledgeDep
from orchestrator.api.errors import error_responses
from orchestrator.domain import AuditEvent, Forbidden, InvalidInput, UserError

router = APIRouter(prefix="/knowledge", tags=["knowledge"])

UPLOAD_PATH = "/knowledge/documents"


class DocumentOut(BaseModel):
    id: str
    uri: str
    title: str
    collection: str
    shared: bool
    source: str | None
    kind: str
    size_bytes: int
    chunks: int
    created_at: datetime
    duplicate: bool = False


class CollectionOut(BaseModel):
    name: str
    description: str
    shared: bool
    documents: int = 0


class CollectionCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w .-]+$")
    description: str = Field(default="", max_length=1000)
    shared: bool = Field(default=False, description="Visible to every user; admins only.")


def _out(document: Any) -> DocumentOut:
    return DocumentOut(
        id=document.id,
        uri=f"knowledge://documents/{document.id}",
        title=document.title,
        collection=document.collection,
        shared=document.shared,
        source=document.source,
        kind=document.kind,
        size_bytes=document.size_bytes,
        chunks=document.chunk_count,
        created_at=document.created_at,
        duplicate=document.duplicate,
    )


@router.post(
    "/documents",
    response_model=DocumentOut,
    status_code=201,
    responses=error_responses(400, 401, 403, 413, 422),
)
async def upload_document(
    user: CurrentUser,
    knowledge: KnowledgeDep,
    file: Annotated[UploadFile, File(description="Text, Markdown, HTML or PDF.")],
    collection: Annotated[
        str, Form(min_length=1, max_length=100, pattern=r"^[\w .-]+$")
    ] = "default",
    title: Annotated[str | None, Form(max_length=500)] = None,
) -> DocumentOut:
    """Add a document to one of your collections (or, as an admin, to a shared one)."""
    data = await file.read()
    if not data:
        raise InvalidInput("The file is empty.")
    document = await knowledge.ingest(
        user.user_id,
        data,
        filename=file.filename,
        mime_type=file.content_type,
        collection=collection,
        title=title,
        as_admin=user.is_admin,
    )
    return _out(document)


@router.get("/documents", response_model=list[DocumentOut], responses=error_responses(401, 422))
async def list_documents(
    user: CurrentUser,
    knowledge: KnowledgeDep,
    collection: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[DocumentOut]:
    documents = await knowledge.documents(
        user.user_id, collection=collection, limit=limit, offset=offset
    )
    return [_out(document) for document in documents]


@router.delete(
    "/documents/{document_id}", status_code=204, responses=error_responses(401, 403, 404, 422)
)
async def delete_document(
    document_id: str, user: CurrentUser, knowledge: KnowledgeDep, audit: AuditDep
) -> Response:
    await knowledge.delete_document(user.user_id, document_id, as_admin=user.is_admin)
    await audit.record(AuditEvent.by(user, "knowledge.delete", target=("document", document_id)))
    return Response(status_code=204)


@router.get("/collections", response_model=list[CollectionOut], responses=error_responses(401))
async def list_collections(user: CurrentUser, knowledge: KnowledgeDep) -> list[CollectionOut]:
    return [
        CollectionOut(
            name=c.name, description=c.description, shared=c.shared, documents=c.documents
        )
        for c in await knowledge.collections(user.user_id)
    ]


@router.post(
    "/collections",
    response_model=CollectionOut,
    status_code=201,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
async def create_collection(
    body: CollectionCreate, user: CurrentUser, knowledge: KnowledgeDep
) -> CollectionOut:
    """Create a collection; a shared one (every user searches it) needs an admin."""
    if body.shared and not user.is_admin:
        raise Forbidden("Only an admin can create a shared collection.")
    created = await knowledge.create_collection(
        None if body.shared else user.user_id, body.name, body.description
    )
    return CollectionOut(name=created.name, description=created.description, shared=created.shared)


__all__ = ["UPLOAD_PATH", "UserError", "router"]
