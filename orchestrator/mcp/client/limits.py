"""How much of what a server sends the hub keeps: results, lists and descriptions are cut.

A server is someone else's program. Without limits, one that answers a tool call with
gigabytes fills the orchestrator's memory, and one with a megabyte-long tool description
fills every prompt. Two bounds apply:

- per message, in the transport, before anything is parsed: an HTTP JSON response is read
  up to `max_message_bytes` and refused past it (the SDK reports it as a parse error for
  that request); an SSE event is bounded the same way by the SDK's `max_sse_event_size`;
  a stdio line likewise (`stdio.bounded_stdio_client`). The request fails with
  `cut_marker` as its message, the connection stays up.
- per item, after parsing: a tool result, a resource's contents or a prompt's messages
  over `max_result_bytes` in all, and each description over `max_description_bytes`, are
  cut, ending with a marker that says how much the server sent.

What remains: a message just under the bound is parsed whole (up to `max_message_bytes`,
16 MiB by default, held briefly before it is cut); and when the hub reaches an admin's or
`mcp.json` server through a proxy from the environment (HTTP_PROXY), httpx routes around
the bounded transport and JSON answers are not bounded (SSE events still are).
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from typing import Any

import httpx2
import mcp_types as types

from orchestrator.domain import (
    AudioPart,
    ContentPart,
    ImagePart,
    JsonPart,
    ResourcePart,
    TextPart,
    ToolOutcome,
)

__all__ = [
    "CUT_PREFIX",
    "Limits",
    "MessageTooLarge",
    "UnwantedEncoding",
    "bounded_transport",
    "cut_marker",
    "cut_parts",
]

CUT_PREFIX = "[… cut: "


@dataclass(frozen=True)
class Limits:
    """`MCP_MAX_RESULT_BYTES` and `MCP_MAX_DESCRIPTION_BYTES`, and the message bound.

    A message may be 4 times the result limit (JSON escaping, base64 and structured copies
    of the same content).
    """

    max_result_bytes: int = 4 * 1024 * 1024
    max_description_bytes: int = 8 * 1024

    @property
    def max_message_bytes(self) -> int:
        """The most one message from a server may hold, before it is parsed."""
        return 4 * self.max_result_bytes

    def cut_description(self, text: str | None) -> str | None:
        """A description cut to `max_description_bytes`, ending with the cut marker."""
        if text is None:
            return None
        return _cut_text(text, self.max_description_bytes)

    def cut_tool(self, tool: types.Tool) -> types.Tool:
        """A tool with its description cut."""
        description = self.cut_description(tool.description)
        if description == tool.description:
            return tool
        return tool.model_copy(update={"description": description})

    def cut_listed(self, item: Any) -> Any:
        """A prompt, resource or template with its description cut."""
        description = getattr(item, "description", None)
        cut = self.cut_description(description)
        if cut == description:
            return item
        return item.model_copy(update={"description": cut})

    def cut_outcome(self, outcome: ToolOutcome) -> ToolOutcome:
        """A tool result cut to `max_result_bytes` in all."""
        parts = cut_parts(outcome.content, self.max_result_bytes)
        if parts is outcome.content:
            return outcome
        return outcome.model_copy(update={"content": parts})


def _size(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{size} bytes"


def cut_marker(sent: int, limit: int, *, more_than: bool = False) -> str:
    """`[… cut: the server sent 12 MB, the limit is 4.0 MB]`."""
    amount = f"more than {_size(sent)}" if more_than else _size(sent)
    return f"{CUT_PREFIX}the server sent {amount}, the limit is {_size(limit)}]"


def _cut_text(text: str, limit: int) -> str:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size <= limit:
        return text
    kept = text.encode("utf-8", "surrogatepass")[:limit].decode("utf-8", "ignore")
    return f"{kept}\n{cut_marker(size, limit)}"


def _part_size(part: ContentPart) -> int:
    if isinstance(part, TextPart):
        return len(part.text.encode("utf-8", "surrogatepass"))
    if isinstance(part, ImagePart | AudioPart):
        return len(part.data or "")
    if isinstance(part, ResourcePart):
        return len(part.text or "") + len(part.blob or "")
    if isinstance(part, JsonPart):
        return len(json.dumps(part.value, ensure_ascii=False, default=str))
    return len(part.model_dump_json())


def cut_parts(parts: list[ContentPart], limit: int) -> list[ContentPart]:
    """The parts, cut to `limit` bytes in all (the same list when nothing was cut).

    Text is kept up to what is left; an image, audio, blob or structured value that does
    not fit whole is replaced by the marker (half of one is of no use).
    """
    sizes = [_part_size(part) for part in parts]
    total = sum(sizes)
    if total <= limit:
        return parts
    left = limit
    kept: list[ContentPart] = []
    for part, size in zip(parts, sizes, strict=True):
        if size <= left:
            kept.append(part)
            left -= size
            continue
        if isinstance(part, TextPart) and left > 0:
            text = part.text.encode("utf-8", "surrogatepass")[:left].decode("utf-8", "ignore")
            kept.append(TextPart(text=text))
        elif isinstance(part, ResourcePart) and part.text is not None and left > 0:
            kept.append(part.model_copy(update={"text": part.text[:left], "blob": None}))
        left = 0
    kept.append(TextPart(text=cut_marker(total, limit)))
    return kept


class MessageTooLarge(httpx2.StreamError):
    """A server's HTTP response is larger than one message may be (see `Limits`)."""


class UnwantedEncoding(httpx2.StreamError):
    """A compressed response although the hub asked for none: its real size is unknown."""


class _BoundedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        read = 0
        async for chunk in self._inner:
            read += len(chunk)
            if read > self._limit:
                raise MessageTooLarge(cut_marker(self._limit, self._limit, more_than=True))
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Refused(httpx2.AsyncByteStream):
    def __init__(self, error: Exception) -> None:
        self._error = error

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        raise self._error
        yield b""  # pragma: no cover - makes this an async generator


class _BoundedTransport(httpx2.AsyncBaseTransport):
    """Bounds the bytes read of each non-streaming (JSON) response.

    The client asks for uncompressed answers (`Accept-Encoding: identity`); a compressed
    JSON answer is refused, since a few kilobytes of gzip can stand for gigabytes.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        kind = response.headers.get("content-type", "").lower()
        if kind.startswith("text/event-stream"):
            return response  # bounded per event by the SDK's max_sse_event_size
        stream = response.stream
        assert isinstance(stream, httpx2.AsyncByteStream)
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            await stream.aclose()
            stream = _Refused(UnwantedEncoding(f"the server sent a {encoding} response"))
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_BoundedStream(stream, self._limit),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def bounded_transport(
    limits: Limits, inner: httpx2.AsyncBaseTransport | None = None
) -> httpx2.AsyncBaseTransport:
    """An HTTP transport (httpx2's default unless `inner`) that refuses oversized messages."""
    return _BoundedTransport(inner or httpx2.AsyncHTTPTransport(), limits.max_message_bytes)
