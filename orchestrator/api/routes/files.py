"""Files: upload (streamed to storage), metadata, download, list, delete; what uploads accept.

A file is its owner's alone: anyone else gets 404.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from orchestrator.api.deps import AuditDep, CurrentUser, KnowledgeDep, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.api.multipart import drain, file_field
from orchestrator.auth import Principal
from orchestrator.domain import (
    AuditEvent,
    ContentPart,
    NotFound,
    StoredFile,
    Unavailable,
    UserError,
    content_disposition,
)
from orchestrator.runtime.attachments import FileService, check_declared_size
from orchestrator.runtime.services import Services

__all__ = ["ATTACHMENTS_COLLECTION", "UPLOAD_PATH", "FileOut", "attached_files", "router"]

logger = logging.getLogger(__name__)

ATTACHMENTS_COLLECTION = "attachments"

router = APIRouter(prefix="/files", tags=["files"])

UPLOAD_PATH = "/files"

_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "title": "FileUpload",
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        }
    },
}


class FileOut(BaseModel):
    """A stored file as the API shows it; `indexed` when its text is in the user's knowledge."""

    id: str
    name: str
    size: int
    content_type: str
    created_at: datetime
    indexed: bool = False

    @classmethod
    def of(cls, file: StoredFile) -> FileOut:
        """The API's view of a stored file."""
        return cls(
            id=file.id,
            name=file.name,
            size=file.size,
            content_type=file.content_type,
            created_at=file.created_at,
            indexed=file.document_id is not None,
        )


class FilePolicyOut(BaseModel):
    max_bytes: int
    allowed_types: list[str]


def _files(services: Any) -> FileService:
    files = services.files
    if files is None:
        raise Unavailable("File storage is not running in this process.")
    return files


@router.get("/policy", response_model=FilePolicyOut, responses=error_responses(401, 503))
async def file_policy(user: CurrentUser, services: ServicesDep) -> FilePolicyOut:
    """How large a file may be and which types can be attached."""
    policy = _files(services).policy
    return FilePolicyOut(max_bytes=policy.max_bytes, allowed_types=list(policy.allowed_types))


@router.post(
    "",
    response_model=FileOut,
    status_code=201,
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses=error_responses(400, 401, 413, 415, 422, 503),
)
async def upload_file(request: Request, user: CurrentUser, services: ServicesDep) -> FileOut:
    """Upload one file (multipart field `file`).

    It streams to storage as it arrives; nothing is kept of an upload that fails or is cut
    off.
    """
    files = _files(services)
    length = request.headers.get("content-length")
    check_declared_size(files.policy, int(length) if length and length.isdigit() else None)
    try:
        form = await file_field(request)
        stored = await files.upload(user.user_id, form.filename, form.content_type, form.chunks)
    except UserError:
        await drain(request)
        raise
    return FileOut.of(stored)


@router.get("", response_model=list[FileOut], responses=error_responses(401, 422, 503))
async def list_files(
    user: CurrentUser,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[FileOut]:
    """Your files, newest first."""
    found = await _files(services).store.list(user.user_id, limit=limit, offset=offset)
    return [FileOut.of(file) for file in found]


@router.get("/{file_id}", response_model=FileOut, responses=error_responses(401, 404, 422, 503))
async def get_file(file_id: UUID, user: CurrentUser, services: ServicesDep) -> FileOut:
    return FileOut.of(await _files(services).store.get(user.user_id, str(file_id)))


@router.get(
    "/{file_id}/content",
    responses={
        200: {"description": "The file's bytes, as a download.", "content": {"*/*": {}}},
        **error_responses(401, 404, 422, 503),
    },
)
async def download_file(file_id: UUID, user: CurrentUser, services: ServicesDep) -> Response:
    """The file's bytes, with its type, as an attachment (never rendered by the browser)."""
    found, chunks = await _files(services).content(user.user_id, str(file_id))
    return StreamingResponse(
        chunks,
        media_type=found.content_type,
        headers={
            "Content-Length": str(found.size),
            "Content-Disposition": content_disposition(found.name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


@router.delete("/{file_id}", status_code=204, responses=error_responses(401, 404, 422, 503))
async def delete_file(
    file_id: UUID,
    user: CurrentUser,
    services: ServicesDep,
    knowledge: KnowledgeDep,
    audit: AuditDep,
) -> Response:
    """Delete the file, its bytes, and its document in your knowledge.

    Messages that attached it keep its name.
    """
    removed = await _files(services).delete(user.user_id, str(file_id))
    if removed.document_id is not None:
        try:
            await knowledge.delete_document(user.user_id, removed.document_id)
        except NotFound:
            pass  # the user deleted the document already
    await audit.record(
        AuditEvent.by(
            user, "file.delete", target=("file", str(file_id)), detail={"name": removed.name}
        )
    )
    return Response(status_code=204)


async def attached_files(
    services: Services,
    user: Principal,
    conversation_id: str,
    file_ids: list[str],
) -> list[ContentPart]:
    """The parts recording the files in a new message.

    Text-like files go into the user's knowledge (collection `attachments`) first, so the
    model can search them.

    Raises:
        NotFound: the conversation or one of the files is not the user's.
    """
    await services.database.conversations.get_conversation(user.user_id, conversation_id)

    async def index(file: StoredFile, data: bytes) -> str | None:
        return await services.knowledge.index_file(
            user.user_id, file, data, collection=ATTACHMENTS_COLLECTION
        )

    return await _files(services).attach(user.user_id, file_ids, index=index)
