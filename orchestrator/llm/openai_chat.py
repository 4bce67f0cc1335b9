"""`ChatModel` on the official OpenAI SDK: Chat Completions, streamed, with tool calls.

Works against OpenAI and any compatible server (`OPENAI_BASE_URL`: vLLM, Ollama,
llama.cpp). Transient failures (429, 5xx, connection, timeout) are retried with backoff,
honouring `Retry-After`, until the first event arrives; after that a failure raises
`ModelError` and the loop keeps the partial answer.
"""

from __future__ import annotations

import json
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
from orchestrator.llm.known_models import model_limits
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
    """An SDK client sized for many concurrent streams; our code does the retrying.

    Its transport is aiohttp (the SDK's `aiohttp` extra), whose C parser reads a stream's
    chunks for about a third less CPU than the default httpx transport.
    """
    return openai.AsyncOpenAI(
        api_key=api_key or "not-needed",
        base_url=base_url,
        max_retries=0,
        timeout=openai.Timeout(timeout, connect=10.0),
        http_client=openai.DefaultAioHttpClient(
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


def _refused(error: BaseException) -> bool:
    """Whether the connection failed outright.

    The aiohttp transport reports a refused connection as a connect timeout, with the real
    cause in the chain.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and not isinstance(seen, TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _describe(error: openai.OpenAIError, base_url: str) -> str:
    if isinstance(error, openai.AuthenticationError):
        return "The model API rejected the credentials (401): check OPENAI_API_KEY."
    if isinstance(error, openai.PermissionDeniedError):
        return "The model API refused access (403) to this model or project."
    if isinstance(error, openai.NotFoundError):
        return f"The model API at {base_url} answered 404: is the model name right?"
    if isinstance(error, openai.RateLimitError):
        return "The model API is rate limiting requests (429); try again shortly."
    if isinstance(error, openai.APITimeoutError) and not _refused(error):
        return f"The model API at {base_url} timed out."
    if isinstance(error, openai.APIConnectionError):
        return f"Cannot reach the model API at {base_url}."
    if isinstance(error, openai.APIStatusError):
        body = error.body if isinstance(error.body, dict) else {}
        detail = body.get("message") if isinstance(body, dict) else None
        return f"The model API failed ({error.status_code}): {detail or error.message}"
    return f"The model API failed: {error}"


class OpenAIChatModel:
    """`ChatModel` over an `AsyncOpenAI` client (see the module for retries and errors).

    `context_window` and `max_output_tokens` override the catalog's figures for every model;
    `official` False sends `max_tokens` instead of `max_completion_tokens`, which compatible
    servers understand.
    """

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
        """The catalog's limits for `model`, with the configured overrides."""
        return model_limits(model, context_window=self._context_window, max_output=self._max_output)

    def tokenizer(self, model: str) -> BpeTokenizer:
        """The tokenizer for `model` (see `tokenizer_for`)."""
        return tokenizer_for(model)

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        # The history and the tool schemas go in `extra_body`, which the SDK sends as they
        # are: as named parameters, the SDK walks them against its typed definitions on
        # every request, which costs more than the rest of the request at a long history.
        # They are already in the API's wire format (MessageEncoder, tool_param).
        body: dict[str, Any] = {"messages": self._encoder.encode(request.messages)}
        params: dict[str, Any] = {
            "model": request.model,
            "messages": [],
            "stream": True,
            "stream_options": {"include_usage": True},
            "extra_body": body,
        }
        if request.tools:
            body["tools"] = [tool_param(spec) for spec in request.tools]
            params["tool_choice"] = request.tool_choice
        if request.max_output_tokens:
            key = "max_completion_tokens" if self._official else "max_tokens"
            params[key] = request.max_output_tokens
        return params

    async def _open(self, params: dict[str, Any]) -> tuple[Any, AsyncIterator[str]]:
        """Send the request; the response and its SSE lines (raises the SDK's errors)."""
        manager = self._client.chat.completions.with_streaming_response.create(**params)
        response = await manager.__aenter__()
        return manager, response.http_response.aiter_lines()

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Stream the answer to `request` as `ChatModel.stream` describes.

        Raises:
            ModelError: the API failed, after retries if nothing had arrived yet.
        """
        # The SDK sends the request and maps HTTP errors; the chunks are read as plain JSON:
        # building the SDK's typed chunk for each token costs more than everything else
        # the relay does with it.
        params = self._params(request)
        manager: Any = None
        lines: AsyncIterator[str] | None = None
        first: dict[str, Any] | None = None
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._max_retries + 1),
                wait=_wait,
                retry=retry_if_exception(_is_transient),
                reraise=True,
            ):
                with attempt:
                    if manager is not None:
                        await manager.__aexit__(None, None, None)
                        manager = None
                    manager, lines = await self._open(params)
                    first = await _next_chunk(lines)
        except openai.OpenAIError as error:
            if manager is not None:
                await manager.__aexit__(None, None, None)
            raise ModelError(_describe(error, self._base_url)) from error
        assert lines is not None
        calls: dict[int, list[str]] = {}
        try:
            chunk = first
            while chunk is not None:
                for event in self._events(chunk, calls):
                    yield event
                chunk = await _next_chunk(lines)
            for index in sorted(calls):
                provider_id, name, arguments = calls[index]
                yield ToolCallRequested(provider_id, name, arguments or "{}")
        except openai.OpenAIError as error:
            raise ModelError(_describe(error, self._base_url)) from error
        finally:
            await manager.__aexit__(None, None, None)

    @staticmethod
    def _events(chunk: dict[str, Any], calls: dict[int, list[str]]) -> list[ModelEvent]:
        events: list[ModelEvent] = []
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta")
            if delta:
                content = delta.get("content")
                if content:
                    events.append(TextDelta(content))
                for fragment in delta.get("tool_calls") or ():
                    entry = calls.setdefault(fragment.get("index", 0), ["", "", ""])
                    if fragment.get("id"):
                        entry[0] = fragment["id"]
                    function = fragment.get("function")
                    if function:
                        if function.get("name"):
                            entry[1] += function["name"]
                        if function.get("arguments"):
                            entry[2] += function["arguments"]
            finish_reason = choice.get("finish_reason")
            if finish_reason:
                for index in sorted(calls):
                    provider_id, name, arguments = calls[index]
                    events.append(ToolCallRequested(provider_id, name, arguments or "{}"))
                calls.clear()
                events.append(ModelFinished(finish_reason))
        usage = chunk.get("usage")
        if usage:
            events.append(
                UsageReported(
                    Usage(
                        input_tokens=usage.get("prompt_tokens") or 0,
                        output_tokens=usage.get("completion_tokens") or 0,
                    )
                )
            )
        return events


async def _next_chunk(lines: AsyncIterator[str]) -> dict[str, Any] | None:
    """The next chunk of the stream, None at its end.

    Raises:
        openai.APIError: the server sent an error instead of a chunk.
        openai.APIConnectionError: the connection failed or timed out.
    """
    try:
        async for line in lines:
            if not line.startswith("data:"):
                continue  # blank separators, comments, `event:` lines
            data = line[5:].lstrip()
            if data.startswith("[DONE]"):
                # Read to the end of the body, so that the connection can be reused.
                async for _ in lines:
                    pass
                return None
            try:
                chunk = json.loads(data)
            except ValueError as error:
                raise openai.APIError(
                    f"The model API sent a malformed chunk: {data[:200]}",
                    request=_NO_REQUEST,
                    body=None,
                ) from error
            if isinstance(chunk, dict) and chunk.get("error"):
                error = chunk["error"]
                message = error.get("message") if isinstance(error, dict) else None
                raise openai.APIError(
                    message if isinstance(message, str) and message else "The stream failed.",
                    request=_NO_REQUEST,
                    body=error,
                )
            return chunk
    except httpx2.TimeoutException as error:
        raise openai.APITimeoutError(request=_request_of(error)) from error
    except httpx2.TransportError as error:
        raise openai.APIConnectionError(request=_request_of(error)) from error
    return None


_NO_REQUEST: Any = None  # errors inside a stream have no request of their own


def _request_of(error: httpx2.RequestError) -> Any:
    try:
        return error.request
    except RuntimeError:  # httpx raises when the error has no request attached
        return None
