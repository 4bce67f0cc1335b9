"""`ChatModel` on the official OpenAI SDK: Chat Completions, streamed, with tool calls.

Works against OpenAI and any compatible server (`OPENAI_BASE_URL`: vLLM, Ollama,
llama.cpp). Transient failures (429, 5xx, connection, timeout) are retried with backoff,
honouring `Retry-After`, until the first event arrives; after that a failure raises
`ModelError` and the loop keeps the partial answer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

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
from orchestrator.llm.catalog import model_limits
from orchestrator.llm.openai_messages import MessageEncoder, tool_param
from orchestrator.llm.tokenizer import BpeTokenizer, tokenizer_for

__all__ = ["OpenAIChatModel", "create_client"]

logger = logging.getLogger(__name__)

_TRANSIENT = (
    openai.RateLimitError,
    openai.InternalServerError,
    openai.APIConnectionError,
)
_MAX_RETRY_AFTER = 30.0
_backoff = wait_exponential_jitter(multiplier=0.5, max=8.0)


def create_client(
    *, api_key: str | None, base_url: str | None, timeout: float, max_connections: int = 2_000
) -> openai.AsyncOpenAI:
    """An SDK client sized for many concurrent streams; our code does the retrying."""
    return openai.AsyncOpenAI(
        api_key=api_key or "not-needed",
        base_url=base_url,
        max_retries=0,
        timeout=openai.Timeout(timeout, connect=10.0),
        http_client=openai.DefaultAsyncHttpxClient(
            limits=httpx2.Limits(max_connections=max_connections, max_keepalive_connections=200)
        ),
    )


def _retry_after(error: BaseException) -> float | None:
    response = getattr(error, "response", None)
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return min(float(value), _MAX_RETRY_AFTER)
    except ValueError:
        return None


def _wait(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    told = _retry_after(error) if error else None
    return told if told is not None else _backoff(state)


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, _TRANSIENT)


def _describe(error: openai.OpenAIError, base_url: str) -> str:
    if isinstance(error, openai.AuthenticationError):
        return "The model API rejected the credentials (401): check OPENAI_API_KEY."
    if isinstance(error, openai.PermissionDeniedError):
        return "The model API refused access (403) to this model or project."
    if isinstance(error, openai.NotFoundError):
        return f"The model API at {base_url} answered 404: is the model name right?"
    if isinstance(error, openai.RateLimitError):
        return "The model API is rate limiting requests (429); try again shortly."
    if isinstance(error, openai.APITimeoutError):
        return f"The model API at {base_url} timed out."
    if isinstance(error, openai.APIConnectionError):
        return f"Cannot reach the model API at {base_url}."
    if isinstance(error, openai.APIStatusError):
        body = error.body if isinstance(error.body, dict) else {}
        detail = body.get("message") if isinstance(body, dict) else None
        return f"The model API failed ({error.status_code}): {detail or error.message}"
    return f"The model API failed: {error}"


class OpenAIChatModel:
    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        max_retries: int = 3,
        context_window: int | None = None,
        max_output_tokens: int | None = None,
        official: bool = True,
    ) -> None:
        self._client = client
        self._max_retries = max_retries
        self._context_window = context_window
        self._max_output = max_output_tokens
        self._official = official
        self._encoder = MessageEncoder()
        self._base_url = str(client.base_url)

    def limits(self, model: str) -> ModelLimits:
        return model_limits(model, context_window=self._context_window, max_output=self._max_output)

    def tokenizer(self, model: str) -> BpeTokenizer:
        return tokenizer_for(model)

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model,
            "messages": self._encoder.encode(request.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.tools:
            params["tools"] = [tool_param(spec) for spec in request.tools]
            params["tool_choice"] = request.tool_choice
        if request.max_output_tokens:
            key = "max_completion_tokens" if self._official else "max_tokens"
            params[key] = request.max_output_tokens
        return params

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        params = self._params(request)
        stream: Any = None
        first: Any = None
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._max_retries + 1),
                wait=_wait,
                retry=retry_if_exception(_is_transient),
                reraise=True,
            ):
                with attempt:
                    if stream is not None:
                        await stream.close()
                    stream = await self._client.chat.completions.create(**params)
                    first = await anext(aiter(stream), None)
        except openai.OpenAIError as error:
            if stream is not None:
                await stream.close()
            raise ModelError(_describe(error, self._base_url)) from error
        calls: dict[int, list[str]] = {}
        try:
            if first is not None:
                for event in self._events(first, calls):
                    yield event
                async for chunk in stream:
                    for event in self._events(chunk, calls):
                        yield event
            for index in sorted(calls):
                provider_id, name, arguments = calls[index]
                yield ToolCallRequested(provider_id, name, arguments or "{}")
        except openai.OpenAIError as error:
            raise ModelError(_describe(error, self._base_url)) from error
        finally:
            await stream.close()

    @staticmethod
    def _events(chunk: Any, calls: dict[int, list[str]]) -> list[ModelEvent]:
        events: list[ModelEvent] = []
        for choice in chunk.choices:
            delta = choice.delta
            if delta is not None:
                if delta.content:
                    events.append(TextDelta(delta.content))
                for fragment in delta.tool_calls or ():
                    entry = calls.setdefault(fragment.index, ["", "", ""])
                    if fragment.id:
                        entry[0] = fragment.id
                    function = fragment.function
                    if function is not None:
                        if function.name:
                            entry[1] += function.name
                        if function.arguments:
                            entry[2] += function.arguments
            if choice.finish_reason:
                for index in sorted(calls):
                    provider_id, name, arguments = calls[index]
                    events.append(ToolCallRequested(provider_id, name, arguments or "{}"))
                calls.clear()
                events.append(ModelFinished(choice.finish_reason))
        usage = chunk.usage
        if usage is not None:
            events.append(
                UsageReported(
                    Usage(input_tokens=usage.prompt_tokens, output_tokens=usage.completion_tokens)
                )
            )
        return events
