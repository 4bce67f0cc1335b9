"""Turning text into vectors: OpenAI's API, the local MiniLM model, or nothing at all.

`choose_embedder` follows KNOWLEDGE_EMBEDDINGS: `auto` takes OpenAI's
`text-embedding-3-small` when OPENAI_API_KEY is set, else the local all-MiniLM-L6-v2 when
the `local` extra is installed, else none (full-text search alone).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from importlib.util import find_spec
from typing import Any, Protocol

from mcp_servers.knowledge.minilm import MiniLM, model_dir

__all__ = ["Embedder", "EmbeddingFailed", "LocalEmbedder", "OpenAIEmbedder", "choose_embedder"]

logger = logging.getLogger(__name__)

_MODEL_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class EmbeddingFailed(Exception):
    """The embedding backend failed; callers fall back to full-text search."""


class Embedder(Protocol):
    name: str
    dimensions: int

    async def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text. Raises EmbeddingFailed."""
        ...


class OpenAIEmbedder:
    """OpenAI (or a compatible server's) embeddings endpoint, in batches."""

    def __init__(
        self, client: Any, model: str = "text-embedding-3-small", *, batch_size: int = 128
    ) -> None:
        if not _MODEL_NAME.match(model):
            raise ValueError(f"Not a model name: {model!r}")
        self._client = client
        self.name = model
        self.dimensions = _OPENAI_DIMENSIONS.get(model, 1536)
        self._batch = batch_size

    async def embed(self, texts: list[str]) -> list[list[float]]:
        import openai

        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch):
            batch = [t or " " for t in texts[start : start + self._batch]]
            try:
                response = await self._client.embeddings.create(model=self.name, input=batch)
            except openai.OpenAIError as error:
                raise EmbeddingFailed(f"OpenAI embeddings failed: {error}") from error
            ordered = sorted(response.data, key=lambda item: item.index)
            vectors.extend(list(item.embedding) for item in ordered)
        if vectors and len(vectors[0]) != self.dimensions:
            self.dimensions = len(vectors[0])
        return vectors

    async def close(self) -> None:
        await self._client.close()


class LocalEmbedder:
    """all-MiniLM-L6-v2 on the CPU, in a worker thread (see `minilm`).

    The model loads on the first `embed` (in that worker thread), not when the embedder is
    made: a process that opens the knowledge service at startup pays nothing until a
    document or a query needs a vector.
    """

    def __init__(self) -> None:
        self._model: MiniLM | None = None
        self._loading = threading.Lock()
        self.name = MiniLM.name
        self.dimensions = MiniLM.dimensions

    def _encode(self, texts: list[str]) -> list[list[float]]:
        model = self._model
        if model is None:
            with self._loading:
                if self._model is None:
                    self._model = _load_minilm()
                model = self._model
        return model.encode(texts)

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._encode, texts)


def _load_minilm() -> MiniLM:
    """The local model, loaded.

    Raises:
        EmbeddingFailed: it would not load (a broken install of the `local` extra).
    """
    try:
        return MiniLM()
    except (ImportError, OSError) as error:
        raise EmbeddingFailed(f"The local embedding model would not load: {error}") from error


def local_available() -> bool:
    """Whether the `local` extra and the model are installed: found, not imported (numpy
    and the rest take half a second to import, paid on the first embedding instead)."""
    if any(find_spec(name) is None for name in ("numpy", "safetensors", "tokenizers")):
        return False
    try:
        return (model_dir() / "model.safetensors").exists()
    except ImportError:
        return False


def choose_embedder(
    mode: str,
    *,
    openai_api_key: str | None,
    openai_base_url: str | None,
    openai_model: str,
) -> Embedder | None:
    """The embedder KNOWLEDGE_EMBEDDINGS asks for, or None for full-text search alone."""
    if mode in ("auto", "openai") and openai_api_key:
        import openai

        client = openai.AsyncOpenAI(
            api_key=openai_api_key, base_url=openai_base_url, max_retries=2, timeout=60
        )
        return OpenAIEmbedder(client, openai_model)
    if mode == "openai":
        logger.warning("KNOWLEDGE_EMBEDDINGS=openai but OPENAI_API_KEY is not set: full-text only")
        return None
    if mode in ("auto", "local"):
        if local_available():
            return LocalEmbedder()
        if mode == "local":
            logger.warning(
                "KNOWLEDGE_EMBEDDINGS=local but the `local` extra is not installed: "
                "full-text only (pip install 'assistant[local]')"
            )
    return None
