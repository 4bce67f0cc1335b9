"""OpenAI-compatible `POST /v1/chat/completions` and `GET /v1/models`, at the root.

Any OpenAI client (the official SDKs, and the many tools built on them) talks to the
assistant with the user's API key and gets the user's MCP tools run on the server: the
model sees them, calls them, reads their results, and the client receives the answer,
streamed or whole. Tools that need the user's approval are refused with a message that
says why (nobody is there to approve); client-side `tools` are not supported.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.api.deps import CurrentUser, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.domain import (
    AssistantError,
    InvalidInput,
    LimitExceeded,
    ModelError,
    ModelNotConfigured,
    UpstreamError,
    text_of,
)
from orchestrator.llm.openai_wire import (
    WireMessage,
    chunk,
    completion,
    completion_id,
    decode_messages,
    model_entry,
)
from orchestrator.runtime.completions import CompletionEvent, Finished, TextChunk

router = APIRouter(prefix="/v1", tags=["openai"])

_ERRORS: dict[str, type[AssistantError]] = {
    "model_not_configured": ModelNotConfigured,
    "model_error": ModelError,
    "invalid_input": InvalidInput,
}


class StreamOptions(BaseModel):
    """`stream_options`: with `include_usage`, a last chunk carries the usage."""

    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """A Chat Completions request; parameters the assistant does not use are ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field(min_length=1, max_length=200)
    messages: list[WireMessage] = Field(min_length=1, max_length=10_000)
    stream: bool = False
    stream_options: StreamOptions | None = None
    tools: list[dict[str, Any]] | None = Field(
        default=None, description="Not supported: the assistant's MCP tools are used."
    )
    n: Annotated[int, Field(ge=1, le=1)] = 1


def _failure(finished: Finished) -> AssistantError:
    cls = _ERRORS.get(finished.error_type or "", UpstreamError)
    message = finished.error_message or "The completion failed."
    if cls is InvalidInput:
        return InvalidInput(message)
    if finished.error_type == "rate_limited":
        return LimitExceeded(message, retry_after=5)
    return cls(message)


def _sse(data: dict[str, Any] | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


async def _stream(
    events: AsyncGenerator[CompletionEvent, None],
    first: CompletionEvent,
    model: str,
    include_usage: bool,
) -> AsyncIterator[bytes]:
    id_ = completion_id()
    created = int(time.time())
    yield _sse(chunk(id_, model, created, delta={"role": "assistant", "content": ""}))
    event: CompletionEvent | None = first
    try:
        while event is not None:
            if isinstance(event, TextChunk):
                yield _sse(chunk(id_, model, created, delta={"content": event.text}))
            elif event.error_type is not None:
                error = {"type": event.error_type, "message": event.error_message or ""}
                yield _sse({"error": error})
                break
            else:
                yield _sse(chunk(id_, model, created, finish_reason=event.finish_reason))
                if include_usage:
                    yield _sse(chunk(id_, model, created, usage=event.usage, with_choice=False))
                break
            event = await anext(events, None)
        yield _sse("[DONE]")
    finally:
        await events.aclose()


@router.post(
    "/chat/completions",
    responses={
        200: {
            "description": "A `chat.completion`, or with `stream: true` its chunks as SSE.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **error_responses(400, 401, 403, 413, 422, 429, 502, 503),
    },
)
async def chat_completions(
    body: ChatCompletionRequest, user: CurrentUser, services: ServicesDep
) -> Any:
    """Chat Completions, with the user's MCP tools executed on the server."""
    if body.tools:
        raise InvalidInput(
            "Client-side tools are not supported: the assistant runs its own MCP tools "
            "(GET /api/v1/tools). Send the request without `tools`."
        )
    messages = decode_messages(body.messages)
    limit = services.settings.max_message_chars
    longest = max(len(text_of(message.content)) for message in messages)
    if longest > limit:
        raise InvalidInput(f"A message is {longest} characters long; the limit is {limit}.")
    model = services.settings.openai.model if body.model == "assistant" else body.model
    await services.models.completions.check_model(user.user_id, model)
    events = services.models.completions.complete(user.user_id, model, messages)
    first = await anext(events)
    if isinstance(first, Finished) and first.error_type is not None:
        await events.aclose()
        raise _failure(first)
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            _stream(events, first, model, include_usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    text: list[str] = []
    event: CompletionEvent | None = first
    while isinstance(event, TextChunk):
        text.append(event.text)
        event = await anext(events, None)
    await events.aclose()
    if event is None:
        raise UpstreamError("The completion ended without an answer.")
    if event.error_type is not None:
        raise _failure(event)
    return JSONResponse(
        completion(completion_id(), model, "".join(text), event.finish_reason, event.usage)
    )


@router.get("/models", responses=error_responses(401))
async def list_models(user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """The model the assistant answers with (also reachable as `assistant`).

    Only if the caller's groups allow it; when they do not, the models they name instead
    (an empty list when they name none).
    """
    if not services.models.info.configured:
        return {"object": "list", "data": []}
    model = services.settings.openai.model
    offered = await services.models.completions.offered_models(user.user_id, model)
    if offered != [model]:
        return {"object": "list", "data": [model_entry(name) for name in offered]}
    return {"object": "list", "data": [model_entry(model), model_entry("assistant")]}
