"""Metrics and logging."""

from orchestrator.telemetry.logs import configure_logging
from orchestrator.telemetry.metrics import Metrics

__all__ = ["Metrics", "configure_logging"]
