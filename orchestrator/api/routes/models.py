"""The model runs use, and whether one is configured at all."""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator.api.deps import CurrentUser, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.api.schemas import ModelList, ModelOut
from orchestrator.llm import NOT_CONFIGURED_MESSAGE

router = APIRouter(tags=["catalog"])


@router.get("/models", response_model=ModelList, responses=error_responses(401))
async def list_models(user: CurrentUser, services: ServicesDep) -> ModelList:
    """The model runs use by default, and whether one is configured at all.

    `provider` is "openai", the base URL of an OpenAI-compatible server, or "local" for the
    model running on this machine (then `message` says so). Only the models the caller's
    groups allow are listed: when they exclude the default, the models they name instead.
    """
    info = services.models.info
    if not info.configured:
        return ModelList(items=[], configured=False, message=NOT_CONFIGURED_MESSAGE)
    offered = await services.models.completions.offered_models(user.user_id, info.name)
    if offered != [info.name]:
        # The default is not theirs to use: offer what their groups do allow, if anything.
        return ModelList(
            items=[
                ModelOut(id=name, provider=info.provider, default=index == 0)
                for index, name in enumerate(offered)
            ],
            configured=True,
            message=None
            if offered
            else f"Your groups do not allow the model {info.name!r}; ask an administrator.",
        )
    return ModelList(
        items=[ModelOut(id=info.name, provider=info.provider, default=True)],
        configured=True,
        message=info.description or None,
    )
