"""`assistant mcp`: the MCP servers the assistant uses (list, add, remove, test).

Servers added here are stored in the database, as the API stores them; a running assistant
picks them up within seconds. `test` connects once, as the hub would, and shows what the
server offers. `conformance-client` is the client side of the official conformance suite.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from orchestrator.cli.console import console, load_settings, run
from orchestrator.settings import Settings

__all__ = ["mcp_app"]

T = TypeVar("T")

mcp_app = typer.Typer(help="MCP servers: list, add, remove, test.", no_args_is_help=True)


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            console.print(f"[red]{what} must be KEY=VALUE, got {value!r}[/red]")
            raise typer.Exit(2)
        pairs[key] = item
    return pairs


def _with_mcp(settings: Settings, action: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run `action(server_set, users)` on the stored servers (migrating first)."""
    from orchestrator.mcp.server_set import Discovery, ServerSet
    from orchestrator.runtime.services import open_database, open_vault
    from orchestrator.store import SqlMCPStore, SqlUserStore

    async def go() -> T:
        async with open_database(settings, migrate=True) as (engine, _):
            vault = open_vault(settings, engine)
            await vault.check()
            discovery = (
                Discovery(settings.mcp.discovery_url, settings.mcp_service_token())
                if settings.mcp.discovery_url
                else None
            )
            servers = ServerSet(
                SqlMCPStore(engine),
                vault,
                config_path=settings.mcp.config,
                discovery=discovery,
            )
            return await action(servers, SqlUserStore(engine))

    return run(go)


async def _owner(users: Any, email: str | None) -> str | None:
    from orchestrator.domain import NotFound

    if email is None:
        return None
    record = await users.by_email(email)
    if record is None:
        raise NotFound(f"No user {email}.")
    return record.id


@mcp_app.command("list")
def mcp_list() -> None:
    """Every configured server: from mcp.json, registered, and discovered."""
    settings = load_settings()

    async def listing(servers: Any, users: Any) -> list[Any]:
        desired = await servers.desired(poll=True)
        for problem in servers.problems:
            console.print(f"[yellow]{problem}[/yellow]")
        return sorted(desired.values(), key=lambda c: (c.name, c.key))

    configs = _with_mcp(settings, listing)
    if not configs:
        console.print(
            f"No MCP servers. Add one with `assistant mcp add` or in {settings.mcp.config}."
        )
        return
    for config in configs:
        target = (
            config.url
            if config.transport == "http"
            else " ".join([config.command or "", *config.args])
        )
        scope = "shared" if config.owner_id is None else f"personal ({config.owner_id})"
        typer.echo(f"{config.name}\t{config.source.value}\t{scope}\t{config.transport}\t{target}")


@mcp_app.command("add")
def mcp_add(
    name: str,
    command: Annotated[
        list[str] | None, typer.Argument(help="For a stdio server: the command and its arguments.")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="A Streamable HTTP endpoint.")] = None,
    env: Annotated[list[str], typer.Option("--env", help="KEY=VALUE for a stdio server.")] = [],  # noqa: B006
    header: Annotated[list[str], typer.Option("--header", help="KEY=VALUE for HTTP.")] = [],  # noqa: B006
    policy: Annotated[str | None, typer.Option("--policy", help="auto, ask or deny.")] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Make it this user's own (email); else shared.")
    ] = None,
) -> None:
    """Register a server: `mcp add NAME --url URL`, or `mcp add NAME -- COMMAND ARGS...`.

    The running assistant picks it up within seconds.
    """
    from orchestrator.mcp import ServerSource, parse_server

    entry: dict[str, Any] = {}
    if url:
        entry.update(url=url, headers=_pairs(header, "--header"))
    if command:
        entry.update(command=command[0], args=command[1:], env=_pairs(env, "--env"))
    if policy:
        entry["policy"] = policy
    settings = load_settings()
    from orchestrator.domain import AssistantError
    from orchestrator.mcp import protected_values

    try:  # refuse a bad entry before touching the database
        parse_server(name, entry, source=ServerSource.API).check_secrets(protected_values())
    except AssistantError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(1) from error

    async def add(servers: Any, users: Any) -> Any:
        owner = await _owner(users, user)
        config = parse_server(name, entry, owner_id=owner, source=ServerSource.API)
        await servers.add(config, created_by=None)
        return config

    config = _with_mcp(settings, add)
    scope = "shared" if config.owner_id is None else f"for {user}"
    console.print(f"Added {config.transport} server {config.name} ({scope}).")


