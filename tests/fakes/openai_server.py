"""A fake OpenAI-compatible server that speaks the real wire format from a scripted queue.

`POST /v1/chat/completions` answers with the next scripted `Reply` (or the default one),
streamed as SSE chunks exactly like OpenAI's (role chunk, content deltas, tool-call deltas
split into fragments, a finish chunk, an optional usage chunk, `[DONE]`), or as one JSON
body when not streaming. A reply can also be an HTTP error (429 with Retry-After, 500, ...),
wait before its first byte, pause between chunks, or drop the connection mid-stream.

Tests script it directly (`fake.script(Reply(...))`) or over HTTP (`POST /_control/script`)
when it runs as its own process (`python -m tests.fakes.openai_server --port 9100`).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fixtures.serving import ThreadServer

__all__ = ["FakeOpenAI", "FakeToolCall", "Reply", "fake_embedding", "served"]

_WORD = re.compile(r"\S+\s*|\s+")


@dataclass
class FakeToolCall:
    name: str
    arguments: str = "{}"
    id: str | None = None


@dataclass
class Reply:
    """One scripted answer.

    `text` is streamed in word-sized chunks unless `chunks` gives them explicitly.
    `status` other than 200 answers with an OpenAI error body instead.
    """

    text: str = ""
    chunks: list[str] | None = None
    tool_calls: list[FakeToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    status: int = 200
    error_message: str = "scripted error"
    retry_after: float | None = None
    first_delay: float = 0.0
    chunk_delay: float = 0.0
    drop_after: int | None = None
    model: str | None = None

    def pieces(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        return _WORD.findall(self.text)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        calls = [FakeToolCall(**call) for call in data.pop("tool_calls", [])]
        return cls(**data, tool_calls=calls)


def fake_embedding(text: str, dimensions: int = 1536) -> list[float]:
    """A unit vector from the text's lowercased words, each hashed to a few dimensions."""
    vector = [0.0] * dimensions
    for word in re.findall(r"[a-z0-9]+", str(text).lower()):
        digest = hashlib.sha256(word.encode()).digest()
        for i in range(0, 6, 2):
            vector[int.from_bytes(digest[i : i + 2], "big") % dimensions] += 1.0
    norm = sum(v * v for v in vector) ** 0.5 or 1.0
    return [v / norm for v in vector]


def echo_reply(body: dict[str, Any]) -> Reply:
    """The default answer: repeats the last user message."""
    last = ""
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            last = (
                content
                if isinstance(content, str)
                else " ".join(
                    part.get("text", "") for part in content or [] if isinstance(part, dict)
                )
            )
            break
    return Reply(text=f"You said: {last}")


