"""API keys: create (the secret is shown once), list, delete."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from orchestrator.api.deps import AuditDep, CurrentUser, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.api.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from orchestrator.domain import AuditEvent

router = APIRouter(prefix="/keys", tags=["keys"])


@router.get("", response_model=list[ApiKeyOut], responses=error_responses(401))
async def list_keys(user: CurrentUser, services: ServicesDep) -> list[ApiKeyOut]:
    """Your API keys, by name and prefix (never the secret)."""
    records = await services.auth.users.list_api_keys(user.user_id)
    return [ApiKeyOut.model_validate(record.model_dump()) for record in records]


@router.post(
    "", response_model=ApiKeyCreated, status_code=201, responses=error_responses(400, 401, 413, 422)
)
async def create_key(
    user: CurrentUser, services: ServicesDep, audit: AuditDep, body: ApiKeyCreate | None = None
) -> ApiKeyCreated:
    """A new API key; the secret is in this answer only, so store it now."""
    record, secret = await services.auth.create_api_key(user.user_id, (body or ApiKeyCreate()).name)
    await audit.record(
        AuditEvent.by(
            user,
            "key.create",
            target=("api_key", record.id),
            detail={"name": record.name, "prefix": record.prefix},
        )
    )
    return ApiKeyCreated.model_validate({**record.model_dump(), "key": secret})


@router.delete("/{key_id}", status_code=204, responses=error_responses(401, 404, 422))
async def delete_key(
    key_id: UUID, user: CurrentUser, services: ServicesDep, audit: AuditDep
) -> Response:
    """Revoke one of your API keys; it stops working at once."""
    await services.auth.delete_api_key(user.user_id, str(key_id))
    await audit.record(AuditEvent.by(user, "key.delete", target=("api_key", str(key_id))))
    return Response(status_code=204)
