"""Branches of a conversation: edit a message, regenerate an answer, switch branch.

A conversation is a tree of messages; the chat shows and continues one path through it,
the active branch. Editing a user message or regenerating an answer adds a sibling and
makes its branch the active one; `PUT .../branch` goes back to another.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from orchestrator.api.deps import CurrentUser, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.api.routes.files import attached_files
from orchestrator.api.routes.mcp import message_parts
from orchestrator.api.schemas import (
    BranchSwitch,
    ConversationDetail,
    ConversationOut,
    MessageCreate,
    MessageOut,
    RegenerateRequest,
    RunAccepted,
)
from orchestrator.api.sse import event_stream
from orchestrator.auth import Principal
from orchestrator.domain import (
    ContentPart,
    Conversation,
    InvalidInput,
    Message,
    Run,
    TextPart,
)
from orchestrator.runtime.services import Services

__all__ = ["active_branch", "router", "run_response"]

router = APIRouter(prefix="/conversations", tags=["conversations"])

SSE_RESPONSE = {
    200: {
        "description": "With `Accept: text/event-stream`: the run's events as they happen.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


async def active_branch(
    services: Services, conversation: Conversation
) -> tuple[list[Message], list[MessageOut]]:
    """The active branch's messages, and as the API shows them (with their siblings)."""
    messages, points = await services.database.conversations.branch_view(conversation.id)
    return messages, [MessageOut.of(m, points.get(m.parent_id)) for m in messages]


async def user_parts(
    request: Request, services: Services, user: Principal, conversation_id: str, body: MessageCreate
) -> list[ContentPart]:
    """What a new or edited user message holds.

    That is its content, MCP prompt and resources, then its attached files.

    Raises:
        InvalidInput: the text is over `max_message_chars`.
    """
    parts = await message_parts(services, user.user_id, body)
    if body.files:
        parts += await attached_files(services, user, conversation_id, body.files)
    size = sum(len(part.text) for part in parts if isinstance(part, TextPart))
    limit = services.settings.max_message_chars
    if size > limit:
        raise InvalidInput(f"The message is {size} characters long; the limit is {limit}.")
    return parts


def run_response(services: Services, request: Request, run: Run) -> Response:
    """A started run as the client asked: its event stream, or `202 {"run_id"}`."""
    if "text/event-stream" in request.headers.get("accept", ""):
        return event_stream(services.runs.events(run, 0))
    return JSONResponse(
        RunAccepted(run_id=run.id, conversation_id=run.conversation_id).model_dump(),
        status_code=202,
    )


@router.post(
    "/{conversation_id}/messages/{message_id}/edit",
    status_code=202,
    response_model=RunAccepted,
    responses={**SSE_RESPONSE, **error_responses(400, 401, 403, 404, 409, 413, 422, 502, 503)},
)
async def edit_message(
    conversation_id: UUID,
    message_id: UUID,
    body: MessageCreate,
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
) -> Response:
    """Send an edited version of user message `message_id` as a new branch.

    The new message is a sibling of `message_id` and its branch becomes the active one; the
    model answers it with only the history above it. The body and the answer are those of
    `POST .../messages`. 422 when `message_id` is not a user message.
    """
    await services.runs.check_model(user.user_id, body.model)
    parts = await user_parts(request, services, user, str(conversation_id), body)
    run = await services.runs.edit(
        user.user_id,
        str(conversation_id),
        str(message_id),
        parts,
        model=body.model,
        tool_names=body.tools,
    )
    return run_response(services, request, run)


@router.post(
    "/{conversation_id}/messages/{message_id}/regenerate",
    status_code=202,
    response_model=RunAccepted,
    responses={**SSE_RESPONSE, **error_responses(400, 401, 403, 404, 409, 413, 422, 502, 503)},
)
async def regenerate_answer(
    conversation_id: UUID,
    message_id: UUID,
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
    body: RegenerateRequest | None = None,
) -> Response:
    """Answer again: a new answer as a sibling of the answer `message_id`.

    `message_id` is an assistant message of the answer (any of its messages when it called
    tools), or the user message it answers. The new answer's branch becomes the active one;
    the model sees the history up to that user message. Answers as `POST .../messages`
    does. 422 for a tool or system message.
    """
    run = await services.runs.regenerate(
        user.user_id,
        str(conversation_id),
        str(message_id),
        model=body.model if body else None,
        tool_names=body.tools if body else None,
    )
    return run_response(services, request, run)


@router.put(
    "/{conversation_id}/branch",
    response_model=ConversationDetail,
    responses=error_responses(400, 401, 404, 413, 422),
)
async def switch_branch(
    conversation_id: UUID, body: BranchSwitch, user: CurrentUser, services: ServicesDep
) -> ConversationDetail:
    """Show and continue the branch through `message_id`, to its newest message.

    The choice is stored: the conversation view, other clients and the next message follow
    it. Returns the conversation with the new active branch.
    """
    await services.database.conversations.switch_branch(
        user.user_id, str(conversation_id), str(body.message_id)
    )
    conversation = await services.database.conversations.get_conversation(
        user.user_id, str(conversation_id)
    )
    _, shown = await active_branch(services, conversation)
    return ConversationDetail(**ConversationOut.of(conversation).model_dump(), messages=shown)
