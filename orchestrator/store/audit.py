"""The audit log in PostgreSQL: written one record at a time, read by admins.

Each `record` is one INSERT in autocommit (one round trip), awaited before the action's
answer goes out. No buffer: a record is never lost to a crash or a shutdown between the
action and a later flush, and the order of records is the order of the actions. It costs
0.6 to 0.8 ms on an idle local PostgreSQL, a few ms on a loaded one (see
`tests/store/test_audit.py`): small next to the argon2 check of a login or the tool call
it describes, and frequent uses (an API key's, throttled logins) are recorded at most
once per interval (`record_at_most_every`). A failed INSERT is logged with the whole
record (the log is then the fallback) and not raised: the action has happened.

The table refuses UPDATE, DELETE and TRUNCATE (a trigger, migration 0009), so this class
only ever inserts and selects. Pages are newest first, keyed on `id` (the cursor is the
last id seen); an export (`stream`) runs oldest first, a page at a time.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, and_, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.domain import AuditEvent, InvalidInput
from orchestrator.store.schema import users
from orchestrator.store.schema_identity import audit_log

__all__ = ["AuditFilter", "AuditRecord", "SqlAuditLog", "decode_cursor", "encode_cursor"]

logger = logging.getLogger(__name__)

_EXPORT_PAGE = 500
_ONCE_KEYS = 10_000


class AuditRecord(BaseModel):
    """One stored audit record."""

    model_config = ConfigDict(frozen=True)

    id: int
    at: datetime
    actor_id: str | None
    actor_email: str | None
    action: str
    outcome: str
    target_type: str | None
    target_id: str | None
    detail: dict[str, Any]
    address: str | None
    trace_id: str | None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which records: by actor (`user`: an id, an email or "cli:<OS user>"), action, time.

    `action` ending with "." or "*" is a prefix ("auth." matches "auth.login"); otherwise
    it is matched exactly. `since` is inclusive, `until` exclusive.
    """

    user: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> list[ColumnElement[bool]]:
        """The SQL conditions of this filter."""
        conditions: list[ColumnElement[bool]] = []
        if self.user:
            if "@" in self.user or ":" in self.user:  # an email, or "cli:" and an OS user
                conditions.append(func.lower(audit_log.c.actor_email) == self.user.lower())
            else:
                conditions.append(audit_log.c.actor_id == self.user)
        if self.action:
            if self.action.endswith(("*", ".")):
                prefix = self.action.rstrip("*")
                escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                conditions.append(audit_log.c.action.like(escaped + "%", escape="\\"))
            else:
                conditions.append(audit_log.c.action == self.action)
        if self.since is not None:
            conditions.append(audit_log.c.at >= self.since)
        if self.until is not None:
            conditions.append(audit_log.c.at < self.until)
        return conditions


def encode_cursor(last_id: int) -> str:
    """The opaque cursor of the page after the record `last_id`."""
    return base64.urlsafe_b64encode(f"audit:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The record id a cursor from `encode_cursor` points after.

    Raises:
        InvalidInput: not a cursor this API gave out.
    """
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "audit" or not value.isdigit():
            raise ValueError(text)
        return int(value)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidInput(
            "The cursor is not valid: pass `next_cursor` from a previous page as it is.",
            detail={"field": "cursor"},
        ) from None


def _record(row: Any) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        at=row.at,
        actor_id=str(row.actor_id) if row.actor_id is not None else None,
        actor_email=row.actor_email,
        action=row.action,
        outcome=row.outcome,
        target_type=row.target_type,
        target_id=row.target_id,
        detail=dict(row.detail or {}),
        address=row.address,
        trace_id=row.trace_id,
    )


def _json_safe(detail: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(dict(detail), default=str))


class SqlAuditLog:
    """`AuditTrail` on the `audit_log` table, and the admins' queries of it; see the module."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # One statement, one round trip: no BEGIN and COMMIT around it (same pool).
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._last: dict[str, float] = {}

    async def record(self, event: AuditEvent) -> None:
        """Store one record (address and trace id from the request in flight where unset)."""
        event = event.with_origin()
        email: Any = event.actor_email
        actor: Any = event.actor_id
        if event.actor_email is None and event.actor_id is not None:
            email = select(users.c.email).where(users.c.id == event.actor_id).scalar_subquery()
        elif event.actor_id is None and event.actor_email is not None:
            actor = (
                select(users.c.id)
                .where(users.c.email == event.actor_email.strip().lower())
                .scalar_subquery()
            )
        values: dict[str, Any] = {
            "actor_id": actor,
            "actor_email": email,
            "action": event.action,
            "outcome": event.outcome,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "detail": _json_safe(event.detail),
            "address": event.address,
            "trace_id": event.trace_id,
        }
        if event.at is not None:
            values["at"] = event.at
        try:
            async with self._autocommit.connect() as conn:
                await conn.execute(insert(audit_log).values(**values))
        except (SQLAlchemyError, OSError):
            logged = {**values, "actor_id": event.actor_id, "actor_email": event.actor_email}
            logger.exception("Audit record not stored: %s", json.dumps(logged, default=str))

    def due(self, key: str, seconds: float) -> bool:
        """Whether `record_at_most_every(..., key, seconds)` would store now."""
        last = self._last.get(key)
        return last is None or time.monotonic() - last >= seconds

    async def record_at_most_every(self, event: AuditEvent, key: str, seconds: float) -> bool:
        """Store `event` unless one with the same `key` was stored in the last `seconds`.

        For frequent uses (an API key's) that matter once in a while, not per request;
        counted per process. Returns whether it was stored.
        """
        if not self.due(key, seconds):
            return False
        if len(self._last) >= _ONCE_KEYS:
            self._last.clear()
        self._last[key] = time.monotonic()
        await self.record(event)
        return True

    async def page(
        self, where: AuditFilter, *, before: int | None = None, limit: int = 50
    ) -> tuple[list[AuditRecord], str | None]:
        """Matching records, newest first, and the cursor of the next page (None: no more)."""
        conditions = where.where()
        if before is not None:
            conditions.append(audit_log.c.id < before)
        query = (
            select(audit_log)
            .where(and_(True, *conditions))
            .order_by(audit_log.c.id.desc())
            .limit(limit + 1)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        records = [_record(row) for row in rows[:limit]]
        more = len(rows) > limit
        return records, encode_cursor(records[-1].id) if more and records else None

    async def stream(self, where: AuditFilter) -> AsyncIterator[AuditRecord]:
        """Every matching record, oldest first, read a page at a time (for export)."""
        after = 0
        conditions = where.where()
        while True:
            query = (
                select(audit_log)
                .where(and_(audit_log.c.id > after, *conditions))
                .order_by(audit_log.c.id)
                .limit(_EXPORT_PAGE)
            )
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
            for row in rows:
                yield _record(row)
            if len(rows) < _EXPORT_PAGE:
                return
            after = rows[-1].id
