"""A scripted chat model for core tests: each request takes the next script."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from orchestrator.domain import (
    ModelError,
    ModelEvent,
    ModelFinished,
    ModelLimits,
    ModelRequest,
    TextDelta,
    ToolCallRequested,
    Usage,
    UsageReported,
)
from orchestrator.llm import tokenizer_for


@dataclass
class Script:
    """What the model does for one request."""

    text: Sequence[str] = ()
    calls: Sequence[tuple[str, str]] = ()
    usage: Usage | None = field(default_factory=lambda: Usage(input_tokens=10, output_tokens=5))
    fail_before: str | None = None
    fail_after_text: str | None = None
    hang_after_text: bool = False


class ScriptedModel:
    def __init__(self, *scripts: Script, window: int = 100_000, max_output: int = 1_000) -> None:
        self.scripts: deque[Script] = deque(scripts)
        self.requests: list[ModelRequest] = []
        self._limits = ModelLimits(context_window=window, max_output_tokens=max_output)
        self.hanging = asyncio.Event()

    def limits(self, model: str) -> ModelLimits:
        return self._limits

    def tokenizer(self, model: str):
        return tokenizer_for(model)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        self.requests.append(request)
        script = self.scripts.popleft() if self.scripts else Script(text=["(no script)"])
        if script.fail_before:
            raise ModelError(script.fail_before)
        for piece in script.text:
            yield TextDelta(piece)
        if script.fail_after_text:
            raise ModelError(script.fail_after_text)
        if script.hang_after_text:
            self.hanging.set()
            await asyncio.Event().wait()
        for index, (name, arguments) in enumerate(script.calls):
            yield ToolCallRequested(f"provider-{index}", name, arguments)
        yield ModelFinished("tool_calls" if script.calls else "stop")
        if script.usage is not None:
            yield UsageReported(script.usage)
