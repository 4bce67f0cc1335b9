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
    ToolFault,
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
    """An email and password to log in with."""

    model_config = _Strict
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    """A refresh token to exchange for a new token pair; it can be used once."""

    model_config = _Strict
    refresh_token: str = Field(min_length=1, max_length=4096)


class TokenResponse(BaseModel):
    """A bearer access token, and the refresh token that renews it."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type
    expires_in: int = Field(description="Seconds until the access token expires.")


class UserOut(BaseModel):
    """The signed-in user."""

    id: str
    email: str
    is_admin: bool


class ApiKeyCreate(BaseModel):
    """A new API key's name, to tell keys apart."""

    model_config = _Strict
    name: str = Field(default="default", min_length=1, max_length=100)


class ApiKeyOut(BaseModel):
    """An API key as listed: its name and prefix, never the secret."""

    id: str
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    """A new API key, with its secret."""

    key: str = Field(description="The secret. Shown once: store it now.")


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


class RunAccepted(BaseModel):
    """A run started; its events are at `GET /api/v1/runs/{run_id}/events`."""

    run_id: str
    conversation_id: str


class RunOut(BaseModel):
    """A run: its status, model, token usage and last event id.

    `error` holds the `type` and `message` of a failed run; `last_event_id` is where an event
    stream ends so far (send it as `Last-Event-ID` to resume after it).
    """

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
        """The API's view of a stored run."""
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
    """Options of a tool call's approval."""

    model_config = _Strict
    always: bool = Field(
        default=False,
        description="Also allow this tool from now on, without asking (approve only).",
    )


class DecisionOut(BaseModel):
    """A decision on a tool call that waited for the user, as recorded."""

    tool_call_id: str
    run_id: str
    approved: bool
    always: bool | None = Field(
        default=None, description="True when the tool is allowed from now on (else absent)."
    )


class ToolGrantOut(BaseModel):
    """A tool the user allowed from now on, without being asked."""

    tool: str = Field(description="A tool name as GET /api/v1/tools lists it.")
    created_at: datetime


class ToolGrantList(BaseModel):
    """The tools the user allowed from now on."""

    items: list[ToolGrantOut]


class InputAnswer(BaseModel):
    """The answer to an `input.required` event: accept with `content`, decline or cancel."""

    model_config = _Strict
    id: str = Field(
        min_length=1, max_length=100, description="The `id` of the input.required event."
    )
    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None


class ToolOut(BaseModel):
    """A tool the user's runs may call, as the model sees it.

    `policy` says whether a call runs at once (auto), waits for approval (ask) or never runs
    (deny); `token_cost` is what its schema adds to each request.
    """

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
        """The API's view of a tool spec."""
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
    """Every tool the user's runs may call, namespaced per server."""

    items: list[ToolOut]


class UsageRow(BaseModel):
    """Runs and tokens of one user on one model."""

    user_id: str
    email: str | None = None
    model: str
    runs: int
    input_tokens: int
    output_tokens: int


class UsageOut(BaseModel):
    """Usage per user and model."""

    items: list[UsageRow]


class ModelOut(BaseModel):
    """A model runs can use: its id, and where it runs (`provider`)."""

    id: str
    provider: str
    default: bool


class ModelList(BaseModel):
    """The models on offer, and whether one is configured at all.

    `message` says what to set when none is, or describes the one in use.
    """

    items: list[ModelOut]
    configured: bool
    message: str | None = None


class Health(BaseModel):
    """The process is up (liveness)."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Whether the server can take runs: each check is `ok` or what is wrong."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, str]
