"""Conversations: list, search, create, read, rename, pin, delete, export; post a message."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from orchestrator.api.deps import AuditDep, CurrentUser, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.api.routes.branches import SSE_RESPONSE, active_branch, run_response, user_parts
from orchestrator.api.schemas import (
    ConversationCreate,
    ConversationDetail,
    ConversationExport,
    ConversationOut,
    ConversationPage,
    ConversationRename,
    MessageCreate,
    RunAccepted,
    SummaryOut,
)
from orchestrator.domain import AuditEvent, FilePart, Message, Role, text_of
from orchestrator.runtime.services import Services

router = APIRouter(prefix="/conversations", tags=["conversations"])


async def _summaries(
    services: Services, conversation_id: str, messages: list[Message]
) -> list[SummaryOut]:
    """The summaries whose last message is among these (the branch shown), oldest first."""
    shown = {message.id for message in messages}
    stored = await services.database.summaries.summaries(conversation_id, fresh=True)
    return [SummaryOut.of(summary) for summary in stored if summary.last_message_id in shown]


@router.get("", response_model=ConversationPage, responses=error_responses(401, 422))
async def list_conversations(
    user: CurrentUser,
    services: ServicesDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Search titles and messages.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ConversationPage:
    """Your conversations, pinned first, then the most recently changed.

    `q` searches titles and message text; pass a page's `next_cursor` as `cursor` for the next.
    """
    page = await services.database.conversations.list_conversations(
        user.user_id, query=q.strip() if q else None, limit=limit, cursor=cursor
    )
    return ConversationPage(
        items=[ConversationOut.of(c) for c in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "",
    response_model=ConversationOut,
    status_code=201,
    responses=error_responses(400, 401, 413, 422),
)
async def create_conversation(
    user: CurrentUser, services: ServicesDep, body: ConversationCreate | None = None
) -> ConversationOut:
    """Start an empty conversation ("New conversation" unless a title is given)."""
    title = ((body.title if body else None) or "").strip() or "New conversation"
    return ConversationOut.of(
        await services.database.conversations.create_conversation(user.user_id, title)
    )


@router.get(
    "/{conversation_id}",
    response_model=ConversationDetail,
    responses=error_responses(401, 404, 422),
)
async def get_conversation(
    conversation_id: UUID, user: CurrentUser, services: ServicesDep
) -> ConversationDetail:
    """A conversation with its active branch's messages and their summaries."""
    conversation = await services.database.conversations.get_conversation(
        user.user_id, str(conversation_id)
    )
    messages, shown = await active_branch(services, conversation)
    return ConversationDetail(
        **ConversationOut.of(conversation).model_dump(),
        messages=shown,
        summaries=await _summaries(services, conversation.id, messages),
    )


@router.patch(
    "/{conversation_id}",
    response_model=ConversationOut,
    responses=error_responses(400, 401, 404, 413, 422),
)
async def rename_conversation(
    conversation_id: UUID, body: ConversationRename, user: CurrentUser, services: ServicesDep
) -> ConversationOut:
    """Rename (`title`), pin or unpin (`pinned`: pinned conversations list first)."""
    store = services.database.conversations
    conversation = None
    if body.title is not None:
        conversation = await store.rename_conversation(
            user.user_id, str(conversation_id), body.title
        )
    if body.pinned is not None:
        conversation = await store.pin_conversation(user.user_id, str(conversation_id), body.pinned)
    assert conversation is not None  # the body names one or both
    return ConversationOut.of(conversation)


@router.delete("/{conversation_id}", status_code=204, responses=error_responses(401, 404, 409, 422))
async def delete_conversation(
    conversation_id: UUID, user: CurrentUser, services: ServicesDep, audit: AuditDep
) -> Response:
    """Delete a conversation with its messages, stopping its run if one is in progress."""
    await services.database.conversations.get_conversation(user.user_id, str(conversation_id))
    await services.runs.stop_conversation(user.user_id, str(conversation_id))
    await services.database.conversations.delete_conversation(user.user_id, str(conversation_id))
    await audit.record(
        AuditEvent.by(user, "conversation.delete", target=("conversation", str(conversation_id)))
    )
    return Response(status_code=204)


