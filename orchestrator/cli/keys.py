"""`assistant keys`: API keys for scripts and terminals, made for an existing user.

A new key is audited (`key.create`) as the API does it, the operator as the actor.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from orchestrator.cli.console import console, load_settings
from orchestrator.cli.users import cli_event, with_auth

__all__ = ["keys_app"]

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option("--user", help="The email of the key's owner.")],
    name: Annotated[str, typer.Option("--name", help="A name to recognise the key by.")] = "cli",
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="chat, read, mcp or admin (repeat it); default chat, read."),
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="Expire after this many days.")
    ] = None,
) -> None:
    """Create an API key; it is printed once, to standard output."""
    from datetime import UTC, datetime, timedelta

    from orchestrator.domain import NotFound

    settings = load_settings()

    async def create(auth: Any) -> tuple[Any, str]:
        record = await auth.users.by_email(user)
        if record is None:
            raise NotFound(f"No user {user}. Create one with: assistant users create {user}")
        expires = datetime.now(UTC) + timedelta(days=days) if days else None
        return await auth.create_api_key(record.id, name, scopes=scope, expires_at=expires)

    _, secret = with_auth(
        settings,
        create,
        lambda made: cli_event(
            "key.create", ("api_key", made[0].id), name=made[0].name, prefix=made[0].prefix
        ),
    )
    console.print(f"API key for {user} (shown once):")
    typer.echo(secret)
