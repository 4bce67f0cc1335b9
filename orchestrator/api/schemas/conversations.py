"""Conversations and their messages: what is listed, read, exported and sent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from orchestrator.domain import (
    ContentPart,
    Conversation,
    FilePart,
    ImagePart,
    Message,
    Summary,
    TextPart,
    ToolCall,
    ToolFault,
    Usage,
)

__all__ = [
    "AttachmentOut",
    "BranchSwitch",
    "ConversationCreate",
    "ConversationDetail",
    "ConversationExport",
    "ConversationOut",
    "ConversationPage",
    "ConversationRename",
    "MessageCreate",
    "MessageOut",
    "PromptRef",
    "RegenerateRequest",
    "ResourceRef",
    "SummaryOut",
]

_Strict = ConfigDict(extra="forbid")


class ConversationCreate(BaseModel):
    """A new conversation, titled "New conversation" unless a title is given."""

    model_config = _Strict
    title: str | None = Field(default=None, max_length=200)


class ConversationRename(BaseModel):
    """A new title, a pin, or both."""

    model_config = _Strict
    title: str | None = Field(default=None, min_length=1, max_length=200)
    pinned: StrictBool | None = Field(default=None, description="Pinned conversations list first.")

    @field_validator("title")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _something(self) -> ConversationRename:
        if self.title is None and self.pinned is None:
            raise ValueError("give a title, pinned, or both")
        return self


class ConversationOut(BaseModel):
    """A conversation as listed, without its messages."""

    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    message_count: int
    pinned: bool = False

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationOut:
        """The API's view of a stored conversation."""
        return cls(
            id=conversation.id,
            title=conversation.title,
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
            message_count=conversation.message_count,
            pinned=conversation.pinned,
        )


class ConversationPage(BaseModel):
    """One page of conversations: pinned first, then the most recently changed."""

    items: list[ConversationOut]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page.")


class AttachmentOut(BaseModel):
    """A file attached to a message (`GET /api/v1/files/{id}/content` downloads it)."""

    id: str
    name: str
    content_type: str
    size: int


class MessageOut(BaseModel):
    """A message of a conversation, with where it sits among its alternatives."""

    id: str
    parent_id: str | None = Field(
        default=None, description="The message this one follows; null for a first message."
    )
    siblings: int = Field(
        default=1, description="How many alternatives (edits, regenerations) share its place."
    )
    sibling_index: int = Field(
        default=0, description="Its position among them, 0-based, oldest first."
    )
    sibling_ids: list[str] = Field(
        default_factory=list[str],
        description="With siblings: all their ids in that order (for `PUT .../branch`).",
    )
    role: str
    content: list[ContentPart]
    attachments: list[AttachmentOut] = Field(default_factory=list[AttachmentOut])
    tool_calls: list[ToolCall] = Field(default_factory=list[ToolCall])
    tool_call_id: str | None = None
    name: str | None = None
    model: str | None = None
    usage: Usage | None = None
    status: str
    is_error: bool = Field(
        default=False,
        description="On a tool message: the call failed (the tool's own error, or a `fault`).",
    )
    fault: ToolFault | None = Field(
        default=None,
        description=(
            'On a tool message: "host" when the tool server failed or could not be reached, '
            "so the content is the host's report and not the tool's answer; null otherwise."
        ),
    )
    created_at: datetime | None = None

    @classmethod
    def of(cls, message: Message, siblings: list[str] | None = None) -> MessageOut:
        """The API's view of a stored message; attached files are listed apart from its content.

        `siblings` are the ids of the messages sharing its place (its own included), if several.
        """
        files = [part for part in message.content if isinstance(part, FilePart)]
        return cls(
            id=message.id,
            parent_id=message.parent_id,
            siblings=len(siblings) if siblings else 1,
            sibling_index=siblings.index(message.id) if siblings else 0,
            sibling_ids=siblings or [],
            role=message.role.value,
            content=[part for part in message.content if not isinstance(part, FilePart)],
            attachments=[
                AttachmentOut(id=f.file_id, name=f.name, content_type=f.mime_type, size=f.size)
                for f in files
            ],
            tool_calls=message.tool_calls,
            tool_call_id=message.tool_call_id,
            name=message.name,
            model=message.model,
            usage=message.usage,
            status=message.status.value,
            is_error=message.is_error,
            fault=message.fault,
            created_at=message.created_at,
        )


