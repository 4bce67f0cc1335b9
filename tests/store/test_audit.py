"""The audit log in PostgreSQL: append-only for the application's own role, and cheap to write."""

from __future__ import annotations

import logging
import time
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.domain import AuditEvent, RequestOrigin, request_origin
from orchestrator.store import AuditFilter, SqlAuditLog, SqlUserStore
from orchestrator.store.schema_identity import audit_log

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


async def _one(engine: AsyncEngine, action: str) -> tuple[int, dict[str, object]]:
    await SqlAuditLog(engine).record(AuditEvent(action, detail={"n": 1}))
    async with engine.connect() as conn:
        row = (await conn.execute(select(audit_log).where(audit_log.c.action == action))).one()
    return row.id, dict(row._mapping)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET outcome = 'rewritten', detail = '{}' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
        "TRUNCATE audit_log",
    ],
)
async def test_the_applications_role_can_neither_change_nor_remove_a_record(
    engine: AsyncEngine, statement: str
) -> None:
    # `engine` connects as the application does (the role that ran the migrations).
    action = f"test.{uuid.uuid4().hex[:8]}"
    record_id, before = await _one(engine, action)
    with pytest.raises(DBAPIError) as refused:
        async with engine.begin() as conn:
            await conn.execute(text(statement), {"id": record_id})
    assert "append-only" in str(refused.value)
    assert getattr(refused.value.orig, "sqlstate", None) == "42501"  # insufficient_privilege
    async with engine.connect() as conn:
        after = (await conn.execute(select(audit_log).where(audit_log.c.id == record_id))).one()
    assert dict(after._mapping) == before


async def test_a_record_gets_the_actors_email_and_the_requests_origin(engine: AsyncEngine) -> None:
    user = await SqlUserStore(engine).create_user(
        f"{uuid.uuid4().hex[:8]}@test.example", None, is_admin=False
    )
    log = SqlAuditLog(engine)
    token = request_origin.set(RequestOrigin("203.0.113.9", "abc123abc123"))
    try:
        await log.record(AuditEvent("test.origin", actor_id=user.id))
    finally:
        request_origin.reset(token)
    [record], _ = await log.page(AuditFilter(user=user.id))
    assert (record.actor_email, record.address, record.trace_id) == (
        user.email,
        "203.0.113.9",
        "abc123abc123",
    )


async def test_a_record_that_cannot_be_stored_is_logged_whole(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    log = SqlAuditLog(engine)
    with caplog.at_level(logging.ERROR, logger="orchestrator.store.audit"):
        # Not a UUID: PostgreSQL refuses the row.
        await log.record(AuditEvent("test.lost", actor_id="not-a-uuid", detail={"k": "v"}))
    [message] = [r.getMessage() for r in caplog.records]
    assert "Audit record not stored" in message and "test.lost" in message


async def test_writing_a_record_takes_about_a_millisecond(engine: AsyncEngine) -> None:
    log = SqlAuditLog(engine)
    await log.record(AuditEvent("test.warm"))  # the pool's first connection
    count = 200
    started = time.perf_counter()
    for n in range(count):
        await log.record(
            AuditEvent("test.timing", actor_id=None, target_type="n", target_id=str(n))
        )
    per_record = (time.perf_counter() - started) / count
    print(f"audit record: {per_record * 1000:.2f} ms each over {count}")
    # Generous for a shared CI machine; about 1 ms on a local PostgreSQL.
    assert per_record < 0.02
