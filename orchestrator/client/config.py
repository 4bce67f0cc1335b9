"""Where the terminal client finds the assistant: flags, environment, or its config file.

`assistant login` writes the config file (`$XDG_CONFIG_HOME/assistant/client.json`, or
`ASSISTANT_CLIENT_CONFIG`), readable by its owner only, with the server's URL and an API key
made for this terminal. Flags win over the environment (`ASSISTANT_URL`,
`ASSISTANT_API_KEY`), which wins over the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ClientConfig", "config_path", "resolve_target", "save_config"]


@dataclass(frozen=True)
class ClientConfig:
    """The server's URL and the API key to use there; None where nothing was given."""

    url: str | None = None
    api_key: str | None = None


def config_path() -> Path:
    """The config file's path: `ASSISTANT_CLIENT_CONFIG`, else under `XDG_CONFIG_HOME`."""
    explicit = os.environ.get("ASSISTANT_CLIENT_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "assistant" / "client.json"


def load_config(path: Path | None = None) -> ClientConfig:
    """What the config file holds; empty when it is missing, unreadable or malformed."""
    path = path or config_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return ClientConfig()
    if not isinstance(data, dict):
        return ClientConfig()
    url, key = data.get("url"), data.get("api_key")
    return ClientConfig(
        url=url if isinstance(url, str) else None, api_key=key if isinstance(key, str) else None
    )


def save_config(config: ClientConfig, path: Path | None = None) -> Path:
    """Write the file with mode 0600 (it holds a credential)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump({"url": config.url, "api_key": config.api_key}, file, indent=2)
    os.chmod(temporary, 0o600)
    temporary.replace(path)
    return path


def resolve_target(url: str | None, api_key: str | None) -> ClientConfig:
    """The URL and key to use: flags, then environment, then the config file."""
    saved = load_config()
    chosen_url = url or os.environ.get("ASSISTANT_URL") or saved.url
    chosen_key = api_key or os.environ.get("ASSISTANT_API_KEY")
    if chosen_key is None and saved.api_key and (chosen_url is None or chosen_url == saved.url):
        chosen_key = saved.api_key
        chosen_url = chosen_url or saved.url
    return ClientConfig(url=chosen_url.rstrip("/") if chosen_url else None, api_key=chosen_key)
