"""MCP shapes to ours and back: the one module that converts them.

Tool results keep everything a server returns: text, images, audio, resource links,
embedded resources (text or blob) and structured content. A text block that only repeats
the structured content (which the spec asks servers to add for older clients) is dropped,
so the model does not read the same value twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import mcp_types as types

from orchestrator.domain import (
    AudioPart,
    ContentPart,
    ElicitationAnswer,
    ElicitationRequest,
    ImagePart,
    JsonPart,
    Message,
    ResourceLinkPart,
    ResourcePart,
    Role,
    TextPart,
    ToolOutcome,
)

__all__ = [
    "content_blocks",
    "elicit_result",
    "elicitation_request",
    "outcome_of",
    "part_of",
    "prompt_messages",
    "resource_parts",
    "sampling_messages",
    "sampling_result",
]

SamplingBlock = (
    types.TextContent
    | types.ImageContent
    | types.AudioContent
    | types.ToolUseContent
    | types.ToolResultContent
)


def part_of(block: types.ContentBlock) -> ContentPart:
    """One MCP content block as a content part."""
    if isinstance(block, types.TextContent):
        return TextPart(text=block.text)
    if isinstance(block, types.ImageContent):
        return ImagePart(mime_type=block.mime_type, data=block.data)
    if isinstance(block, types.AudioContent):
        return AudioPart(mime_type=block.mime_type, data=block.data)
    if isinstance(block, types.ResourceLink):
        return ResourceLinkPart(
            uri=str(block.uri),
            name=block.title or block.name,
            mime_type=block.mime_type,
            description=block.description,
        )
    return _resource_part(block.resource)


def _resource_part(
    contents: types.TextResourceContents | types.BlobResourceContents,
) -> ResourcePart:
    if isinstance(contents, types.TextResourceContents):
        return ResourcePart(uri=str(contents.uri), mime_type=contents.mime_type, text=contents.text)
    return ResourcePart(uri=str(contents.uri), mime_type=contents.mime_type, blob=contents.blob)


_JSON_START = frozenset('{["-0123456789tfn')


def _repeats(text: str, structured: Any) -> bool:
    """Whether a text block only repeats the structured content (or its lone `result`)."""
    if text[:1] not in _JSON_START:
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return False
    if value == structured:
        return True
    return (
        isinstance(structured, dict)
        and list(structured) == ["result"]
        and (value == structured["result"])
    )


def outcome_of(result: types.CallToolResult) -> ToolOutcome:
    """A tool's result as the loop's outcome; `is_error` results stay errors.

    When the structured content is only a wrapped string that a text block already says,
    the text is kept; when a text block is only the JSON of the structured content, the
    structured value is kept.
    """
    structured = result.structured_content
    texts = [block.text for block in result.content if isinstance(block, types.TextContent)]
    wrapped = (
        structured["result"]
        if isinstance(structured, dict) and list(structured) == ["result"]
        else None
    )
    if isinstance(wrapped, str) and wrapped in texts:
        structured = None
    parts: list[ContentPart] = []
    for block in result.content:
        if (
            structured is not None
            and isinstance(block, types.TextContent)
            and _repeats(block.text, structured)
        ):
            continue
        parts.append(part_of(block))
    if structured is not None:
        parts.append(JsonPart(value=structured))
    if not parts:
        parts.append(TextPart(text="(no output)" if not result.is_error else "(error)"))
    return ToolOutcome(content=parts, is_error=bool(result.is_error))


def resource_parts(result: types.ReadResourceResult) -> list[ContentPart]:
    """A resource's contents as parts to attach to a message."""
    return [_resource_part(contents) for contents in result.contents]


def _role(value: str) -> Role:
    return Role.ASSISTANT if value == "assistant" else Role.USER


def prompt_messages(result: types.GetPromptResult, new_id: Any) -> list[Message]:
    """A prompt's messages as conversation messages (user and assistant turns)."""
    return [
        Message(id=new_id(), role=_role(message.role), content=[part_of(message.content)])
        for message in result.messages
    ]


