"""The OpenAI Chat Completions wire format as the assistant serves it (`/v1/...`).

Requests from any OpenAI client are decoded into our messages; answers are encoded as
`chat.completion` objects or `chat.completion.chunk` events, exactly as OpenAI sends
them, so that the official SDKs parse them.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.domain import (
    ContentPart,
    ImagePart,
    InvalidInput,
    Message,
    Role,
    TextPart,
    ToolCall,
    Usage,
)

__all__ = [
    "WireMessage",
    "chunk",
    "completion",
    "completion_id",
    "decode_messages",
    "model_entry",
]

_ROLES = {
    "system": Role.SYSTEM,
    "developer": Role.SYSTEM,
    "user": Role.USER,
    "assistant": Role.ASSISTANT,
    "tool": Role.TOOL,
}


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WireFunction(_Wire):
    name: str = Field(min_length=1, max_length=200)
    arguments: str = "{}"


class WireToolCall(_Wire):
    id: str = Field(min_length=1, max_length=200)
    type: Literal["function"] = "function"
    function: WireFunction


class WireImageUrl(_Wire):
    url: str = Field(min_length=1)


class WirePart(_Wire):
    type: Literal["text", "image_url"]
    text: str | None = None
    image_url: WireImageUrl | None = None


class WireMessage(_Wire):
    """One message of a Chat Completions request."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[WirePart] | None = None
    name: str | None = Field(default=None, max_length=200)
    tool_calls: list[WireToolCall] | None = None
    tool_call_id: str | None = Field(default=None, max_length=200)


def _parts(content: str | list[WirePart] | None, where: str) -> list[ContentPart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(text=content)] if content else []
    parts: list[ContentPart] = []
    for index, item in enumerate(content):
        if item.type == "text":
            parts.append(TextPart(text=item.text or ""))
            continue
        url = item.image_url.url if item.image_url else ""
        if url.startswith("data:") and ";base64," in url:
            header, data = url[5:].split(";base64,", 1)
            parts.append(ImagePart(mime_type=header or "image/png", data=data))
        elif url.startswith(("http://", "https://")):
            parts.append(ImagePart(url=url))
        else:
            raise InvalidInput(f"{where}.content[{index}]: an image_url must be http(s) or data:")
    return parts


def decode_messages(raw: list[WireMessage]) -> list[Message]:
    """An OpenAI `messages` array as our messages (token counts not yet set).

    Raises:
        InvalidInput: messages a model cannot answer (no user message last, a tool result
            without its call id).
    """
    messages: list[Message] = []
    for index, item in enumerate(raw):
        where = f"messages[{index}]"
        role = _ROLES[item.role]
        if role is Role.TOOL and not item.tool_call_id:
            raise InvalidInput(f"{where}: a tool message needs its tool_call_id.")
        calls = [
            ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments)
            for call in item.tool_calls or ()
        ]
        messages.append(
            Message(
                id=str(uuid.uuid4()),
                role=role,
                content=_parts(item.content, where),
                tool_calls=calls if role is Role.ASSISTANT else [],
                tool_call_id=item.tool_call_id if role is Role.TOOL else None,
                name=item.name,
            )
        )
    if not messages or messages[-1].role not in (Role.USER, Role.TOOL):
        raise InvalidInput("The last message must be the user's (or a tool result).")
    return messages


def completion_id() -> str:
    """A new id in OpenAI's `chatcmpl-...` form."""
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def _usage(usage: Usage | None) -> dict[str, int] | None:
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }


def chunk(
    id_: str,
    model: str,
    created: int,
    *,
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    usage: Usage | None = None,
    with_choice: bool = True,
) -> dict[str, Any]:
    """One `chat.completion.chunk` (the usage chunk has no choices)."""
    body: dict[str, Any] = {
        "id": id_,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [],
    }
    if with_choice:
        body["choices"] = [
            {"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}
        ]
    if usage is not None:
        body["usage"] = _usage(usage)
    return body


def completion(
    id_: str, model: str, text: str, finish_reason: str, usage: Usage | None
) -> dict[str, Any]:
    """A whole `chat.completion`."""
    return {
        "id": id_,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": _usage(usage or Usage()),
    }


def model_entry(model: str) -> dict[str, Any]:
    """One entry of `GET /v1/models`, in OpenAI's shape."""
    return {"id": model, "object": "model", "created": 0, "owned_by": "assistant"}
