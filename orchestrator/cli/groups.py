"""`assistant groups`: groups, their members, tool rules, models and shared servers.

Works on the database directly, as `assistant users` does, so an operator can set up
groups before the orchestrator runs. A running orchestrator sees a change within a few
seconds (its cache of users' access is that short). Changes are audited with the API's
action names (`group.create`, `group.member.add`, ...), the operator as the actor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from orchestrator.cli.console import console, load_settings
from orchestrator.cli.users import Audited, cli_event, user_id_of, with_engine

__all__ = ["groups_app"]

T = TypeVar("T")

groups_app = typer.Typer(help="Groups: members, tool rules, models, shared servers.")

ToolArgument = Annotated[str, typer.Argument(help='A tool of the server, or "*" for all of them.')]


def _with_groups(action: Callable[[Any, Any], Awaitable[T]], audited: Audited = None) -> T:
    """Run `action(groups, auth)` with the group store and the accounts on the database.

    `audited(result)` is the action's audit record, stored once the action succeeded.
    """
    from orchestrator.auth import AuthService, TokenCodec
    from orchestrator.store import SqlGroupStore, SqlUserStore

    settings = load_settings()

    async def go(engine: Any) -> T:
        codec = TokenCodec(settings.jwt_secret(), access_minutes=15, refresh_days=1)
        return await action(SqlGroupStore(engine), AuthService(SqlUserStore(engine), codec))

    return with_engine(settings, go, audited)


def _group_event(action: str, **detail: Any) -> Callable[[Any], Any]:
    """The audit record of a change to the group an action returns."""
    return lambda group: cli_event(action, ("group", group.id), **detail)


def _describe(group: Any) -> str:
    models = "any model" if group.models is None else (", ".join(group.models) or "no model")
    lines = [f"{group.name}\t{len(group.members)} members\t{models}"]
    lines += [f"  member\t{member.email}" for member in group.members]
    lines += [f"  {rule.policy.value}\t{rule.server}/{rule.tool}" for rule in group.rules]
    lines += [f"  server\t{server}" for server in group.servers]
    return "\n".join(lines)


@groups_app.command("list")
def groups_list() -> None:
    """List groups with their members, tool rules, models and shared servers."""

    async def action(groups: Any, auth: Any) -> list[Any]:
        return await groups.list_groups()

    for group in _with_groups(action):
        typer.echo(_describe(group))


@groups_app.command("create")
def groups_create(
    name: str,
    description: Annotated[str, typer.Option("--description", help="What the group is.")] = "",
    models: Annotated[
        list[str] | None,
        typer.Option("--model", help="A model members may use (repeat); none given: any."),
    ] = None,
) -> None:
    """Create a group."""

    async def action(groups: Any, auth: Any) -> Any:
        return await groups.create(name, description=description, models=models or None)

    group = _with_groups(
        action, lambda g: cli_event("group.create", ("group", g.id), name=g.name, models=g.models)
    )
    console.print(f"Created group {group.name} ({group.id}).")


@groups_app.command("delete")
def groups_delete(name: str) -> None:
    """Delete a group (its members stay; its rules and server limits go)."""

    async def action(groups: Any, auth: Any) -> Any:
        group = await groups.by_name(name)
        await groups.delete(group.id)
        return group

    _with_groups(action, _group_event("group.delete"))
    console.print(f"Deleted group {name}.")


@groups_app.command("add-member")
def groups_add_member(name: str, email: str) -> None:
    """Put a user in a group."""

    async def action(groups: Any, auth: Any) -> Any:
        group_id = (await groups.by_name(name)).id  # the group first: its error first
        user_id = await user_id_of(auth, email)
        return user_id, await groups.add_member(group_id, user_id)

    _with_groups(
        action, lambda done: cli_event("group.member.add", ("group", done[1].id), user_id=done[0])
    )
    console.print(f"{email} is in {name}.")


@groups_app.command("remove-member")
def groups_remove_member(name: str, email: str) -> None:
    """Take a user out of a group."""

    async def action(groups: Any, auth: Any) -> Any:
        group_id = (await groups.by_name(name)).id  # the group first: its error first
        user_id = await user_id_of(auth, email)
        return user_id, await groups.remove_member(group_id, user_id)

    _with_groups(
        action,
        lambda done: cli_event("group.member.remove", ("group", done[1].id), user_id=done[0]),
    )
    console.print(f"{email} is no longer in {name}.")


def _set_rule(name: str, server: str, tool: str, policy: str) -> None:
    from orchestrator.domain import GroupPolicy

    async def action(groups: Any, auth: Any) -> Any:
        group = await groups.by_name(name)
        return await groups.set_rule(group.id, server, tool, GroupPolicy(policy))

    _with_groups(action, _group_event("group.policy.set", server=server, tool=tool, policy=policy))


@groups_app.command("deny")
def groups_deny(name: str, server: str, tool: ToolArgument = "*") -> None:
    """Deny a server's tool (or all of them) to a group: never offered, never run."""
    _set_rule(name, server, tool, "deny")
    console.print(f"{server}/{tool} is denied to {name}.")


@groups_app.command("ask")
def groups_ask(name: str, server: str, tool: ToolArgument = "*") -> None:
    """Make a server's tool (or all of them) ask for approval on every call for a group."""
    _set_rule(name, server, tool, "ask")
    console.print(f"{server}/{tool} asks for approval in {name}.")


@groups_app.command("allow")
def groups_allow(name: str, server: str, tool: ToolArgument = "*") -> None:
    """Drop a group's rule on a server's tool (deny or ask)."""

    async def action(groups: Any, auth: Any) -> Any:
        return await groups.remove_rule((await groups.by_name(name)).id, server, tool)

    _with_groups(action, _group_event("group.policy.remove", server=server, tool=tool))
    console.print(f"{name} has no rule on {server}/{tool} any more.")


@groups_app.command("models")
def groups_models(
    name: str,
    models: Annotated[list[str] | None, typer.Argument(help="The models members may use.")] = None,
    any_model: Annotated[bool, typer.Option("--any", help="Allow any model.")] = False,
) -> None:
    """Set the models a group's members may use (`--any` for any model)."""
    if not models and not any_model:
        console.print("[red]Name the models, or give --any.[/red]")
        raise typer.Exit(2)

    async def action(groups: Any, auth: Any) -> Any:
        group = await groups.by_name(name)
        return await groups.update(group.id, models=None if any_model else list(models or ()))

    group = _with_groups(
        action, lambda g: cli_event("group.update", ("group", g.id), models=g.models)
    )
    shown = "any model" if group.models is None else ", ".join(group.models)
    console.print(f"{name} may use {shown}.")


@groups_app.command("share")
def groups_share(name: str, server: str) -> None:
    """Limit a shared MCP server to its groups, this one among them."""

    async def action(groups: Any, auth: Any) -> Any:
        return await groups.share_server((await groups.by_name(name)).id, server)

    _with_groups(action, _group_event("group.server.share", server=server))
    console.print(f"{server} is limited to its groups, {name} among them.")


@groups_app.command("unshare")
def groups_unshare(name: str, server: str) -> None:
    """Take a group out of a shared MCP server's audience (none left: everyone's)."""

    async def action(groups: Any, auth: Any) -> Any:
        return await groups.unshare_server((await groups.by_name(name)).id, server)

    _with_groups(action, _group_event("group.server.unshare", server=server))
    console.print(f"{name} no longer limits {server}.")
