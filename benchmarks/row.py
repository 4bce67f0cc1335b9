"""One line of the table: a metric for ours, the floor and LiteLLM, against its target."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Row", "number"]


def number(value: float | None) -> str:
    """A figure with as many decimals as its size deserves; `—` when not measured."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    size = abs(value)
    if size >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


@dataclass
class Row:
    key: str
    metric: str
    ours: float | None = None
    floor: float | None = None
    litellm: float | None = None
    target: float | None = None
    better: Literal["lower", "higher"] = "lower"
    unit: str = ""
    note: str = ""

    @property
    def passed(self) -> bool | None:
        """Whether ours meets the target; None without a target, False when not measured."""
        if self.target is None:
            return None
        if self.ours is None or math.isnan(self.ours):
            return False
        if self.better == "lower":
            return self.ours <= self.target
        return self.ours >= self.target

    @property
    def vs_litellm(self) -> float | None:
        """How many times better ours is than LiteLLM (above 1: better)."""
        if self.ours is None or self.litellm is None or self.ours <= 0 or self.litellm <= 0:
            return None  # a ratio of a figure at or below zero (added time) means nothing
        if self.better == "lower":
            return self.litellm / self.ours
        return self.ours / self.litellm

    def target_text(self) -> str:
        if self.target is None:
            return ""
        return ("≤ " if self.better == "lower" else "≥ ") + number(self.target)

    def verdict(self) -> str:
        passed = self.passed
        return "" if passed is None else "PASS" if passed else "MISS"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(passed=self.passed, vs_litellm=self.vs_litellm)
        return data
