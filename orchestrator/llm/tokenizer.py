"""Real token counts, offline: OpenAI's BPE encodings from the `bpe-openai` package.

The encodings ship inside the package (tiktoken downloads them at run time, which an
offline machine cannot do). Models we do not know are counted with o200k_base, which is
close for most modern tokenizers.

The encodings are used through the package's Rust extension alone. The package's Python
layer, on import, decodes every encoding it ships into Python dictionaries (about a second
and 80 MB) only to read their special tokens; the extension loads o200k_base in 70 ms. If
the extension cannot be loaded on its own (another layout of the package), the public API
is used instead. A tokenizer loads its encoding on first use; `warm_up` loads the common
one on a worker thread at startup, so that the first request rarely waits for it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import threading
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["BpeTokenizer", "tokenizer_for", "warm_up"]

logger = logging.getLogger(__name__)

_LOADING = threading.Lock()


def _extension() -> Any:
    """`bpe_openai._bindings` without running the package's `__init__`, or None."""
    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "_bindings.abi3.so"
    if not path.is_file():
        return None
    loader = importlib.machinery.ExtensionFileLoader("bpe_openai._bindings", str(path))
    module_spec = importlib.util.spec_from_file_location(
        "bpe_openai._bindings", path, loader=loader
    )
    if module_spec is None:
        return None
    module = importlib.util.module_from_spec(module_spec)
    loader.exec_module(module)
    return module


class _Rust:
    """The extension's tokenizer, with the two calls we need."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def encode_ordinary(self, text: str) -> list[int]:
        return self._tokenizer.encode(text)

    def count(self, text: str) -> int:
        return self._tokenizer.count(text)

    def decode(self, tokens: list[int]) -> str:
        # A cut can split a character: drop the broken tail rather than fail.
        for end in range(len(tokens), max(len(tokens) - 4, 0) - 1, -1):
            try:
                return self._tokenizer.decode(tokens[:end])
            except (UnicodeDecodeError, ValueError):
                continue
        return ""


class _Python:
    """The package's public API (slower to load, larger)."""

    def __init__(self, encoding: Any) -> None:
        self._encoding = encoding

    def encode_ordinary(self, text: str) -> list[int]:
        return self._encoding.encode_ordinary(text)

    def count(self, text: str) -> int:
        return len(self._encoding.encode_ordinary(text))

    def decode(self, tokens: list[int]) -> str:
        return self._encoding.decode(tokens)


def _load(encoding_name: str) -> _Rust | _Python:
    try:
        extension = _extension()
        if extension is not None:
            return _Rust(extension.tokenizer_for_encoding(encoding_name))
    except Exception:  # any failure of the shortcut: the public API still works
        logger.debug("bpe-openai's extension did not load on its own", exc_info=True)
    import bpe_openai

    return _Python(bpe_openai.get_encoding(encoding_name))


class BpeTokenizer:
    """`Tokenizer` over one BPE encoding, loaded when first needed."""

    def __init__(self, encoding_name: str) -> None:
        self._name = encoding_name
        self._encoding: Any = None

    @property
    def name(self) -> str:
        """The encoding's name (`o200k_base`, `cl100k_base`)."""
        return self._name

    def _loaded(self) -> Any:
        encoding = self._encoding
        if encoding is None:
            with _LOADING:  # one load, whichever thread asks first
                if self._encoding is None:
                    self._encoding = _load(self._name)
                encoding = self._encoding
        return encoding

    def count(self, text: str) -> int:
        """The number of tokens in `text` (loading the encoding on first use)."""
        if not text:
            return 0
        return self._loaded().count(text)

    def truncate(self, text: str, max_tokens: int) -> str:
        """The first `max_tokens` tokens of `text` as text (`text` itself if it fits)."""
        encoding = self._loaded()
        tokens = encoding.encode_ordinary(text)
        if len(tokens) <= max_tokens:
            return text
        return encoding.decode(tokens[:max_tokens])


@cache
def _tokenizer(encoding_name: str) -> BpeTokenizer:
    return BpeTokenizer(encoding_name)


def warm_up() -> None:
    """Load the common encoding now (call it off the event loop)."""
    _tokenizer("o200k_base").count("warm up")


def tokenizer_for(model: str) -> BpeTokenizer:
    """The shared tokenizer for `model`: cl100k for GPT-4 and 3.5, o200k for the rest.

    Models of other vendors are counted with o200k too: close enough to budget a context with.
    """
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith(("gpt-4-", "gpt-4", "gpt-3.5")) and not name.startswith(
        ("gpt-4o", "gpt-4.1", "gpt-4.5")
    ):
        return _tokenizer("cl100k_base")
    return _tokenizer("o200k_base")
