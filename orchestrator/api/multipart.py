"""One file from a `multipart/form-data` body, as a stream of chunks while the body arrives.

Starlette's form parser spools each file to a temporary file before the route sees it, so a
50 MB upload would be written twice and held until parsed. Here python-multipart's push
parser is fed the body chunk by chunk, and the `file` field's bytes go on to storage as
they come; other fields are skipped.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from orchestrator.domain import InvalidInput, UnsupportedType

__all__ = ["FileField", "drain", "file_field"]


@dataclass
class FileField:
    """The uploaded file's name and declared type, and its bytes (read them once)."""

    filename: str | None
    content_type: str | None
    chunks: AsyncIterator[bytes]


@dataclass
class _Parsing:
    events: list[tuple[str, bytes]] = field(default_factory=list[tuple[str, bytes]])
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    headers: dict[str, bytes] = field(default_factory=dict[str, bytes])


def _parser(boundary: bytes, state: _Parsing) -> MultipartParser:
    def on_part_begin() -> None:
        state.headers = {}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_value += data[start:end]

    def on_header_end() -> None:
        state.headers[bytes(state.header_field).decode("latin-1").lower()] = bytes(
            state.header_value
        )
        state.header_field.clear()
        state.header_value.clear()

    def on_headers_finished() -> None:
        _, options = parse_options_header(state.headers.get("content-disposition", b""))
        name = options.get(b"name", b"")
        if name == b"file" and b"filename" in options:
            state.events.append(("file", options[b"filename"]))
            state.events.append(("type", state.headers.get("content-type", b"")))
        else:
            state.events.append(("other", name))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state.events.append(("data", data[start:end]))

    def on_part_end() -> None:
        state.events.append(("end", b""))

    return MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )


async def _body(request: Request) -> AsyncGenerator[bytes]:
    """The body's chunks from the ASGI channel, noting when it has all arrived."""
    while True:
        message = await request.receive()
        if message["type"] != "http.request":
            raise ClientDisconnect
        last = not message.get("more_body", False)
        if last:  # before the yield: the reader may stop at this chunk
            request.state.body_complete = True
        yield message.get("body", b"")
        if last:
            return


async def drain(request: Request) -> None:
    """Read what is left of the body, so that a client still sending it gets the answer.

    A refused upload is answered at once, but a client (the front end's proxy, curl) that
    writes its whole body before reading would otherwise see the connection cut instead.
    The body limit middleware bounds how much this reads.
    """
    if getattr(request.state, "body_complete", False):
        return
    try:
        async for _ in _body(request):
            pass
    except ClientDisconnect:
        pass


async def _events(request: Request, boundary: bytes) -> AsyncGenerator[tuple[str, bytes]]:
    state = _Parsing()
    parser = _parser(boundary, state)
    async for chunk in _body(request):
        if not chunk:
            continue
        try:
            parser.write(chunk)
        except MultipartParseError as error:
            raise InvalidInput("The multipart body is malformed.") from error
        events, state.events = state.events, []
        for event in events:
            yield event


async def file_field(request: Request) -> FileField:
    """The body's `file` field, its bytes still to be read.

    Raises:
        UnsupportedType: the body is not multipart/form-data.
        InvalidInput: no `file` field with a filename, or a malformed or cut-off body.
    """
    kind, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UnsupportedType(
            "Send the file as multipart/form-data, in a field named `file` with a filename."
        )
    events = _events(request, boundary)
    filename: str | None = None
    declared: str | None = None
    async for name, value in events:
        if name == "file":
            filename = value.decode("utf-8", errors="replace")
        elif name == "type":
            declared = value.decode("latin-1") or None
            break
    else:
        raise InvalidInput("The form has no `file` field with a filename.")

    async def chunks() -> AsyncIterator[bytes]:
        ended = False
        try:
            async for name, value in events:
                if name == "data":
                    yield value
                elif name == "end":
                    ended = True
                    break
            if not ended:
                raise InvalidInput("The upload ended before the file did.")
            async for _ in events:  # the rest of the body (other fields) is read and ignored
                pass
        finally:
            await events.aclose()

    return FileField(filename, declared, chunks())
