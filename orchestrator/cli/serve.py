"""Running the assistant: `assistant up` (everything, locally) and `assistant serve` (one service).

`up` supervises the whole stack in one terminal; `serve orchestrator`, `serve frontend` and
`serve mcp` each run one service in the foreground, as a container does.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from typing import Annotated

import httpx
import typer

from common.tls import MutualTLS, scheme
from orchestrator import eventloop
from orchestrator.cli.console import console, load_settings
from orchestrator.settings import ConfigError, Settings

__all__ = ["serve_app", "up"]

serve_app = typer.Typer(help="Run one service (what a container runs).", no_args_is_help=True)


def up() -> None:
    """Run the assistant locally: database, MCP servers and orchestrator, until Ctrl-C."""
    from orchestrator.supervisor import AlreadyRunning, PortBusy, Stack
    from orchestrator.telemetry import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, json_logs=settings.production)
    try:
        stack = Stack(settings, console)
        status = stack.run()
    except ConfigError as error:
        console.print(f"[red]Configuration error:[/red] {error}")
        raise typer.Exit(2) from error
    except AlreadyRunning as running:
        console.print(f"The assistant is already running at {running.url}.")
        raise typer.Exit(0) from None
    except PortBusy as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        status = 130
    raise typer.Exit(status)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def _already_running(url: str, tls: MutualTLS | None) -> bool:
    verify = tls.client_context() if tls is not None else True
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0, verify=verify).status_code == 200
    except httpx.HTTPError:
        return False


def _mutual_tls(settings: Settings) -> MutualTLS | None:
    """The orchestrator's certificate when MTLS is on; exits 2 when it cannot be used."""
    try:
        return MutualTLS.of(settings, "orchestrator")
    except ConfigError as error:
        console.print(f"[red]Configuration error:[/red] {error}")
        raise typer.Exit(2) from error


def _serve_orchestrator(settings: Settings) -> None:
    import uvicorn

    from orchestrator.main import StartupGuard, create_app
    from orchestrator.telemetry import configure_logging

    configure_logging(settings.log_level, json_logs=settings.production)
    host, port = settings.host, settings.port
    tls = _mutual_tls(settings)
    loopback = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    url = f"{scheme(tls)}://{loopback}:{port}"
    if _port_in_use(loopback, port):
        if _already_running(url, tls):
            console.print(f"The assistant is already running at {url}.")
            raise typer.Exit(0)
        console.print(
            f"[red]Port {port} is in use by another program.[/red] Set PORT to another port."
        )
        raise typer.Exit(1)
    application = StartupGuard(create_app(settings))
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=True,
        timeout_graceful_shutdown=10,
        **(tls.uvicorn_options() if tls is not None else {}),
    )
    server = uvicorn.Server(config)
    started = time.monotonic()

    async def serve() -> None:
        task = asyncio.create_task(application.serve(server))
        # uvicorn offers no "started" event to wait on; poll its flag.
        while not server.started and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        if server.started:
            console.print(f"Orchestrator at {url} ({time.monotonic() - started:.1f} s)")
        await task

    try:
        with contextlib.suppress(KeyboardInterrupt):
            eventloop.run(serve())
    except ConfigError as error:
        console.print(f"[red]Configuration error:[/red] {error}")
        raise typer.Exit(2) from error
    if not server.started:
        raise typer.Exit(1)


@serve_app.command("orchestrator")
def serve_orchestrator(
    host: Annotated[str | None, typer.Option("--host", help="Bind address (HOST).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (PORT).")] = None,
) -> None:
    """The orchestrator API on HOST:PORT."""
    _serve_orchestrator(load_settings(host=host, port=port))


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

    run_mcp(load_settings(), name=name, stdio=stdio, port=port, host=host, user=user)
