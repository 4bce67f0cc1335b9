"""Prometheus metrics, in a registry owned by the app (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]


class Metrics:
    """The app's Prometheus metrics: HTTP requests, runs and model tokens.

    Each app has its own registry, so tests and several apps in one process do not share counts.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "assistant_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "assistant_http_request_seconds",
            "Time to the response's first byte, by route.",
            ["route"],
            registry=self.registry,
        )
        self.runs_started = Counter(
            "assistant_runs_started", "Runs started.", registry=self.registry
        )
        self.runs_finished = Counter(
            "assistant_runs_finished",
            "Runs finished, by status.",
            ["status"],
            registry=self.registry,
        )
        self.runs_active = Gauge(
            "assistant_runs_active", "Runs in progress.", registry=self.registry
        )
        self.tokens = Counter(
            "assistant_tokens",
            "Model tokens, by model and kind.",
            ["model", "kind"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The registry in Prometheus' text format, for `GET /metrics`."""
        return generate_latest(self.registry)
