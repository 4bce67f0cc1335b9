"""Real token counts, offline: OpenAI's BPE encodings from the `bpe-openai` package.

The encodings ship inside the package (tiktoken downloads them at run time, which an
offline machine cannot do). Models we do not know are counted with o200k_base, which is
close for most modern tokenizers.
"""

from __future__ import annotations

from functools import cache
from typing import Any

__all__ = ["BpeTokenizer", "tokenizer_for", "warm_up"]


class BpeTokenizer:
    """`Tokenizer` over one BPE encoding."""

    def __init__(self, encoding: Any) -> None:
        self._encoding = encoding

    @property
    def name(self) -> str:
        return str(self._encoding.name)

    def count(self, text: str) -> int:
        if not text:
            return 0
        return len(self._encoding.encode_ordinary(text))

    def truncate(self, text: str, max_tokens: int) -> str:
        tokens = self._encoding.encode_ordinary(text)
        if len(tokens) <= max_tokens:
            return text
        return self._encoding.decode(tokens[:max_tokens])


@cache
def _tokenizer(encoding_name: str) -> BpeTokenizer:
    # Imported on first use: loading the encodings takes about a second, which startup
    # should not pay (`warm_up` does it in the background instead).
    import bpe_openai

    return BpeTokenizer(bpe_openai.get_encoding(encoding_name))


def warm_up() -> None:
    """Load the common encoding now (call it off the event loop)."""
    _tokenizer("o200k_base").count("warm up")


def tokenizer_for(model: str) -> BpeTokenizer:
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith(("gpt-4-", "gpt-4", "gpt-3.5")) and not name.startswith(
        ("gpt-4o", "gpt-4.1", "gpt-4.5")
    ):
        return _tokenizer("cl100k_base")
    return _tokenizer("o200k_base")
