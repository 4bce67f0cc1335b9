"""What we know of models' context windows and output limits."""

from __future__ import annotations

from orchestrator.domain import ModelLimits

__all__ = ["model_limits"]

# Longest prefix wins. Figures from the providers' model pages.
_KNOWN: dict[str, tuple[int, int]] = {
    "gpt-5": (400_000, 128_000),
    "gpt-4.1": (1_047_576, 32_768),
    "gpt-4.5": (128_000, 16_384),
    "gpt-4o": (128_000, 16_384),
    "gpt-4-turbo": (128_000, 4_096),
    "gpt-4": (8_192, 4_096),
    "gpt-3.5-turbo": (16_385, 4_096),
    "o1": (200_000, 100_000),
    "o3": (200_000, 100_000),
    "o4": (200_000, 100_000),
}
# A server we know nothing about: assume a modest window.
_UNKNOWN = (32_768, 4_096)


def model_limits(
    model: str, *, context_window: int | None = None, max_output: int | None = None
) -> ModelLimits:
    """Limits for `model`: the figures known for it, overridden by configured values."""
    name = model.lower().rsplit("/", 1)[-1]
    window, output = _UNKNOWN
    best = -1
    for prefix, figures in _KNOWN.items():
        if name.startswith(prefix) and len(prefix) > best:
            window, output = figures
            best = len(prefix)
    window = context_window or window
    output = max_output or output
    return ModelLimits(context_window=window, max_output_tokens=min(output, window // 2))
