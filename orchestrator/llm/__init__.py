"""Language model adapters, and token counting.

The adapters: the OpenAI SDK (for any compatible server), and a local model on llama.cpp.

The OpenAI adapter is imported on first use: the SDK takes half a second to import, which a
process that has no model configured should not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestrator.llm.known_models import model_limits
from orchestrator.llm.local_model import default_model_path, local_model_available
from orchestrator.llm.tokenizer import BpeTokenizer, tokenizer_for, warm_up
from orchestrator.llm.unconfigured import NOT_CONFIGURED_MESSAGE, UnconfiguredModel

if TYPE_CHECKING:
    from orchestrator.llm.local_model import LocalChatModel
    from orchestrator.llm.openai_chat import OpenAIChatModel, create_client
    from orchestrator.llm.openai_messages import MessageEncoder, tool_param

__all__ = [
    "NOT_CONFIGURED_MESSAGE",
    "BpeTokenizer",
    "LocalChatModel",
    "MessageEncoder",
    "OpenAIChatModel",
    "UnconfiguredModel",
    "create_client",
    "default_model_path",
    "local_model_available",
    "model_limits",
    "tokenizer_for",
    "tool_param",
    "warm_up",
]

_LAZY = {
    "LocalChatModel": "orchestrator.llm.local_model",
    "OpenAIChatModel": "orchestrator.llm.openai_chat",
    "create_client": "orchestrator.llm.openai_chat",
    "MessageEncoder": "orchestrator.llm.openai_messages",
    "tool_param": "orchestrator.llm.openai_messages",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(module), name)
