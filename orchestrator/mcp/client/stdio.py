"""The SDK's stdio transport with each line from the server bounded.

The SDK's `stdio_client` reads the server's stdout as text and joins a line's chunks
with `buffer + chunk` until a newline comes: a server that writes one huge line makes the
hub hold all of it (and copy it over and over, quadratic in its length). This is the same
transport, process handling included (the SDK's own helpers), with a reader that keeps at
most `max_line_bytes` of a line. Past that it discards the rest of the line and answers
the request it belonged to (its `id` is read from the line's start) with an error that
carries the cut marker; the connection goes on.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any, TextIO

import anyio
import anyio.lowlevel
import mcp_types as types
from mcp.client import stdio as sdk
from mcp.client.stdio import StdioServerParameters
from mcp.shared.message import SessionMessage

from orchestrator.mcp.client.limits import cut_marker

__all__ = ["bounded_stdio_client"]

logger = logging.getLogger(__name__)

_ID = re.compile(rb'"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.){0,200}")')
_HEAD_BYTES = 512


def _too_long(head: bytes, size: int, limit: int) -> SessionMessage | Exception:
    marker = cut_marker(size, limit, more_than=True)
    found = _ID.search(head)
    if found is None:
        return ValueError(f"A line from the server was too long: {marker}")
    raw = found.group(1)
    request_id: int | str = int(raw) if raw[:1] != b'"' else raw[1:-1].decode("utf-8", "replace")
    error = types.ErrorData(code=types.INTERNAL_ERROR, message=marker)
    return SessionMessage(types.JSONRPCError(jsonrpc="2.0", id=request_id, error=error))


def _parse(line: bytes, encoding: str, errors: str) -> SessionMessage | Exception:
    try:
        text = line.decode(encoding, errors)
    except UnicodeDecodeError as error:
        return error
    return sdk._parse_line(text)  # pyright: ignore[reportPrivateUsage]


@asynccontextmanager
async def bounded_stdio_client(
    server: StdioServerParameters, *, max_line_bytes: int, errlog: TextIO = sys.stderr
) -> AsyncGenerator[tuple[Any, Any], None]:
    """`mcp.client.stdio.stdio_client`, keeping at most `max_line_bytes` of each line.

    Raises:
        OSError: the server process cannot be spawned.
    """
    command = await sdk._get_executable_command(server.command)  # pyright: ignore[reportPrivateUsage]
    process = await sdk._create_platform_compatible_process(  # pyright: ignore[reportPrivateUsage]
        command=command,
        args=server.args,
        env=sdk.get_default_environment() | (server.env or {}),
        errlog=errlog,
        cwd=server.cwd,
    )
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    shutting_down = False
    writer_done = anyio.Event()

    async def deliver(item: SessionMessage | Exception) -> None:
        await read_writer.send(item)

    async def stdout_reader() -> None:
        assert process.stdout is not None
        try:
            async with read_writer:
                try:
                    parts: list[bytes] = []
                    size = 0
                    head = b""
                    while True:
                        try:
                            chunk = await process.stdout.receive()
                        except anyio.EndOfStream:
                            return
                        while chunk:
                            end = chunk.find(b"\n")
                            piece = chunk if end < 0 else chunk[:end]
                            chunk = b"" if end < 0 else chunk[end + 1 :]
                            if len(head) < _HEAD_BYTES:
                                head += piece[: _HEAD_BYTES - len(head)]
                            size += len(piece)
                            if size <= max_line_bytes:
                                parts.append(piece)
                            else:
                                parts.clear()  # the rest of this line is discarded
                            if end < 0:
                                break
                            if size > max_line_bytes:
                                item = _too_long(head, size, max_line_bytes)
                            else:
                                line = b"".join(parts)
                                encoding = server.encoding
                                item = _parse(line, encoding, server.encoding_error_handler)
                            parts, size, head = [], 0, b""
                            try:
                                await deliver(item)
                            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                                return
                finally:
                    await sdk._drain_stdout(process)  # pyright: ignore[reportPrivateUsage]
        except anyio.ClosedResourceError:
            pass
        except (anyio.BrokenResourceError, ConnectionError):
            if not shutting_down:
                logger.exception("Reading from the MCP server's stdout failed mid-session")

    async def stdin_writer() -> None:
        assert process.stdin is not None
        try:
            async with write_reader:
                async for message in write_reader:
                    json = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    data = (json + "\n").encode(server.encoding, server.encoding_error_handler)
                    await process.stdin.send(data)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            await read_writer.aclose()
        finally:
            writer_done.set()

    async def shutdown() -> None:
        read_stream.close()
        write_stream.close()
        with anyio.move_on_after(0.5):
            await writer_done.wait()
        await sdk._stop_server_process(process)  # pyright: ignore[reportPrivateUsage]
        for stream in (read_stream, write_stream, read_writer, write_reader):
            await stream.aclose()
        await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:
        group.start_soon(stdout_reader)
        group.start_soon(stdin_writer)
        try:
            yield read_stream, write_stream
        finally:
            shutting_down = True
            with anyio.CancelScope(shield=True):
                await shutdown()
            group.cancel_scope.cancel()
    await anyio.lowlevel.cancel_shielded_checkpoint()
