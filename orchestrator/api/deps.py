"""Dependencies of the routes: the services, the knowledge base and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.auth import KEY_PREFIX, Principal
from orchestrator.domain import KEY_USE_INTERVAL, AuditEvent, Forbidden, Unauthorized
from orchestrator.runtime.knowledge import KnowledgeBase
from orchestrator.runtime.services import Services
from orchestrator.store import SqlAuditLog

__all__ = ["AdminUser", "AuditDep", "CurrentUser", "KnowledgeDep", "ServicesDep"]

_bearer = HTTPBearer(
    auto_error=False,
    description="An access token from POST /api/v1/auth/token, or an API key (sk-asst-...).",
)


async def _services(request: Request) -> Services:
    # async: FastAPI runs a plain function dependency on a worker thread.
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(_services)]


async def _knowledge(services: ServicesDep) -> KnowledgeBase:
    return services.knowledge


KnowledgeDep = Annotated[KnowledgeBase, Depends(_knowledge)]
"""The users' documents and collections (built at startup by the composition root)."""


async def _current_user(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthorized("Send Authorization: Bearer <access token or API key>.")
    principal = await services.auth.authenticate(credentials.credentials)
    if principal.via == "api_key":
        await _key_used(services, principal, credentials.credentials)
    return principal


async def _key_used(services: Services, principal: Principal, secret: str) -> None:
    """Record an API key's use, at most once per key every `KEY_USE_INTERVAL` seconds."""
    prefix = secret[: len(KEY_PREFIX) + 6]
    key = f"key.use:{principal.user_id}:{prefix}"
    if not services.audit.due(key, KEY_USE_INTERVAL):
        return
    keys = await services.auth.users.list_api_keys(principal.user_id)
    key_id = next((k.id for k in keys if secret.startswith(k.prefix)), prefix)
    await services.audit.record_at_most_every(
        AuditEvent.by(principal, "key.use", target=("api_key", key_id), detail={"prefix": prefix}),
        key,
        KEY_USE_INTERVAL,
    )


CurrentUser = Annotated[Principal, Depends(_current_user)]


async def _admin_user(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise Forbidden("Only an admin can do this.")
    return user


AdminUser = Annotated[Principal, Depends(_admin_user)]


async def _audit(services: ServicesDep) -> SqlAuditLog:
    return services.audit


AuditDep = Annotated[SqlAuditLog, Depends(_audit)]
"""The audit log: `await audit.record(AuditEvent.by(user, "area.verb", target=(type, id)))`."""
