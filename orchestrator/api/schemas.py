"""Request and response bodies of the HTTP API (they are the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from orchestrator.domain import (
    ContentPart,
    Conversation,
    FilePart,
    ImagePart,
    Message,
    Run,
    Summary,
    TextPart,
    ToolCall,
    ToolSpec,
    Usage,
)

__all__ = [
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyOut",
    "AttachmentOut",
    "BranchSwitch",
    "ConversationCreate",
    "ConversationDetail",
    "ConversationExport",
    "ConversationOut",
    "ConversationPage",
    "ConversationRename",
    "DecisionOut",
    "Health",
    "InputAnswer",
    "MessageCreate",
    "MessageOut",
    "ModelList",
    "PromptRef",
    "Readiness",
    "RefreshRequest",
    "RegenerateRequest",
    "ResourceRef",
    "RunAccepted",
    "RunOut",
    "SummaryOut",
    "TokenRequest",
    "TokenResponse",
    "ToolList",
    "ToolOut",
    "UsageOut",
    "UserOut",
]

_Strict = ConfigDict(extra="forbid")


class TokenRequest(BaseModel):
    model_config = _Strict
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    model_config = _Strict
    refresh_token: str = Field(min_length=1, max_length=4096)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type
    expires_in: int = Field(description="Seconds until the access token expires.")


class UserOut(BaseModel):
    id: str
    email: str
    is_admin: bool


class ApiKeyCreate(BaseModel):
    model_config = _Strict
    name: str = Field(default="default", min_length=1, max_length=100)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret. Shown once: store it now.")


class ConversationCreate(BaseModel):
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
    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    message_count: int
    pinned: bool = False

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationOut:
        return cls(
            id=conversation.id,
            title=conversation.title,
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
            message_count=conversation.message_count,
            pinned=conversation.pinned,
        )


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page.")


class AttachmentOut(BaseModel):
    """A file attached to a message (`GET /api/v1/files/{id}/content` downloads it)."""

    id: str
    name: str
    content_type: str
    size: int


class MessageOut(BaseModel):
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
    is_error: bool = False
    created_at: datetime | None = None

    @classmethod
    def of(cls, message: Message, siblings: list[str] | None = None) -> MessageOut:
        """`siblings`: the ids of the messages sharing its place (with its own), if several."""
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
        return cls(**summary.model_dump(exclude={"conversation_id"}))


class ConversationDetail(ConversationOut):
    messages: list[MessageOut] = Field(
        description="The active branch, first message first (`PUT .../branch` switches it)."
    )
    summaries: list[SummaryOut] = Field(
        default_factory=list[SummaryOut],
        description="Summaries on the active branch's messages, oldest first.",
    )


class ConversationExport(ConversationDetail):
    branch: Literal["active"] = Field(
        default="active",
        description="What `messages` holds: the active branch, as in the chat; other branches "
        "are left out.",
    )


class RegenerateRequest(BaseModel):
    model_config = _Strict
    model: str | None = Field(default=None, min_length=1, max_length=200)
    tools: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=256, description="As for a new message."
    )


class BranchSwitch(BaseModel):
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


class RunAccepted(BaseModel):
    run_id: str
    conversation_id: str


class RunOut(BaseModel):
    id: str
    conversation_id: str
    status: str
    model: str
    created_at: datetime
    finished_at: datetime | None = None
    error: dict[str, Any] | None = None
    usage: Usage
    last_event_id: int

    @classmethod
    def of(cls, run: Run) -> RunOut:
        return cls(
            id=run.id,
            conversation_id=run.conversation_id,
            status=run.status.value,
            model=run.model,
            created_at=run.created_at,
            finished_at=run.finished_at,
            error=run.error,
            usage=run.usage,
            last_event_id=run.last_event_id,
        )


class DecisionIn(BaseModel):
    model_config = _Strict
    always: bool = Field(
        default=False,
        description="Also allow this tool from now on, without asking (approve only).",
    )


class DecisionOut(BaseModel):
    tool_call_id: str
    run_id: str
    approved: bool
    always: bool | None = Field(
        default=None, description="True when the tool is allowed from now on (else absent)."
    )


class ToolGrantOut(BaseModel):
    tool: str = Field(description="A tool name as GET /api/v1/tools lists it.")
    created_at: datetime


class ToolGrantList(BaseModel):
    items: list[ToolGrantOut]


class InputAnswer(BaseModel):
    model_config = _Strict
    id: str = Field(
        min_length=1, max_length=100, description="The `id` of the input.required event."
    )
    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None


class ToolOut(BaseModel):
    name: str
    server: str
    tool: str
    description: str
    parameters: dict[str, Any]
    policy: str
    annotations: dict[str, Any]
    token_cost: int

    @classmethod
    def of(cls, spec: ToolSpec) -> ToolOut:
        return cls(
            name=spec.name,
            server=spec.server,
            tool=spec.tool,
            description=spec.description,
            parameters=spec.parameters,
            policy=spec.policy.value,
            annotations=spec.annotations,
            token_cost=spec.token_cost,
        )


class ToolList(BaseModel):
    items: list[ToolOut]


class UsageRow(BaseModel):
    user_id: str
    email: str | None = None
    model: str
    runs: int
    input_tokens: int
    output_tokens: int


class UsageOut(BaseModel):
    items: list[UsageRow]


class ModelOut(BaseModel):
    id: str
    provider: str
    default: bool


class ModelList(BaseModel):
    items: list[ModelOut]
    configured: bool
    message: str | None = None


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]
