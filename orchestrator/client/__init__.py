"""The terminal client: an HTTP client for the API, and the chat UI on top of it."""

from orchestrator.client.api import ApiError, AssistantClient, Credentials, RunEvent
from orchestrator.client.chat import ChatSession
from orchestrator.client.config import ClientConfig, config_path, resolve_target, save_config
from orchestrator.client.connection import Background, Connection, connect
from orchestrator.client.untrusted import clean, plain

__all__ = [
    "ApiError",
    "AssistantClient",
    "Background",
    "ChatSession",
    "ClientConfig",
    "Connection",
    "Credentials",
    "RunEvent",
    "clean",
    "config_path",
    "connect",
    "plain",
    "resolve_target",
    "save_config",
]
