"""The floor: a process that calls the fake upstream directly with the OpenAI SDK.

    python -m benchmarks.floor --base-url URL {idle,memory,cpu} [...]

Run by the harness as its own process, pinned to the measured servers' CPU, so that its
figures sit beside theirs: what the same work costs with nothing in between.

- `idle`: the resident memory after importing the SDK and one streamed call.
- `memory --streams K --model M`: resident memory per open stream (K streams, each past
  its first chunk).
- `cpu --streams N --concurrency C --model M`: CPU seconds spent consuming N streams.

Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import httpx2
import openai
import psutil

from benchmarks.upstream import raise_file_limit


def _client(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=base_url,
        api_key="sk-bench",
        max_retries=0,
        http_client=openai.DefaultAsyncHttpxClient(
            limits=httpx2.Limits(max_connections=5000, max_keepalive_connections=500)
        ),
    )


MESSAGES = [{"role": "user", "content": "Hello"}]


async def _consume(client: openai.AsyncOpenAI, model: str) -> int:
    chunks = 0
    stream = await client.chat.completions.create(model=model, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            chunks += 1
    return chunks


async def idle(client: openai.AsyncOpenAI, args: argparse.Namespace) -> dict[str, Any]:
    await _consume(client, "bench-c5-d0")
    await asyncio.sleep(0.5)
    return {"rss": psutil.Process().memory_info().rss}


async def memory(client: openai.AsyncOpenAI, args: argparse.Namespace) -> dict[str, Any]:
    await _consume(client, "bench-c5-d0")
    await asyncio.sleep(0.2)
    before = psutil.Process().memory_info().rss
    opened = asyncio.Event()
    count = 0

    async def hold() -> None:
        nonlocal count
        stream = await client.chat.completions.create(
            model=args.model,
            messages=MESSAGES,  # type: ignore[arg-type]
            stream=True,
        )
        first = True
        async for _ in stream:
            if first:
                first = False
                count += 1
                if count == args.streams:
                    opened.set()

    tasks = [asyncio.create_task(hold()) for _ in range(args.streams)]
    await asyncio.wait_for(opened.wait(), 60)
    await asyncio.sleep(0.5)
    during = psutil.Process().memory_info().rss
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"before": before, "during": during, "streams": args.streams}


async def cpu(client: openai.AsyncOpenAI, args: argparse.Namespace) -> dict[str, Any]:
    await _consume(client, "bench-c5-d0")
    limit = asyncio.Semaphore(args.concurrency)

    async def one() -> int:
        async with limit:
            return await _consume(client, args.model)

    began = time.process_time()
    chunks = sum(await asyncio.gather(*(one() for _ in range(args.streams))))
    return {"cpu_seconds": time.process_time() - began, "chunks": chunks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("idle")
    mem = sub.add_parser("memory")
    mem.add_argument("--streams", type=int, default=500)
    mem.add_argument("--model", default="bench-c2-d10000")
    cpu_parser = sub.add_parser("cpu")
    cpu_parser.add_argument("--streams", type=int, default=100)
    cpu_parser.add_argument("--concurrency", type=int, default=50)
    cpu_parser.add_argument("--model", default="bench-c200-d0")
    args = parser.parse_args()
    raise_file_limit()

    async def run() -> dict[str, Any]:
        client = _client(args.base_url)
        try:
            return await {"idle": idle, "memory": memory, "cpu": cpu}[args.mode](client, args)
        finally:
            await client.close()

    json.dump(asyncio.run(run()), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
