"""The load generator's client: one streamed request over a bare asyncio protocol.

httpx and the OpenAI SDK cost tens of microseconds per chunk; at a thousand streams of
20 tok/s that would make the load generator the bottleneck. This client writes the request
by hand and only looks for two things in the response bytes: the upstream's send stamps
(`t<ns>;`, see `benchmarks.upstream`), whatever SSE dialect carries them, and the end of the
stream (`run.completed` or `error` for our API, `[DONE]` for OpenAI's).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, cast

from benchmarks.upstream import stamps

__all__ = ["Endpoint", "Stream", "StreamResult", "open_stream", "stream_once"]

_ENDS = (b"event: run.completed", b"event: error", b"data: [DONE]")
ALWAYS = range(0, 2**63)
"""Every stamp (monotonic nanoseconds): lateness of every chunk."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to send one kind of streamed request."""

    name: str
    host: str
    port: int
    headers: dict[str, str] = field(default_factory=dict)

    def request(self, path: str, body: dict[str, Any]) -> bytes:
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Content-Type: application/json",
            "Accept: text/event-stream",
            f"Content-Length: {len(payload)}",
            *(f"{key}: {value}" for key, value in self.headers.items()),
        ]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


@dataclass
class StreamResult:
    """What one stream did; times are `time.monotonic_ns()`."""

    sent: int = 0
    first: int | None = None
    done: int | None = None
    status: int = 0
    chunks: int = 0
    lateness: list[int] = field(default_factory=list)
    completed: bool = False
    error: str | None = None

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first is None else (self.first - self.sent) / 1e6

    @property
    def ok(self) -> bool:
        return self.completed and self.error is None and self.status == 200


class _Stream(asyncio.Protocol):
    def __init__(
        self, request: bytes, result: StreamResult, *, keep_lateness: bool, window: range
    ) -> None:
        self.request = request
        self.result = result
        self.keep_lateness = keep_lateness
        self.window = window
        self.head = b""
        self.tail = b""
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        result = self.result
        if not result.status:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            status_line = self.head.split(b"\r\n", 1)[0].split(b" ")
            result.status = int(status_line[1]) if len(status_line) > 1 else 0
            data = self.head[end + 4 :]
            self.head = b""
            if result.status != 200:
                result.error = f"HTTP {result.status}: {data[:300]!r}"
                self._finish()
                return
        data = self.tail + data
        cut = data.rfind(b"\n") + 1
        self.tail = data[cut:]
        if not cut:
            return
        block = data[:cut]
        found = stamps(block)
        if found:
            if result.first is None:
                result.first = now
                self.first.set_result(None)
            result.chunks += len(found)
            if self.keep_lateness:
                window = self.window
                result.lateness.extend(now - stamp for stamp in found if stamp in window)
        if any(marker in block for marker in _ENDS):
            if b"event: error" in block:
                result.error = block[block.find(b"event: error") :][:300].decode(errors="replace")
            result.completed = True
            result.done = now
            self._finish()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.result.completed and self.result.error is None:
            self.result.error = f"connection closed: {exc or 'by the server'}"
        self._finish()

    def close(self) -> None:
        """Stop reading: the stream ends here (the server may go on with its run)."""
        self._finish()

    def _finish(self) -> None:
        if not self.first.done():
            self.first.set_result(None)
        if not self.ended.done():
            self.ended.set_result(None)
        if self.transport is not None:
            self.transport.close()


class Stream:
    """An open stream: `result` fills in as it arrives.

    `first` is done at its first content chunk (or its end), `ended` when it ends.
    """

    def __init__(self, protocol: _Stream) -> None:
        self._protocol = protocol
        self.result = protocol.result
        self.first = protocol.first
        self.ended = protocol.ended

    def close(self) -> None:
        self._protocol.close()


async def open_stream(
    endpoint: Endpoint,
    path: str,
    body: dict[str, Any],
    *,
    keep_lateness: bool = True,
    window: range = ALWAYS,
) -> Stream:
    """Send the request and return at once; lateness counts the chunks stamped in `window`."""
    loop = asyncio.get_running_loop()
    result = StreamResult(sent=time.monotonic_ns())
    protocol = _Stream(
        endpoint.request(path, body), result, keep_lateness=keep_lateness, window=window
    )
    try:
        await loop.create_connection(lambda: protocol, endpoint.host, endpoint.port)
    except OSError as error:
        result.error = f"connect: {error}"
        protocol.close()
    return Stream(protocol)


async def stream_once(
    endpoint: Endpoint,
    path: str,
    body: dict[str, Any],
    *,
    limit: float,
    keep_lateness: bool = True,
    window: range = ALWAYS,
) -> StreamResult:
    """One whole stream, bounded by `limit` seconds."""
    stream = await open_stream(endpoint, path, body, keep_lateness=keep_lateness, window=window)
    try:
        await asyncio.wait_for(asyncio.shield(stream.ended), limit)
    except TimeoutError:
        stream.result.error = stream.result.error or f"timed out after {limit:.0f} s"
        stream.close()
    return stream.result
