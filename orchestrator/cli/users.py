"""`assistant users`: user accounts, made from the command line (the first admin, say).

Changes are audited as the API's are (`user.create`, `user.update`), with the operator
as the actor: `actor_email` "cli:" and the OS user (see `cli_event`), no `actor_id`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from orchestrator.cli.console import console, load_settings, run
from orchestrator.settings import Settings

if TYPE_CHECKING:
    from orchestrator.domain import AuditEvent

__all__ = [
    "Audited",
    "cli_event",
    "recorded",
    "user_id_of",
    "users_app",
    "with_auth",
    "with_engine",
]

T = TypeVar("T")

users_app = typer.Typer(help="User accounts.", no_args_is_help=True)


Audited = Callable[[Any], "AuditEvent"] | None
"""What to record once an action succeeded: its audit record, made from its result."""


def cli_event(action: str, target: tuple[str, str], /, **detail: Any) -> AuditEvent:
    """The audit record of a change made from the command line, by the OS user running it."""
    import getpass
    import os

    from orchestrator.domain import AuditEvent

    try:
        operator = getpass.getuser()
    except (OSError, KeyError):  # no login name (a container's bare uid)
        operator = str(os.getuid())
    return AuditEvent(
        action,
        actor_email=f"cli:{operator}",
        target_type=target[0],
        target_id=target[1],
        detail=detail,
    )


async def recorded(engine: Any, result: T, audited: Audited) -> T:
    """`result`, once the record `audited(result)` (if any) is in the audit log."""
    from orchestrator.store import SqlAuditLog

    if audited is not None:
        await SqlAuditLog(engine).record(audited(result))
    return result


def with_auth(
    settings: Settings, action: Callable[[Any], Awaitable[T]], audited: Audited = None
) -> T:
    """Run `action(auth)` with an `AuthService` on the database (migrating it first).

    Args:
        settings: Where the database is, and the secret that signs tokens.
        action: What to do with the service.
        audited: The audit record of the action's result, stored once it succeeded.

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
            result = await action(AuthService(SqlUserStore(engine), codec))
            return await recorded(engine, result, audited)

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
    user = with_auth(
        settings,
        lambda auth: auth.create_user(email, password, is_admin=admin),
        lambda user: cli_event(
            "user.create", ("user", user.id), email=user.email, is_admin=user.is_admin
        ),
    )
    console.print(f"Created {'admin' if user.is_admin else 'user'} {user.email} ({user.id}).")


def with_engine(
    settings: Settings, action: Callable[[Any], Awaitable[T]], audited: Audited = None
) -> T:
    """Run `action(engine)` on the database (migrating it first), for the stores directly.

    Args:
        settings: Where the database is.
        action: What to do with the engine.
        audited: The audit record of the action's result, stored once it succeeded.

    Returns:
        What `action` returned.

    Raises:
        typer.Exit: with the exit code of a failure, as `run` reports it.
    """
    from orchestrator.runtime.services import open_database

    async def go() -> T:
        async with open_database(settings, migrate=True) as (engine, _):
            return await recorded(engine, await action(engine), audited)

    return run(go)


async def user_id_of(auth: Any, email: str) -> str:
    """The id of the account with that email.

    Raises:
        NotFound: no such account.
    """
    from orchestrator.domain import NotFound

    user = await auth.users.by_email(email.strip().lower())
    if user is None:
        raise NotFound(f"No user with the email {email!r}.")
    return user.id


@users_app.command("list")
def users_list() -> None:
    """List accounts: email, role, state and groups (one per line, tab-separated)."""
    from orchestrator.store import SqlGroupStore, SqlUserStore

    async def action(engine: Any) -> list[str]:
        accounts = await SqlUserStore(engine).list_users()
        groups = await SqlGroupStore(engine).groups_of([user.id for user in accounts])
        return [
            "\t".join(
                (
                    user.email,
                    "admin" if user.is_admin else "user",
                    "active" if user.is_active else "disabled",
                    ",".join(name for _, name in groups.get(user.id, [])),
                )
            )
            for user in accounts
        ]

    for line in with_engine(load_settings(), action):
        typer.echo(line)


def _update(email: str, **changes: Any) -> Any:
    async def action(auth: Any) -> Any:
        return await auth.update_account(await user_id_of(auth, email), **changes)

    # As the API records it: the fields changed, a new password only as `password_reset`.
    shown = {name: value for name, value in changes.items() if name != "password"}
    if "password" in changes:
        shown["password_reset"] = True
    return with_auth(
        load_settings(),
        action,
        lambda user: cli_event("user.update", ("user", user.id), email=user.email, **shown),
    )


@users_app.command("set-role")
def users_set_role(
    email: str,
    role: Annotated[str, typer.Argument(help="admin or user.")],
) -> None:
    """Make a user an admin, or an ordinary user (their sessions end)."""
    if role not in ("admin", "user"):
        console.print(f"[red]The role is `admin` or `user`, not {role!r}.[/red]")
        raise typer.Exit(2)
    user = _update(email, is_admin=role == "admin")
    console.print(f"{user.email} is now {'an admin' if user.is_admin else 'a user'}.")


@users_app.command("disable")
def users_disable(email: str) -> None:
    """Disable an account: its sessions and API keys stop at once."""
    user = _update(email, is_active=False)
    console.print(f"Disabled {user.email}.")


@users_app.command("enable")
def users_enable(email: str) -> None:
    """Enable a disabled account again."""
    user = _update(email, is_active=True)
    console.print(f"Enabled {user.email}.")


@users_app.command("reset-password")
def users_reset_password(
    email: str,
    password: Annotated[
        str | None,
        typer.Option("--password", help="The temporary password; generated when omitted."),
    ] = None,
) -> None:
    """Reset a password as the API does: sessions end, the next login must change it.

    A generated temporary password is printed once, alone on the last line.
    """

    async def action(auth: Any) -> tuple[str, str]:
        user_id = await user_id_of(auth, email)
        return user_id, await auth.reset_password(user_id, password)

    _, temporary = with_auth(
        load_settings(),
        action,
        lambda done: cli_event(
            "user.password_reset", ("user", done[0]), generated=password is None
        ),
    )
    console.print(
        f"Reset the password of {email}; their sessions ended and the next login must set "
        "a new one."
    )
    if password is None:
        typer.echo(temporary)
