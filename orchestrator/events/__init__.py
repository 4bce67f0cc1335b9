"""Run event buses: in-process now; Redis Streams when replicas share runs."""

from orchestrator.events.memory import InMemoryEventBus

__all__ = ["InMemoryEventBus"]