def _markdown(title: str, messages: list[Message], *, branched: bool) -> str:
    lines = [f"# {title}", ""]
    if branched:
        lines += ["*The branch shown in the chat; the conversation has other branches.*", ""]
    for message in messages:
        if message.role is Role.TOOL:
            label = "Tool server failed" if message.fault else "Tool result"
            lines += [
                f"**{label}** ({message.name})",
                "",
                "```",
                text_of(message.content),
                "```",
                "",
            ]
            continue
        lines += [f"**{message.role.value.capitalize()}**", ""]
        if message.text:
            lines += [message.text, ""]
        for part in message.content:
            if isinstance(part, FilePart):
                lines += [f"*Attached `{part.name}`* ({part.mime_type}, {part.size} bytes)", ""]
        for call in message.tool_calls:
            lines += [f"*Calls `{call.name}`* `{call.arguments}`", ""]
    return "\n".join(lines)


@router.get(
    "/{conversation_id}/export",
    response_model=ConversationExport,
    responses={
        200: {
            "content": {"text/markdown": {"schema": {"type": "string"}}},
            "description": "The conversation's active branch.",
        },
        **error_responses(401, 404, 422),
    },
)
async def export_conversation(
    conversation_id: UUID,
    user: CurrentUser,
    services: ServicesDep,
    audit: AuditDep,
    format: Annotated[Literal["json", "markdown"], Query()] = "json",
) -> Response:
    """The conversation's active branch (as in the chat) as JSON or Markdown, a download.

    Other branches are left out: the JSON says so (`"branch": "active"`, and each message's
    `siblings`), the Markdown in a line under the title when there are any.
    """
    conversation = await services.database.conversations.get_conversation(
        user.user_id, str(conversation_id)
    )
    messages, shown = await active_branch(services, conversation)
    await audit.record(
        AuditEvent.by(
            user,
            "conversation.export",
            target=("conversation", conversation.id),
            detail={"format": format, "messages": len(shown)},
        )
    )
    extension = "md" if format == "markdown" else "json"
    disposition = f'attachment; filename="conversation-{conversation.id}.{extension}"'
    if format == "markdown":
        return PlainTextResponse(
            _markdown(conversation.title, messages, branched=any(m.siblings > 1 for m in shown)),
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": disposition},
        )
    detail = ConversationExport(
        **ConversationOut.of(conversation).model_dump(),
        messages=shown,
        summaries=await _summaries(services, conversation.id, messages),
    )
    return JSONResponse(
        detail.model_dump(mode="json"), headers={"Content-Disposition": disposition}
    )


@router.post(
    "/{conversation_id}/messages",
    status_code=202,
    response_model=RunAccepted,
    responses={**SSE_RESPONSE, **error_responses(400, 401, 403, 404, 409, 413, 422, 502, 503)},
)
async def post_message(
    conversation_id: UUID,
    body: MessageCreate,
    request: Request,
    user: CurrentUser,
    services: ServicesDep,
) -> Response:
    """Add a user message to the active branch and start a run that answers it.

    With `Accept: text/event-stream` the response is the run's event stream; otherwise
    `202 {"run_id"}` and the events are at `GET /api/v1/runs/{run_id}/events`. An MCP
    `prompt` starts the message; attached MCP `resources` follow its content, then the
    `files` (text-like ones are added to your knowledge for the model to search).
    """
    await services.runs.check_model(user.user_id, body.model)
    parts = await user_parts(request, services, user, str(conversation_id), body)
    run = await services.runs.start(
        user.user_id, str(conversation_id), parts, model=body.model, tool_names=body.tools
    )
    return run_response(services, request, run)
