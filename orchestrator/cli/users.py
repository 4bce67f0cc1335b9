"""`assistant users`: user accounts, made from the command line (the first admin, say)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from orchestrator.cli.console import console, load_settings, run
from orchestrator.settings import Settings

__all__ = ["users_app", "with_auth"]

T = TypeVar("T")

users_app = typer.Typer(help="User accounts.", no_args_is_help=True)


def with_auth(settings: Settings, action: Callable[[Any], Awaitable[T]]) -> T:
    """Run `action(auth)` with an `AuthService` on the database (migrating it first).

    Args:
        settings: Where the database is, and the secret that signs tokens.
        action: What to do with the service.

    Returns:
        What `action` returned.

    Raises:
        typer.Exit: with the exit code of a failure, as `run` reports it.
    """
    from orchestrator.auth import AuthService, TokenCodec
    from orchestrator.runtime.services import open_database
    from orchestrator.store import SqlUserStore

    async def go() -> T:
        async with open_database(settings, migrate=True) as (engine, _):
            codec = TokenCodec(
                settings.jwt_secret(),
                access_minutes=15,
                refresh_days=1,
                previous=settings.jwt_previous_secrets(),
            )
            return await action(AuthService(SqlUserStore(engine), codec))

    return run(go)


@users_app.command("create")
def users_create(
    email: str,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
    password: Annotated[
        str | None, typer.Option("--password", help="The password; asked for when omitted.")
    ] = None,
) -> None:
    """Create a user (asks for the password unless --password is given)."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = load_settings()
    user = with_auth(settings, lambda auth: auth.create_user(email, password, is_admin=admin))
    console.print(f"Created {'admin' if user.is_admin else 'user'} {user.email} ({user.id}).")
