"""The `assistant` command: run the services, manage the database, users, keys and MCP servers."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console

from orchestrator import eventloop
from orchestrator.settings import ConfigError, Settings

__all__ = ["app", "main"]

T = TypeVar("T")

app = typer.Typer(
    help="A self-hosted AI assistant. `assistant up` runs it locally.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
serve_app = typer.Typer(help="Run one service (what a container runs).", no_args_is_help=True)
mcp_app = typer.Typer(help="MCP servers: list, add, remove, test.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(serve_app, name="serve")
app.add_typer(mcp_app, name="mcp")

console = Console(stderr=True, highlight=False)


def _settings(**overrides: Any) -> Settings:
    try:
        settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
        settings.check()
    except ConfigError as error:
        console.print(f"[red]Configuration error:[/red] {error}")
        raise typer.Exit(2) from error
    return settings


def _run(factory: Callable[[], Awaitable[T]]) -> T:
    from orchestrator.domain import AssistantError

    try:
        return asyncio.run(factory())  # type: ignore[arg-type]
    except AssistantError as error:
        console.print(f"[red]{error.message}[/red]")
        raise typer.Exit(1) from error
    except ConfigError as error:
        console.print(f"[red]Configuration error:[/red] {error}")
        raise typer.Exit(2) from error


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _already_running(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _serve_orchestrator(settings: Settings) -> None:
    import uvicorn

    from orchestrator.main import create_app
    from orchestrator.telemetry import configure_logging

    configure_logging(settings.log_level, json_logs=settings.production)
    host, port = settings.host, settings.port
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    if _port_in_use("127.0.0.1" if host in ("0.0.0.0", "::") else host, port):  # noqa: S104
        if _already_running(url):
            console.print(f"The assistant is already running at {url}.")
            raise typer.Exit(0)
        console.print(
            f"[red]Port {port} is in use by another program.[/red] Set PORT to another port."
        )
        raise typer.Exit(1)
    application = create_app(settings)
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    started = time.monotonic()

    async def serve() -> None:
        task = asyncio.create_task(server.serve())
        # uvicorn offers no "started" event to wait on; poll its flag.
        while not server.started and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        if server.started:
            console.print(f"Orchestrator at {url} ({time.monotonic() - started:.1f} s)")
        await task

    with contextlib.suppress(KeyboardInterrupt):
        eventloop.run(serve())
    if not server.started:
        raise typer.Exit(1)


@app.command()
def up() -> None:
    """Run the assistant locally: database, MCP servers and orchestrator, until Ctrl-C."""
    from orchestrator.supervisor import AlreadyRunning, PortBusy, Stack
    from orchestrator.telemetry import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, json_logs=settings.production)
    stack = Stack(settings, console)
    try:
        status = stack.run()
    except AlreadyRunning as running:
        console.print(f"The assistant is already running at {running.url}.")
        raise typer.Exit(0) from None
    except PortBusy as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        status = 130
    raise typer.Exit(status)


@serve_app.command("orchestrator")
def serve_orchestrator(
    host: Annotated[str | None, typer.Option("--host", help="Bind address (HOST).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (PORT).")] = None,
) -> None:
    """The orchestrator API on HOST:PORT."""
    _serve_orchestrator(_settings(host=host, port=port))


@app.command()
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
        connection = background.call(connect(target, _settings))
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


@app.command()
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


@serve_app.command("frontend")
def serve_frontend(
    port: Annotated[
        int | None, typer.Option("--port", help="HTTP port (FRONTEND_PORT, 5000).")
    ] = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Bind address (FRONTEND_HOST).")
    ] = None,
) -> None:
    """The web front end on FRONTEND_HOST:FRONTEND_PORT, in front of ORCHESTRATOR_URL."""
    import os

    # gevent must patch the standard library before anything imports it: the front end
    # runs in a fresh interpreter (`python -m frontend`), which replaces this process.
    env = dict(os.environ)
    if port is not None:
        env["FRONTEND_PORT"] = str(port)
    if host is not None:
        env["FRONTEND_HOST"] = host
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "frontend"], env)  # noqa: S606


@serve_app.command("mcp")
def serve_mcp(
    name: Annotated[
        str | None,
        typer.Argument(help="One server (knowledge, web, files, assistant); default: all."),
    ] = None,
    stdio: Annotated[bool, typer.Option("--stdio", help="Serve NAME over stdin/stdout.")] = False,
    port: Annotated[int | None, typer.Option("--port", help="HTTP port (MCP_PORT, 8001).")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Bind address (MCP_HOST).")] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="stdio only: act for this user id.")
    ] = None,
) -> None:
    """Our MCP servers over Streamable HTTP behind the discovery service, or one over stdio."""
    from mcp_servers.cli import run_mcp

    run_mcp(_settings(), name=name, stdio=stdio, port=port, host=host, user=user)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (embedded server when DATABASE_URL is unset)."""
    from orchestrator.runtime.services import open_database
    from orchestrator.store import head_revision

    settings = _settings()

    async def go() -> None:
        async with open_database(settings, migrate=True):
            pass

    _run(go)
    console.print(f"Database at revision {head_revision()}.")
    from mcp_servers.cli import upgrade_knowledge

    console.print(f"Knowledge tables at revision {upgrade_knowledge(settings)}.")