@mcp_app.command("remove")
def mcp_remove(
    name: str,
    user: Annotated[str | None, typer.Option("--user", help="The owner's email.")] = None,
) -> None:
    """Remove a server registered with `add` or through the API."""
    from orchestrator.domain import NotFound
    from orchestrator.mcp import ServerSource, parse_server

    settings = load_settings()

    async def remove(servers: Any, users: Any) -> None:
        placeholder = parse_server(
            name,
            {"url": "http://placeholder/"},
            owner_id=await _owner(users, user),
            source=ServerSource.API,
        )
        if not await servers.remove(placeholder):
            raise NotFound(f"No registered server {name}" + (f" of {user}." if user else "."))

    _with_mcp(settings, remove)
    console.print(f"Removed {name}.")


@mcp_app.command("test")
def mcp_test(
    target: Annotated[str, typer.Argument(help="A configured server's name, a URL, or a command.")],
    args: Annotated[list[str] | None, typer.Argument(help="The command's arguments.")] = None,
    call: Annotated[str | None, typer.Option("--call", help="Call this tool.")] = None,
    arguments: Annotated[
        str, typer.Option("--arguments", help="The tool's arguments, as JSON.")
    ] = "{}",
) -> None:
    """Connect to a server and show what it offers (and call a tool with --call)."""
    import json
    import os

    from orchestrator.cli.mcp_probe import HeadlessUser, connect_once
    from orchestrator.mcp import parse_server
    from orchestrator.mcp.client import outcome_of

    settings = load_settings()

    async def configured(servers: Any, users: Any) -> Any:
        desired = await servers.desired()
        return next((c for c in desired.values() if c.name == target and c.owner_id is None), None)

    if target.startswith(("http://", "https://")):
        config = parse_server("test", {"url": target})
    else:
        config = None if args else _with_mcp(settings, configured)
        if config is None:
            config = parse_server("test", {"command": target, "args": args or []})
    try:
        parsed = json.loads(arguments)
    except ValueError as error:
        console.print(f"[red]--arguments is not JSON: {error}[/red]")
        raise typer.Exit(2) from error

    async def probe() -> None:
        with open(os.devnull, "w") as errlog:  # noqa: ASYNC230
            async with connect_once(config, errlog=errlog, data_dir=settings.data_dir) as link:
                listing = link.listing
                typer.echo(
                    f"{config.name}: {link.server_name or '?'} over {config.transport}, "
                    f"protocol {link.protocol_version}"
                )
                typer.echo(f"tools ({len(listing.tools)}):")
                for tool in listing.tools:
                    summary = (tool.description or "").strip().splitlines()[:1]
                    typer.echo(f"  {tool.name}: {summary[0] if summary else ''}")
                templates = len(listing.templates)
                typer.echo(
                    f"resources: {len(listing.resources)} (+{templates} templates), "
                    f"prompts: {len(listing.prompts)}"
                )
                if call is not None:
                    tool_name = call
                    result = await link.request(
                        HeadlessUser().call(config.timeout),
                        lambda client, meta: client.call_tool(tool_name, parsed, meta=meta),
                    )
                    typer.echo(json.dumps(outcome_of(result).model_dump(mode="json"), indent=2))

    run(probe)


@mcp_app.command("conformance-client", hidden=True)
def mcp_conformance_client(url: str) -> None:
    """The client side of the MCP conformance suite (run by `make conformance`)."""
    import logging

    from orchestrator.cli.mcp_conformance import Scenario, describe_failure, run_scenario

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
    scenario = Scenario.from_environment()
    try:
        asyncio.run(run_scenario(url, scenario))
    except Exception as error:  # report any failure as the scenario's outcome
        console.print(f"scenario {scenario.name} failed: {describe_failure(error)}")
        raise typer.Exit(1) from error
