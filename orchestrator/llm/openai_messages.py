"""Domain messages and tools to OpenAI Chat Completions shapes (and nothing else does this).

Tool messages in Chat Completions carry text only, so a tool result's images and audio
travel in a user message right after the tool results, which is how OpenAI's own guidance
has models look at them.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from orchestrator.domain import (
    AudioPart,
    ContentPart,
    FilePart,
    ImagePart,
    JsonPart,
    Message,
    ResourceLinkPart,
    ResourcePart,
    Role,
    TextPart,
    ToolSpec,
)

__all__ = ["MessageEncoder", "tool_param"]


def tool_param(spec: ToolSpec) -> dict[str, Any]:
    """The `tools` entry of a Chat Completions request for `spec`."""
    function: dict[str, Any] = {"name": spec.name, "parameters": spec.parameters}
    if spec.description:
        function["description"] = spec.description
    return {"type": "function", "function": function}


def _image_url(part: ImagePart) -> str:
    if part.url:
        return part.url
    return f"data:{part.mime_type};base64,{part.data or ''}"


def _part_as_text(part: ContentPart) -> str:
    if isinstance(part, TextPart):
        return part.text
    if isinstance(part, ResourcePart):
        header = f"[Resource {part.uri}" + (f" ({part.mime_type})" if part.mime_type else "") + "]"
        if part.text is not None:
            return f"{header}\n{part.text}"
        return f"{header} binary, {len(part.blob or '') * 3 // 4} bytes"
    if isinstance(part, ResourceLinkPart):
        described = f": {part.description}" if part.description else ""
        return (
            f"[Resource link {part.uri}"
            + (f" ({part.name})" if part.name else "")
            + f"{described}]"
        )
    if isinstance(part, JsonPart):
        return json.dumps(part.value, ensure_ascii=False)
    if isinstance(part, ImagePart):
        return f"[Image ({part.mime_type})]"
    if isinstance(part, FilePart):
        # Runs show files through AttachmentModel; elsewhere the model sees their text.
        described = f'[Attached file "{part.name}" ({part.mime_type}, id {part.file_id})]'
        return f"{described}\n{part.text}" if part.text else described
    return f"[Audio ({part.mime_type})]"


def _user_content(parts: Sequence[ContentPart]) -> str | list[dict[str, Any]]:
    if all(isinstance(part, TextPart) for part in parts):
        return "".join(part.text for part in parts if isinstance(part, TextPart))
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, ImagePart):
            content.append({"type": "image_url", "image_url": {"url": _image_url(part)}})
        elif isinstance(part, AudioPart):
            audio_format = "mp3" if "mp3" in part.mime_type or "mpeg" in part.mime_type else "wav"
            content.append(
                {"type": "input_audio", "input_audio": {"data": part.data, "format": audio_format}}
            )
        else:
            content.append({"type": "text", "text": _part_as_text(part)})
    return content


class MessageEncoder:
    """Encodes messages to request dicts, remembering each message's encoding.

    A long conversation re-sends the same messages every turn; encoding each once keeps a
    turn's cost in the new messages.
    """

    def __init__(self, max_entries: int = 50_000) -> None:
        self._memo: OrderedDict[tuple[str, int, str], list[dict[str, Any]]] = OrderedDict()
        self._max = max_entries

    def encode(self, messages: Sequence[Message]) -> list[dict[str, Any]]:
        """The `messages` of a Chat Completions request.

        Images and audio in tool results go in a user message after the tool messages, since
        the API takes media only from users.
        """
        encoded: list[dict[str, Any]] = []
        media: list[dict[str, Any]] = []
        for message in messages:
            if message.role is not Role.TOOL and media:
                encoded.append({"role": "user", "content": media})
                media = []
            key = (message.id, message.token_count, message.status.value)
            cached = self._memo.get(key)
            if cached is None:
                cached = self._encode_one(message)
                # Inline images (attached files) are large and fetched again each turn.
                inline = any(isinstance(p, ImagePart) and p.data for p in message.content)
                if message.role is not Role.SYSTEM and not inline:
                    self._memo[key] = cached
                    if len(self._memo) > self._max:
                        self._memo.popitem(last=False)
            encoded.append(cached[0])
            if len(cached) > 1:
                media.extend(cached[1]["content"])
        if media:
            encoded.append({"role": "user", "content": media})
        return encoded

    @staticmethod
    def _encode_one(message: Message) -> list[dict[str, Any]]:
        role = message.role
        if role is Role.SYSTEM:
            return [{"role": "system", "content": message.text}]
        if role is Role.USER:
            return [{"role": "user", "content": _user_content(message.content)}]
        if role is Role.ASSISTANT:
            entry: dict[str, Any] = {"role": "assistant", "content": message.text or None}
            if message.tool_calls:
                entry["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call in message.tool_calls
                ]
            return [entry]
        text = "\n".join(_part_as_text(part) for part in message.content) or "(no output)"
        if message.is_error and not message.fault:
            text = f"Error: {text}"  # the tool's own; a host fault's text says whose it is
        entry = {"role": "tool", "tool_call_id": message.tool_call_id, "content": text}
        media = [part for part in message.content if isinstance(part, ImagePart | AudioPart)]
        if not media:
            return [entry]
        media_content = _user_content(
            [TextPart(text=f"(Media returned by {message.name}:)"), *media]
        )
        return [entry, {"role": "user", "content": media_content}]