def content_blocks(parts: Sequence[ContentPart]) -> list[types.ContentBlock]:
    """Our parts as MCP content blocks (for results we hand back to servers)."""
    blocks: list[types.ContentBlock] = []
    for part in parts:
        if isinstance(part, TextPart):
            blocks.append(types.TextContent(type="text", text=part.text))
        elif isinstance(part, ImagePart) and part.data:
            blocks.append(
                types.ImageContent(type="image", data=part.data, mime_type=part.mime_type)
            )
        elif isinstance(part, AudioPart):
            blocks.append(
                types.AudioContent(type="audio", data=part.data, mime_type=part.mime_type)
            )
        elif isinstance(part, JsonPart):
            blocks.append(types.TextContent(type="text", text=json.dumps(part.value)))
        elif isinstance(part, ResourceLinkPart):
            blocks.append(
                types.ResourceLink(
                    type="resource_link",
                    uri=part.uri,
                    name=part.name or part.uri,
                    mime_type=part.mime_type,
                    description=part.description,
                )
            )
        elif isinstance(part, ResourcePart):
            contents: types.TextResourceContents | types.BlobResourceContents
            if part.blob is not None:
                contents = types.BlobResourceContents(
                    uri=part.uri, mime_type=part.mime_type, blob=part.blob
                )
            else:
                contents = types.TextResourceContents(
                    uri=part.uri, mime_type=part.mime_type, text=part.text or ""
                )
            blocks.append(types.EmbeddedResource(type="resource", resource=contents))
        elif isinstance(part, ImagePart) and part.url:
            blocks.append(types.TextContent(type="text", text=f"[image: {part.url}]"))
    return blocks


def _sampling_part(block: SamplingBlock) -> list[ContentPart]:
    if isinstance(block, types.TextContent | types.ImageContent | types.AudioContent):
        return [part_of(block)]
    if isinstance(block, types.ToolUseContent):
        return [TextPart(text=f"[tool call {block.name}: {json.dumps(block.input)}]")]
    inner = [part_of(item) for item in block.content]
    return [TextPart(text=f"[tool result for {block.tool_use_id}]"), *inner]


def sampling_messages(params: types.CreateMessageRequestParams, new_id: Any) -> list[Message]:
    """A server's sampling request as a conversation for our model, system prompt first."""
    messages: list[Message] = []
    if params.system_prompt:
        messages.append(
            Message(id=new_id(), role=Role.SYSTEM, content=[TextPart(text=params.system_prompt)])
        )
    for message in params.messages:
        blocks = message.content if isinstance(message.content, list) else [message.content]
        parts = [part for block in blocks for part in _sampling_part(block)]
        messages.append(Message(id=new_id(), role=_role(message.role), content=parts))
    return messages


def sampling_result(text: str, model: str, stop_reason: str | None) -> types.CreateMessageResult:
    """The model's answer to a server's sampling request, in MCP's shape."""
    reason = {"stop": "endTurn", "length": "maxTokens"}.get(stop_reason or "stop", "endTurn")
    return types.CreateMessageResult(
        role="assistant",
        content=types.TextContent(type="text", text=text),
        model=model,
        stop_reason=reason,
    )


def elicitation_request(params: types.ElicitRequestParams) -> ElicitationRequest:
    """A server's question to the user (a form, or a page to visit), in our shape."""
    if isinstance(params, types.ElicitRequestURLParams):
        return ElicitationRequest(mode="url", message=params.message, url=params.url)
    return ElicitationRequest(
        mode="form", message=params.message, requested_schema=dict(params.requested_schema)
    )


def elicit_result(answer: ElicitationAnswer) -> types.ElicitResult:
    """The user's answer, in MCP's shape; an unknown action reads as `cancel`."""
    action = answer.action if answer.action in ("accept", "decline", "cancel") else "cancel"
    content = answer.content if action == "accept" else None
    return types.ElicitResult(action=action, content=content)  # pyright: ignore[reportArgumentType]
