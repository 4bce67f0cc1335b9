"""The processes a benchmark run starts: the fake upstream, our server, LiteLLM's proxy.

Each runs in its own process group and is stopped by the run that started it. The measured
servers are pinned to CPU 0 and the upstream (and the load generator, see `pin`) to the
last CPU, so that the generator never steals the measured server's core.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import psutil

__all__ = [
    "LITELLM_VENV",
    "ROOT",
    "Database",
    "Process",
    "assistant_command",
    "assistant_env",
    "free_port",
    "generator_cpu",
    "pin",
    "scratch",
    "server_cpu",
    "spawn",
    "wait_healthy",
]

ROOT = Path(__file__).resolve().parents[1]
LITELLM_VENV = ROOT / ".venv-litellm"
ADMIN_POSTGRES = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def server_cpu() -> int:
    """The CPU the measured servers run on."""
    return 0


def generator_cpu() -> int:
    """The CPU of the upstream and the load generator (the last one)."""
    return (os.cpu_count() or 1) - 1


def pin(cpu: int | None) -> None:
    """Pin this process to `cpu` (None: every CPU) and lift its open-file limit."""
    cpus = {cpu} if cpu is not None else set(range(os.cpu_count() or 1))
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, cpus)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Process:
    """A child process (its own session) and the log it writes."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tree(self) -> list[psutil.Process]:
        """The process and its descendants (LiteLLM may fork workers)."""
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process tree so far."""
        total = 0.0
        for proc in self.tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def rss_bytes(self) -> int:
        total = 0
        for proc in self.tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        return total

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        """SIGINT (a graceful stop), then SIGKILL for the whole group."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGINT)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


def spawn(
    name: str,
    command: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    log_dir: Path,
    cpu: int | None,
    port: int = 0,
) -> Process:
    """Start `command` in its own session, pinned to `cpu`, output to `log_dir/name.log`."""
    log = log_dir / f"{name}.log"

    def prepare() -> None:
        pin(cpu)

    handle = log.open("ab")
    try:
        popen = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=prepare,  # only affinity and the file limit, before exec
        )
    finally:
        handle.close()
    return Process(name, popen, log, port)


async def wait_healthy(
    process: Process, url: str, *, limit: float, interval: float = 0.01
) -> float:
    """Poll `url` until it answers 200; the seconds since the process was spawned.

    Raises:
        RuntimeError: the process exited or did not answer in time (with its log's tail).
    """
    deadline = time.monotonic() + limit
    async with httpx.AsyncClient(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return time.monotonic() - process.started
            await asyncio.sleep(interval)
    raise RuntimeError(
        f"{process.name} did not answer {url} within {limit:.0f} s:\n{process.tail()}"
    )


class Database:
    """A fresh database on the machine's PostgreSQL, dropped at the end."""

    def __init__(self, admin_url: str = ADMIN_POSTGRES) -> None:
        self.admin_url = admin_url
        self.name = f"assistant_bench_{uuid.uuid4().hex[:10]}"
        base, _, query = admin_url.partition("?")
        self.url = base.rsplit("/", 1)[0] + f"/{self.name}" + (f"?{query}" if query else "")

    async def _admin(self, statement: str) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    async def create(self) -> str:
        await self._admin(f'CREATE DATABASE "{self.name}"')
        return self.url

    async def drop(self) -> None:
        with contextlib.suppress(Exception):
            await self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def assistant_command() -> list[str]:
    """The `assistant` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("assistant")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from orchestrator.cli import main; main()"]


def assistant_env(
    *, data_dir: Path, port: int, upstream_url: str, database_url: str | None, model: str
) -> dict[str, str]:
    """The environment of our server: the fake upstream as its model, nothing from `.env`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "DATABASE_", "MCP_", "REDIS_", "LOCAL_MODEL_"))
    }
    env.update(
        ASSISTANT_ENV_FILE="",
        DATA_DIR=str(data_dir),
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="WARNING",
        OPENAI_BASE_URL=upstream_url,
        OPENAI_API_KEY="sk-bench",
        OPENAI_MODEL=model,
        LOCAL_MODEL_ENABLED="false",
        MCP_CONFIG=str(data_dir / "mcp.json"),
        MCP_PORT=str(free_port()),
        ASSISTANT_ADMIN_EMAIL="bench@example.com",
        ASSISTANT_ADMIN_PASSWORD="bench-password-123",
        PYTHONUNBUFFERED="1",
    )
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
