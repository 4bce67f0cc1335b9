"""Provider-neutral messages: what a conversation is made of.

A message holds a list of content parts (text, images, audio, resources, structured
values), and an assistant message may carry tool calls. Tool results are messages with the
`tool` role that answer one call by id. Conversion to OpenAI's shapes lives in
`orchestrator.llm`, to MCP's in `orchestrator.mcp`; nothing here knows either.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AudioPart",
    "ContentPart",
    "FilePart",
    "ImagePart",
    "JsonPart",
    "Message",
    "MessageStatus",
    "ResourceLinkPart",
    "ResourcePart",
    "Role",
    "TextPart",
    "ToolCall",
    "ToolFault",
    "Usage",
    "text_of",
]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TextPart(_Part):
    """Plain text, the common case."""

    type: Literal["text"] = "text"
    text: str


class ImagePart(_Part):
    """An image, inline (base64 `data`) or by `url`."""

    type: Literal["image"] = "image"
    mime_type: str = "image/png"
    data: str | None = None
    url: str | None = None


class AudioPart(_Part):
    """Audio, inline as base64 `data`."""

    type: Literal["audio"] = "audio"
    mime_type: str = "audio/wav"
    data: str


class ResourceLinkPart(_Part):
    """A pointer to a resource the user or the model can read later."""

    type: Literal["resource_link"] = "resource_link"
    uri: str
    name: str | None = None
    mime_type: str | None = None
    description: str | None = None


class ResourcePart(_Part):
    """A resource's contents embedded in the message: `text` or base64 `blob`."""

    type: Literal["resource"] = "resource"
    uri: str
    mime_type: str | None = None
    text: str | None = None
    blob: str | None = None


class JsonPart(_Part):
    """A structured value, such as a tool's structured content."""

    type: Literal["json"] = "json"
    value: Any


class FilePart(_Part):
    """A file the user attached (`POST /api/v1/files`), by id, as the message records it.

    `text` is what the model is shown of a text-like file (bounded; `truncated` says so);
    an image is fetched from storage when the message goes to a model. `document_id` is
    the file's document in the user's knowledge, when it was indexed there.
    """

    type: Literal["file"] = "file"
    file_id: str
    name: str
    mime_type: str
    size: int
    text: str | None = None
    truncated: bool = False
    document_id: str | None = None


ContentPart = Annotated[
    TextPart | ImagePart | AudioPart | ResourceLinkPart | ResourcePart | JsonPart | FilePart,
    Field(discriminator="type"),
]


class Role(StrEnum):
    """Who wrote a message: the system prompt, the user, the model, or a tool's result."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


ToolFault = Literal["host"]
"""Why a tool call has no answer from its tool: "host", the tool server failed or was
unreachable (as opposed to a tool that answered with an error of its own)."""


class MessageStatus(StrEnum):
    """Whether a message is whole. A run that fails or is cancelled keeps what it wrote."""

    COMPLETE = "complete"
    PARTIAL = "partial"


class Usage(BaseModel):
    """Tokens a model call or a run consumed; runs add up their calls' usage with `+`."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input and output tokens together."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


class ToolCall(BaseModel):
    """A function call the model asked for.

    `id` is ours and globally unique: it names the call in events, approvals and the tool
    message that answers it, and it is what the model sees as the call id on later turns.
    `arguments` is the JSON text exactly as the model wrote it, valid or not.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> dict[str, Any] | None:
        """The arguments as an object, or None when the model wrote something else."""
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        return value  # pyright: ignore[reportUnknownVariableType]


class Message(BaseModel):
    """One message of a conversation.

    `token_count` is the message's size in the model's tokens, counted once when the message
    is made, so that fitting a history into a context window never re-tokenises it.
    `parent_id` is the message it follows in the conversation's tree (None for a first
    message); set when the message is stored. A tool message whose call got no answer
    because the tool server failed has `fault="host"` (and `is_error`): its content is the
    host's report, not the tool's (see `ToolOutcome`).
    """

    id: str
    role: Role
    parent_id: str | None = None
    content: list[ContentPart] = Field(default_factory=list[ContentPart])
    tool_calls: list[ToolCall] = Field(default_factory=list[ToolCall])
    tool_call_id: str | None = None
    name: str | None = None
    model: str | None = None
    usage: Usage | None = None
    status: MessageStatus = MessageStatus.COMPLETE
    token_count: int = 0
    created_at: datetime | None = None
    is_error: bool = False
    fault: ToolFault | None = None

    @property
    def text(self) -> str:
        """The message's text parts, joined (see `text_of`)."""
        return text_of(self.content)


def text_of(parts: list[ContentPart]) -> str:
    """The text of the parts, joined; non-text parts are left out."""
    return "".join(part.text for part in parts if isinstance(part, TextPart))
