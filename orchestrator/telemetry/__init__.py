"""Metrics and logging."""

from common.logs import configure_logging
from orchestrator.telemetry.metrics import Metrics

__all__ = ["Metrics", "configure_logging"]