def _with_auth(settings: Settings, action: Callable[[Any], Awaitable[T]]) -> T:
    from orchestrator.auth import AuthService, TokenCodec
    from orchestrator.runtime.services import open_database
    from orchestrator.store import SqlUserStore

    async def go() -> T:
        async with open_database(settings, migrate=True) as (engine, _):
            codec = TokenCodec(settings.jwt_secret(), access_minutes=15, refresh_days=1)
            return await action(AuthService(SqlUserStore(engine), codec))

    return _run(go)


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
    settings = _settings()
    user = _with_auth(settings, lambda auth: auth.create_user(email, password, is_admin=admin))
    console.print(f"Created {'admin' if user.is_admin else 'user'} {user.email} ({user.id}).")


@keys_app.command("create")
def keys_create(
    user: Annotated[str, typer.Option("--user", help="The email of the key's owner.")],
    name: Annotated[str, typer.Option("--name", help="A name to recognise the key by.")] = "cli",
) -> None:
    """Create an API key; it is printed once, to standard output."""
    from orchestrator.domain import NotFound

    settings = _settings()

    async def create(auth: Any) -> str:
        record = await auth.users.by_email(user)
        if record is None:
            raise NotFound(f"No user {user}. Create one with: assistant users create {user}")
        _, secret = await auth.create_api_key(record.id, name)
        return secret

    secret = _with_auth(settings, create)
    console.print(f"API key for {user} (shown once):")
    typer.echo(secret)


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
    from orchestrator.mcp import Vault
    from orchestrator.mcp.server_set import Discovery, ServerSet
    from orchestrator.runtime.services import open_database
    from orchestrator.store import SqlMCPStore, SqlUserStore

    async def go() -> T:
        async with open_database(settings, migrate=True) as (engine, _):
            key = settings.mcp.token_key.get_secret_value() if settings.mcp.token_key else None
            discovery = (
                Discovery(settings.mcp.discovery_url, settings.mcp_service_token())
                if settings.mcp.discovery_url
                else None
            )
            servers = ServerSet(
                SqlMCPStore(engine),
                Vault.from_settings(key, settings.jwt_secret()),
                config_path=settings.mcp.config,
                discovery=discovery,
            )
            return await action(servers, SqlUserStore(engine))

    return _run(go)


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
    settings = _settings()

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
    settings = _settings()
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

    settings = _settings()

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

    from orchestrator.mcp import parse_server
    from orchestrator.mcp.client import outcome_of
    from orchestrator.mcp.probe import HeadlessUser, connect_once

    settings = _settings()

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

    _run(probe)


@mcp_app.command("conformance-client", hidden=True)
def mcp_conformance_client(url: str) -> None:
    """The client side of the MCP conformance suite (run by `make conformance`)."""
    import logging

    from orchestrator.mcp.conformance import Scenario, describe_failure, run_scenario

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
    scenario = Scenario.from_environment()
    try:
        asyncio.run(run_scenario(url, scenario))
    except Exception as error:  # report any failure as the scenario's outcome
        console.print(f"scenario {scenario.name} failed: {describe_failure(error)}")
        raise typer.Exit(1) from error


def main() -> None:
    sys.path.insert(0, str(Path.cwd()))
    app()
