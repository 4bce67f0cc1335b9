"""The audit log, for admins: filter by user, action and time; page; export as JSON lines."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from orchestrator.api.deps import AdminUser, AuditDep
from orchestrator.api.errors import error_responses
from orchestrator.domain import AuditEvent, InvalidInput
from orchestrator.store import AuditFilter, AuditRecord, SqlAuditLog
from orchestrator.store.audit import decode_cursor

router = APIRouter(prefix="/audit", tags=["audit"])

_ACTION = r"^[a-z0-9_.-]+\*?$"


class AuditPage(BaseModel):
    """Records newest first; pass `next_cursor` as `cursor` for the next page (null: none)."""

    items: list[AuditRecord]
    next_cursor: str | None = None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _filter(
    user: str | None, action: str | None, since: datetime | None, until: datetime | None
) -> AuditFilter:
    """The store's filter from the query.

    Raises:
        InvalidInput: `user` is neither a user id, an email nor a command-line operator
            ("cli:" and an OS user), or `since` is not before `until`.
    """
    if user is not None:
        user = user.strip()
        operator = user.startswith("cli:") and len(user) > len("cli:")
        if "@" not in user and not operator:
            try:
                user = str(uuid.UUID(user))
            except ValueError:
                raise InvalidInput(
                    "`user` is a user id (a UUID), an email address, or `cli:` and the OS "
                    "user of a command-line change.",
                    detail={"field": "user"},
                ) from None
    start, end = _utc(since), _utc(until)
    if start is not None and end is not None and start >= end:
        raise InvalidInput("`since` must be before `until`.", detail={"field": "since"})
    return AuditFilter(user=user or None, action=action, since=start, until=end)


async def _lines(log: SqlAuditLog, where: AuditFilter) -> AsyncIterator[bytes]:
    async for record in log.stream(where):
        yield (json.dumps(record.model_dump(mode="json"), ensure_ascii=False) + "\n").encode()


@router.get(
    "",
    response_model=AuditPage,
    responses={
        200: {
            "description": "A page of records; with `format=jsonl`, every match as JSON lines.",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        },
        **error_responses(401, 403, 422),
    },
)
async def list_audit(
    admin: AdminUser,
    audit: AuditDep,
    user: Annotated[
        str | None,
        Query(max_length=320, description="The actor: a user id, an email, or cli:<OS user>."),
    ] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=100,
            pattern=_ACTION,
            description='Exact ("auth.login"), or a prefix ending in "." or "*" ("auth.").',
        ),
    ] = None,
    since: Annotated[
        datetime | None, Query(description="ISO 8601, inclusive (no zone: UTC).")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="ISO 8601, exclusive (no zone: UTC).")
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    format: Annotated[
        Literal["json", "jsonl"],
        Query(description="jsonl: every matching record, oldest first, as a download."),
    ] = "json",
) -> AuditPage | StreamingResponse:
    """Audit records (admins only), newest first, with filters and keyset paging.

    `format=jsonl` streams every matching record (no paging), oldest first, one JSON
    object a line; the export itself is recorded (`audit.export`).
    """
    where = _filter(user, action, since, until)
    if format == "jsonl":
        await audit.record(
            AuditEvent.by(
                admin,
                "audit.export",
                detail={
                    key: value
                    for key, value in {
                        "user": where.user,
                        "action": where.action,
                        "since": where.since.isoformat() if where.since else None,
                        "until": where.until.isoformat() if where.until else None,
                    }.items()
                    if value is not None
                },
            )
        )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return StreamingResponse(
            _lines(audit, where),
            media_type="application/x-ndjson",
            headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.jsonl"'},
        )
    before = decode_cursor(cursor) if cursor else None
    items, next_cursor = await audit.page(where, before=before, limit=limit)
    return AuditPage(items=items, next_cursor=next_cursor)
