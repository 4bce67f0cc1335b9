"""What every command shares: messages on standard error, and errors turned into exit codes.

Exit codes: 0 success, 1 a refused or failed action (an `AssistantError`), 2 a
configuration error or a bad command line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from orchestrator.settings import ConfigError, Settings

__all__ = ["console", "load_settings", "run"]

T = TypeVar("T")

console = Console(stderr=True, highlight=False)
"""Messages for the person at the terminal; standard output is kept for results."""


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment, with the command line's options over them.

    Args:
        **overrides: Settings fields given on the command line; None means not given.

    Returns:
        Checked settings.

    Raises:
        typer.Exit: with code 2 on a configuration error, after printing it.
    """
    try:
        settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
        settings.check()
    except ConfigError as error:
        console.print(f"[red]Configuration error:[/red] {error}")
        raise typer.Exit(2) from error
    return settings


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion and print a failure as the user should see it.

    Args:
        factory: Makes the coroutine to run.

    Returns:
        What the coroutine returned.

    Raises:
        typer.Exit: with code 1 on an `AssistantError`, 2 on a configuration error.
    """
    from orchestrator.domain import AssistantError

    try:
        return asyncio.run(factory())  # type: ignore[arg-type]
    except AssistantError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(1) from error
    except ConfigError as error:
        console.print(f"[red]Configuration error:[/red] {error}")
        raise typer.Exit(2) from error
