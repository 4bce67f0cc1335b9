"""The tools a user's runs may call, across the MCP servers they can use."""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator.api.deps import CurrentUser, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.api.schemas import ToolList, ToolOut

router = APIRouter(tags=["catalog"])


@router.get("/tools", response_model=ToolList, responses=error_responses(401))
async def list_tools(user: CurrentUser, services: ServicesDep) -> ToolList:
    """Every tool this user's runs may call, namespaced per server."""
    return ToolList(
        items=[ToolOut.of(spec) for spec in await services.tools.list_tools(user.user_id)]
    )
