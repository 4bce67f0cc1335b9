"""Talking to the assistant from a terminal: `assistant chat` and `assistant login`.

The work is done by `orchestrator.client`; these commands read the command line, report
failures in the console's words and choose the exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Annotated

import typer
from rich.console import Console

from orchestrator.cli.console import console, load_settings
from orchestrator.settings import ConfigError

__all__ = ["chat", "login"]


def chat(
    message: Annotated[
        str | None, typer.Argument(help="Send this one message and exit; none: a chat session.")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="The assistant's URL (or ASSISTANT_URL).")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="An API key (or ASSISTANT_API_KEY).")
    ] = None,
    conversation: Annotated[
        str | None, typer.Option("--conversation", "-c", help="Continue this conversation.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Ask for this model.")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print each run event as one JSON line.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Approve every tool call without asking.")
    ] = False,
) -> None:
    """Chat in the terminal, with a running assistant or one started in-process.

    Without --url (or ASSISTANT_URL, or `assistant login`), it uses the assistant running
    on this machine, or starts one inside this command.
    """
    from orchestrator.client import (
        ApiError,
        Background,
        ChatSession,
        connect,
        plain,
        resolve_target,
    )
    from orchestrator.domain import AssistantError

    if json_output and message is None:
        console.print("[red]--json needs a MESSAGE.[/red]")
        raise typer.Exit(2)
    # Ctrl-C cancels an answer. A shell starts background and scripted commands with
    # SIGINT ignored, and Python then leaves it ignored: take it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    output = Console(highlight=False)
    background = Background()
    connection = None
    status = 1
    try:
        target = resolve_target(url, api_key)
        if target.url is None and not json_output:
            console.print("[dim]Connecting…[/dim]")
        connection = background.call(connect(target, load_settings))
        if not json_output:
            console.print(f"[dim]Assistant: {connection.where}[/dim]")
        session = ChatSession(
            connection.client,
            background,
            output,
            conversation_id=conversation,
            model=model,
            json_mode=json_output,
            approve_all=yes,
        )
        if message is not None:
            status = 0 if session.send(message) else 1
        else:
            status = session.repl()
    except (ApiError, AssistantError) as error:
        console.print(f"[red]{plain(error.message)}[/red]")
    except ConfigError as error:
        console.print(f"[red]Configuration error:[/red] {error}")
        status = 2
    finally:
        if connection is not None:
            with contextlib.suppress(Exception):
                background.call(connection.aclose())
        background.close()
    raise typer.Exit(status)


def login(
    url: Annotated[
        str, typer.Option("--url", help="The assistant's URL.", prompt="Assistant URL")
    ] = "http://127.0.0.1:8000",
    email: Annotated[str, typer.Option("--email", prompt="Email")] = "",
    password: Annotated[str, typer.Option("--password", prompt="Password", hide_input=True)] = "",
) -> None:
    """Log in once; `assistant chat` then uses an API key made for this terminal."""
    import platform

    from orchestrator.client import ApiError, AssistantClient, ClientConfig, plain, save_config

    async def go() -> str:
        client = AssistantClient(url)
        try:
            await client.login(email, password)
            return await client.create_key(f"terminal on {platform.node() or 'this machine'}")
        finally:
            await client.aclose()

    try:
        key = asyncio.run(go())
    except ApiError as error:
        console.print(f"[red]{plain(error.message)}[/red]")
        raise typer.Exit(1) from error
    path = save_config(ClientConfig(url=url.rstrip("/"), api_key=key))
    console.print(f"Logged in to {url} as {email}; the key is kept in {path} (mode 0600).")
