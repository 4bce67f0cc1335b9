"""Dependencies of the routes: the services, the knowledge base and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrator.api.scopes import check_route_scope
from orchestrator.auth import Principal, require_scope
from orchestrator.auth.scopes import ADMIN
from orchestrator.domain import Forbidden, Unauthorized
from orchestrator.runtime.knowledge import KnowledgeBase
from orchestrator.runtime.services import Services

__all__ = ["AdminUser", "CurrentUser", "KnowledgeDep", "ServicesDep"]

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
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Unauthorized("Send Authorization: Bearer <access token or API key>.")
    principal = await services.auth.authenticate(credentials.credentials)
    check_route_scope(principal, request.method, request.scope.get("route"))
    return principal


CurrentUser = Annotated[Principal, Depends(_current_user)]
"""The caller, authenticated and holding the scope the route needs (`api/scopes.py`)."""


async def _admin_user(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise Forbidden("Only an admin can do this.")
    require_scope(user.scopes, ADMIN, via=user.via)
    return user


AdminUser = Annotated[Principal, Depends(_admin_user)]
