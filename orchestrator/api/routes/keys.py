"""API keys: create (the secret is shown once), list, delete.

A key holds scopes (`chat`, `read`, `mcp`, `admin`; see `orchestrator.api.scopes` for what
each route needs) and may expire. Keys are managed with a login's access token only: a key
cannot make or delete keys.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from fastapi import APIRouter, Response

from orchestrator.api.deps import AuditDep, CurrentUser, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.api.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from orchestrator.domain import AuditEvent
from orchestrator.store import ApiKeyRecord

router = APIRouter(prefix="/keys", tags=["keys"])


def _out(record: ApiKeyRecord) -> dict[str, object]:
    now = datetime.now(UTC)
    expired = record.expires_at is not None and record.expires_at <= now
    return {**record.model_dump(), "scopes": list(record.scopes), "expired": expired}


@router.get("", response_model=list[ApiKeyOut], responses=error_responses(401, 403))
async def list_keys(user: CurrentUser, services: ServicesDep) -> list[ApiKeyOut]:
    """Your API keys: name, prefix (never the secret), scopes, expiry, when last used."""
    records = await services.auth.users.list_api_keys(user.user_id)
    return [ApiKeyOut.model_validate(_out(record)) for record in records]


@router.post(
    "",
    response_model=ApiKeyCreated,
    status_code=201,
    responses=error_responses(400, 401, 403, 413, 422),
)
async def create_key(
    user: CurrentUser, services: ServicesDep, audit: AuditDep, body: ApiKeyCreate | None = None
) -> ApiKeyCreated:
    """A new API key; the secret is in this answer only, so store it now.

    `scopes` defaults to `["chat", "read"]`; `admin` is for admins only. Expiry: either
    `expires_in_days` or `expires_at`, or neither (the key lasts until deleted).
    """
    body = body or ApiKeyCreate()
    expires_at = body.expires_at
    if body.expires_in_days is not None:
        expires_at = datetime.now(UTC) + timedelta(days=body.expires_in_days)
    record, secret = await services.auth.create_api_key(
        user.user_id, body.name, scopes=body.scopes, expires_at=expires_at
    )
    await audit.record(
        AuditEvent.by(
            user,
            "key.create",
            target=("api_key", record.id),
            detail={
                "name": record.name,
                "prefix": record.prefix,
                "scopes": list(record.scopes),
                "expires_at": record.expires_at.isoformat() if record.expires_at else None,
            },
        )
    )
    return ApiKeyCreated.model_validate({**_out(record), "key": secret})


@router.delete("/{key_id}", status_code=204, responses=error_responses(401, 403, 404, 422))
async def delete_key(
    key_id: UUID, user: CurrentUser, services: ServicesDep, audit: AuditDep
) -> Response:
    """Revoke one of your API keys: at once on this server, within seconds on every other."""
    await services.auth.delete_api_key(user.user_id, str(key_id))
    await audit.record(AuditEvent.by(user, "key.delete", target=("api_key", str(key_id))))
    return Response(status_code=204)