class FakeOpenAI:
    def __init__(self, default: Callable[[dict[str, Any]], Reply] = echo_reply) -> None:
        self.default = default
        self.queue: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.embedding_requests: list[dict[str, Any]] = []
        self.embeddings_status = 200
        self.record = True
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
                Route("/_control/script", self._control_script, methods=["POST"]),
                Route("/_control/requests", self._control_requests, methods=["GET"]),
                Route("/_control/reset", self._control_reset, methods=["POST"]),
            ]
        )

    def script(self, *replies: Reply) -> None:
        self.queue.extend(replies)

    def reset(self) -> None:
        self.queue.clear()
        self.requests.clear()
        self.headers.clear()
        self.embedding_requests.clear()
        self.embeddings_status = 200

    @property
    def last_request(self) -> dict[str, Any]:
        return self.requests[-1]

    async def _models(self, request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": "gpt-5", "object": "model", "created": 0, "owned_by": "fake"}],
            }
        )

    async def _embeddings(self, request: Request) -> Response:
        """Deterministic embeddings: hashed bags of words, so shared words mean closeness."""
        body = await request.json()
        if self.record:
            self.embedding_requests.append(body)
        if self.embeddings_status != 200:
            return JSONResponse(
                {"error": {"message": "scripted error", "type": "server_error"}},
                status_code=self.embeddings_status,
            )
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dimensions = int(body.get("dimensions") or 1536)
        data = [
            {"object": "embedding", "index": i, "embedding": fake_embedding(text, dimensions)}
            for i, text in enumerate(inputs)
        ]
        tokens = sum(len(str(text).split()) for text in inputs)
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": body.get("model", "text-embedding-3-small"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def _control_script(self, request: Request) -> Response:
        payload = await request.json()
        items = payload if isinstance(payload, list) else [payload]
        self.script(*(Reply.from_json(dict(item)) for item in items))
        return JSONResponse({"queued": len(self.queue)})

    async def _control_requests(self, request: Request) -> Response:
        return JSONResponse(self.requests)

    async def _control_reset(self, request: Request) -> Response:
        self.reset()
        return JSONResponse({"ok": True})

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        if self.record:
            self.requests.append(body)
            self.headers.append(dict(request.headers))
        reply = self.queue.popleft() if self.queue else self.default(body)
        if reply.first_delay:
            await asyncio.sleep(reply.first_delay)
        if reply.status != 200:
            headers = {}
            if reply.retry_after is not None:
                headers["retry-after"] = str(reply.retry_after)
            return JSONResponse(
                {
                    "error": {
                        "message": reply.error_message,
                        "type": "api_error",
                        "param": None,
                        "code": None,
                    }
                },
                status_code=reply.status,
                headers=headers,
            )
        model = reply.model or body.get("model", "gpt-5")
        prompt_tokens = reply.prompt_tokens
        if prompt_tokens is None:
            prompt_tokens = sum(len(json.dumps(m)) // 4 for m in body.get("messages", []))
        pieces = reply.pieces()
        completion_tokens = (
            reply.completion_tokens if reply.completion_tokens is not None else len(pieces)
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if not body.get("stream"):
            return JSONResponse(_completion(reply, model, pieces, usage))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(
            _stream(reply, model, pieces, usage if include_usage else None),
            media_type="text/event-stream",
        )


def _chunk(
    cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None
) -> bytes:
    payload = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _call_ids(reply: Reply) -> list[str]:
    return [call.id or f"call_{uuid.uuid4().hex[:24]}" for call in reply.tool_calls]


async def _stream(
    reply: Reply, model: str, pieces: list[str], usage: dict[str, int] | None
) -> AsyncIterator[bytes]:
    cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    sent = 0

    async def pause() -> None:
        if reply.chunk_delay:
            await asyncio.sleep(reply.chunk_delay)

    def dropping() -> bool:
        return reply.drop_after is not None and sent >= reply.drop_after

    yield _chunk(cid, created, model, {"role": "assistant", "content": "", "refusal": None})
    for piece in pieces:
        if dropping():
            raise ConnectionResetError("scripted drop")
        await pause()
        yield _chunk(cid, created, model, {"content": piece})
        sent += 1
    for index, (call, call_id) in enumerate(zip(reply.tool_calls, _call_ids(reply), strict=True)):
        await pause()
        yield _chunk(
            cid,
            created,
            model,
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": ""},
                    }
                ]
            },
        )
        arguments = call.arguments
        step = max(1, len(arguments) // 3)
        for start in range(0, len(arguments), step):
            if dropping():
                raise ConnectionResetError("scripted drop")
            yield _chunk(
                cid,
                created,
                model,
                {
                    "tool_calls": [
                        {"index": index, "function": {"arguments": arguments[start : start + step]}}
                    ]
                },
            )
            sent += 1
    finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
    yield _chunk(cid, created, model, {}, finish)
    if usage is not None:
        payload = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": None,
            "choices": [],
            "usage": usage,
        }
        yield b"data: " + json.dumps(payload).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


def _completion(
    reply: Reply, model: str, pieces: list[str], usage: dict[str, int]
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(pieces) or None,
        "refusal": None,
    }
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call, call_id in zip(reply.tool_calls, _call_ids(reply), strict=True)
        ]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": reply.finish_reason
                or ("tool_calls" if reply.tool_calls else "stop"),
            }
        ],
        "usage": usage,
    }


_Fake = TypeVar("_Fake", bound=FakeOpenAI)


@contextmanager
def served(fake: _Fake) -> Iterator[_Fake]:
    """`with served(FakeOpenAI()) as fake:` the fake on a free port of 127.0.0.1, in a
    background thread, with its base URL as `fake.url`; stopped on exit."""
    with ThreadServer(fake.app, lifespan="off", timeout=10) as server:
        fake.url = f"{server.url}/v1"  # type: ignore[attr-defined]
        yield fake


def _bench_default(tokens: int, delay: float) -> Callable[[dict[str, Any]], Reply]:
    def reply(body: dict[str, Any]) -> Reply:
        return Reply(chunks=[f"tok{i} " for i in range(tokens)], chunk_delay=delay)

    return reply


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument(
        "--tokens", type=int, default=0, help="Answer every request with this many tokens."
    )
    parser.add_argument(
        "--rate", type=float, default=0.0, help="Tokens per second for --tokens answers."
    )
    parser.add_argument("--no-record", action="store_true", help="Do not keep request bodies.")
    args = parser.parse_args()
    import uvicorn

    fake = FakeOpenAI()
    fake.record = not args.no_record
    if args.tokens:
        fake.default = _bench_default(args.tokens, 1.0 / args.rate if args.rate else 0.0)
    uvicorn.run(fake.app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