class SummaryOut(BaseModel):
    """A summary of the conversation's older turns, which the model reads instead of them.

    It covers the messages from `first_message_id` up to `last_message_id`
    (`message_count` of them) and sits right after that last one; they stay stored.
    """

    id: str
    first_message_id: str
    last_message_id: str
    message_count: int
    text: str
    token_count: int
    tokens_before: int
    tokens_after: int
    model: str | None = None
    created_at: datetime | None = None

    @classmethod
    def of(cls, summary: Summary) -> SummaryOut:
        """The API's view of a stored summary."""
        return cls(**summary.model_dump(exclude={"conversation_id"}))


class ConversationDetail(ConversationOut):
    """A conversation with the messages of its active branch."""

    messages: list[MessageOut] = Field(
        description="The active branch, first message first (`PUT .../branch` switches it)."
    )
    summaries: list[SummaryOut] = Field(
        default_factory=list[SummaryOut],
        description="Summaries on the active branch's messages, oldest first.",
    )


class ConversationExport(ConversationDetail):
    """A conversation's active branch as a download."""

    branch: Literal["active"] = Field(
        default="active",
        description="What `messages` holds: the active branch, as in the chat; other branches "
        "are left out.",
    )


class RegenerateRequest(BaseModel):
    """Options for a new answer in place of one: another model, other tools."""

    model_config = _Strict
    model: str | None = Field(default=None, min_length=1, max_length=200)
    tools: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=256, description="As for a new message."
    )


class BranchSwitch(BaseModel):
    """The branch to show and continue, named by any of its messages."""

    model_config = _Strict
    message_id: UUID = Field(description="Any message of the branch to show and continue.")


UserPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]


class ResourceRef(BaseModel):
    """An MCP resource to attach (see GET /api/v1/mcp/resources)."""

    model_config = _Strict
    server: str = Field(min_length=1, max_length=63)
    uri: str = Field(min_length=1, max_length=4000)


class PromptRef(BaseModel):
    """An MCP prompt to start from, with its arguments (see GET /api/v1/mcp/prompts)."""

    model_config = _Strict
    server: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    arguments: dict[str, str] = Field(default_factory=dict[str, str])


class MessageCreate(BaseModel):
    """A user's message, which starts a run that answers it.

    It needs `content`, `files` or a `prompt`.
    """

    model_config = _Strict
    content: str | list[UserPart] | None = Field(
        default=None,
        description="The message: text, or a list of text and image parts "
        "(optional when starting from a `prompt`).",
    )
    resources: list[ResourceRef] | None = Field(
        default=None, max_length=20, description="MCP resources attached to the message."
    )
    prompt: PromptRef | None = Field(
        default=None, description="An MCP prompt whose messages start this message."
    )
    files: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None,
        max_length=20,
        description="Ids of your files (POST /api/v1/files) attached to the message.",
    )
    model: str | None = Field(default=None, min_length=1, max_length=200)
    tools: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None,
        max_length=256,
        description="Names of the tools this run may use (GET /api/v1/tools); all when omitted.",
    )

    def parts(self) -> list[ContentPart]:
        """The message's content as parts (a string is one text part)."""
        if self.content is None:
            return []
        if isinstance(self.content, str):
            return [TextPart(text=self.content)]
        return list(self.content)

    @model_validator(mode="after")
    def _content_or_prompt(self) -> MessageCreate:
        if self.content is None and self.prompt is None and not self.files:
            raise ValueError("a message needs `content`, `files` or a `prompt`")
        return self

    @field_validator("content")
    @classmethod
    def _not_empty(
        cls, value: str | list[TextPart | ImagePart] | None
    ) -> str | list[TextPart | ImagePart] | None:
        if value is None:
            return None
        if isinstance(value, str):
            if not value.strip():
                raise ValueError("must not be empty")
            return value.replace("\x00", "\ufffd")
        if not value:
            raise ValueError("must not be empty")
        has_content = False
        for part in value:
            if isinstance(part, TextPart):
                has_content = has_content or bool(part.text.strip())
            else:
                if not part.data and not part.url:
                    raise ValueError("an image needs `data` (base64) or `url`")
                if part.url and not part.url.startswith(("https://", "http://", "data:")):
                    raise ValueError("an image url must be http(s) or a data: URL")
                has_content = True
        if not has_content:
            raise ValueError("must not be empty")
        return value
