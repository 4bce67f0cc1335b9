"""Runs and tokens so far, per user and model."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from orchestrator.api.deps import CurrentUser, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.api.schemas import UsageOut, UsageRow
from orchestrator.domain import Forbidden, InvalidInput

router = APIRouter(tags=["catalog"])


@router.get("/usage", response_model=UsageOut, responses=error_responses(401, 403, 422))
async def usage(
    user: CurrentUser,
    services: ServicesDep,
    all_users: Annotated[
        bool, Query(alias="all", description="Every user's usage (admins only).")
    ] = False,
    since: Annotated[
        datetime | None,
        Query(description="Only runs started at or after this time (ISO 8601, with a zone)."),
    ] = None,
) -> UsageOut:
    """Runs and tokens per user and model (yours, or everyone's for an admin with `all`)."""
    if all_users and not user.is_admin:
        raise Forbidden("Only an admin can see every user's usage.")
    if since is not None and since.tzinfo is None:
        raise InvalidInput("`since` needs a time zone, e.g. 2026-12-01T00:00:00Z.")
    rows = await services.runs_store.usage(None if all_users else user.user_id, since=since)
    return UsageOut(items=[UsageRow.model_validate(row) for row in rows])
