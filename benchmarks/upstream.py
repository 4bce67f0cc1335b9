"""A lean fake OpenAI-compatible upstream for the benchmarks, cheap enough for 2,000 streams.

    python -m benchmarks.upstream --port 9300 [--cpu 1]

`tests/fakes/openai_server.py` is the correctness fake (scripted replies, tool calls,
errors); this one only streams, as fast as a bare asyncio protocol allows, so that the load
generator and the upstream together leave the measured server a core of its own.

It speaks the real Chat Completions wire format: `POST /v1/chat/completions` with
`"stream": true` answers `data: {chunk}` events (a role chunk, content chunks, a finish
chunk, a usage chunk when `stream_options.include_usage` is asked for) and `data: [DONE]`,
in chunked transfer encoding on a keep-alive connection; without `stream` it answers one
JSON completion. `GET /v1/models` lists one model.

The model name says how to answer: `bench-c60-d50` streams 60 content chunks 50 ms apart
(20 tok/s), `bench-c5-d0` five at once; `-w2000` waits 2 s before the first chunk; `-h1`
holds every stream after its first content chunk until `POST /_release` (at most a minute),
so that a benchmark can keep streams open exactly as long as it measures them. Each
content chunk's text is `t<ns>;` where `<ns>` is `time.monotonic_ns()` when it was written,
so a client on this machine computes each chunk's lateness (receive time minus stamp) over
any relay, whatever the relay does to the framing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import time
from dataclasses import dataclass
from typing import Any, cast

__all__ = ["Shape", "parse_model", "raise_file_limit", "stamps"]

_MODEL = re.compile(rb'"model"\s*:\s*"([^"]*)"')
_STREAM = re.compile(rb'"stream"\s*:\s*true')
_USAGE = re.compile(rb'"include_usage"\s*:\s*true')
_SPEC = re.compile(r"-([cdwh])(\d+)")
_HOLD_SECONDS = 60.0
_STAMP = re.compile(rb"t(\d{6,20});")
_CREATED = int(time.time())


@dataclass(frozen=True)
class Shape:
    """How to answer: content chunks, seconds between them, before the first, and hold."""

    chunks: int = 20
    delay: float = 0.0
    wait: float = 0.0
    hold: bool = False


def parse_model(name: str) -> Shape:
    """The answer's shape from a model name such as `bench-c60-d50`."""
    values = {key: int(value) for key, value in _SPEC.findall(name)}
    return Shape(
        chunks=max(values.get("c", 20), 1),
        delay=values.get("d", 0) / 1000,
        wait=values.get("w", 0) / 1000,
        hold=bool(values.get("h", 0)),
    )


def stamps(data: bytes) -> list[int]:
    """The send stamps (monotonic ns) of the content chunks found in `data`."""
    return [int(m) for m in _STAMP.findall(data)]


def _chunk(model: bytes, delta: bytes, finish: bytes = b"null") -> bytes:
    return (
        b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":'
        + str(_CREATED).encode()
        + b',"model":"'
        + model
        + b'","choices":[{"index":0,"delta":'
        + delta
        + b',"logprobs":null,"finish_reason":'
        + finish
        + b"}]}\n\n"
    )


def _framed(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


class _Release:
    """What held streams wait for; `POST /_release` lets every one of them go on."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def release(self) -> None:
        self.event.set()
        self.event = asyncio.Event()


class _Connection(asyncio.Protocol):
    """One client connection: requests in order, each answered before the next is read."""

    def __init__(self, release: _Release) -> None:
        self.release = release
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.busy = False
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._next()

    def _next(self) -> None:
        while not self.busy and not self.closed and self._one():
            pass

    def _one(self) -> bool:
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        head = self.buffer[:head_end].decode("latin-1")
        lines = head.split("\r\n")
        method, path, _ = ([*lines[0].split(" "), "", ""])[:3]
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if len(self.buffer) < head_end + 4 + length:
            return False
        body = self.buffer[head_end + 4 : head_end + 4 + length]
        self.buffer = self.buffer[head_end + 4 + length :]
        self._answer(method, path.split("?")[0], body)
        return True

    def _answer(self, method: str, path: str, body: bytes) -> None:
        if method == "POST" and path == "/_release":
            self.release.release()
            self._json(200, {"released": True})
        elif method == "GET" and path.endswith("/models"):
            self._json(200, {"object": "list", "data": [_model_entry("bench")]})
        elif method == "POST" and path.endswith("/chat/completions"):
            found = _MODEL.search(body)
            model = found.group(1) if found else b"bench"
            if _STREAM.search(body):
                self.busy = True
                asyncio.get_running_loop().create_task(
                    self._stream(model, include_usage=_USAGE.search(body) is not None)
                )
            else:
                self._json(200, _completion(model.decode()))
        else:
            self._json(404, {"error": {"message": f"no route {method} {path}"}})

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        assert self.transport is not None
        data = json.dumps(payload).encode()
        reason = b"OK" if status == 200 else b"Not Found"
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (status, reason, len(data), data)
        )

    async def _stream(self, model: bytes, *, include_usage: bool) -> None:
        transport = self.transport
        assert transport is not None
        shape = parse_model(model.decode())
        transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
            + _framed(_chunk(model, b'{"role":"assistant","content":""}'))
        )
        if shape.wait:
            await asyncio.sleep(shape.wait)
        loop = asyncio.get_running_loop()
        due = loop.time()
        for index in range(shape.chunks):
            if self.closed:
                return
            if index == 1 and shape.hold:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.release.event.wait(), _HOLD_SECONDS)
                due = loop.time()
            elif index and shape.delay:
                due += shape.delay
                pause = due - loop.time()
                if pause > 0:
                    await asyncio.sleep(pause)
            text = b"t%d;" % time.monotonic_ns()
            transport.write(_framed(_chunk(model, b'{"content":"' + text + b'"}')))
        tail = _chunk(model, b"{}", b'"stop"')
        if include_usage:
            tail += (
                b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":'
                + str(_CREATED).encode()
                + b',"model":"'
                + model
                + b'","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":%d,'
                b'"total_tokens":%d}}\n\n' % (shape.chunks, shape.chunks + 10)
            )
        tail += b"data: [DONE]\n\n"
        if not self.closed:
            transport.write(_framed(tail) + b"0\r\n\r\n")
        self.busy = False
        if self.buffer and not self.closed:
            self._next()


def _model_entry(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": _CREATED, "owned_by": "bench"}


def _completion(model: str) -> dict[str, Any]:
    chunks = parse_model(model).chunks
    text = "".join(f"t{time.monotonic_ns()};" for _ in range(chunks))
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": _CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": chunks, "total_tokens": chunks + 10},
    }


def raise_file_limit() -> None:
    """Lift this process's open-file limit to its hard maximum (thousands of sockets)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    release = _Release()
    server = await loop.create_server(
        lambda: _Connection(release), host, port, backlog=4096, reuse_address=True
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int, default=None, help="Pin this process to one CPU.")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    raise_file_limit()
    try:
        import uvloop

        uvloop.run(serve(args.host, args.port))
    except ImportError:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
