"""The `assistant` command as a user runs it: real processes, real ports."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fixtures.processes import free_port, listening

ASSISTANT = str(Path(sys.executable).parent / "assistant")


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "DATABASE_"))
    }
    env.update(ASSISTANT_ENV_FILE="", DATA_DIR=str(data_dir), **extra)
    return env


def _run(
    *args: str, env: dict[str, str], input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ASSISTANT, *args], env=env, capture_output=True, text=True, timeout=120, input=input_text
    )


def test_users_and_keys_are_created_from_the_command_line(
    fresh_database_url: str, data_dir: Path
) -> None:
    env = _env(data_dir, DATABASE_URL=fresh_database_url)
    created = _run(
        "users", "create", "ada@example.com", "--admin", "--password", "analytical-engine", env=env
    )
    assert created.returncode == 0, created.stderr
    assert "Created admin ada@example.com" in created.stderr
    again = _run("users", "create", "ada@example.com", "--password", "analytical-engine", env=env)
    assert again.returncode == 1 and "already exists" in again.stderr
    short = _run("users", "create", "bob@example.com", "--password", "short", env=env)
    assert short.returncode == 1 and "at least 8" in short.stderr
    prompted = _run(
        "users",
        "create",
        "cy@example.com",
        env=env,
        input_text="a-long-password\na-long-password\n",
    )
    assert prompted.returncode == 0, prompted.stderr
    key = _run("keys", "create", "--user", "ada@example.com", env=env)
    assert key.returncode == 0 and re.fullmatch(r"sk-asst-\S+\n", key.stdout)
    missing = _run("keys", "create", "--user", "nobody@example.com", env=env)
    assert missing.returncode == 1 and "No user" in missing.stderr
    scoped = _run(
        "keys", "create", "--user", "ada@example.com", "--scope", "admin", "--days", "7", env=env
    )
    assert scoped.returncode == 0, scoped.stderr
    unknown = _run("keys", "create", "--user", "ada@example.com", "--scope", "write", env=env)
    assert unknown.returncode == 1 and "Unknown scope 'write'" in unknown.stderr
    not_admin = _run("keys", "create", "--user", "cy@example.com", "--scope", "admin", env=env)
    assert not_admin.returncode == 1 and "Only an admin" in not_admin.stderr


def test_production_refuses_a_placeholder_secret(data_dir: Path) -> None:
    env = _env(
        data_dir,
        ENVIRONMENT="production",
        JWT_SECRET_KEY="changeme",
        DATABASE_URL="postgresql://x/y",
    )
    result = _run("db", "upgrade", env=env)
    assert result.returncode == 2 and "JWT_SECRET_KEY" in result.stderr


class Stack:
    def __init__(self, process: subprocess.Popen[str], url: str, output: list[str]) -> None:
        self.process = process
        self.url = url
        self.output = output


def _start(env: dict[str, str], port: int) -> Stack:
    process = subprocess.Popen(
        [ASSISTANT, "up"],
        env=env | {"PORT": str(port)},
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    output: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        output.append(line)
        if "Ctrl-C stops it." in line:
            return Stack(process, f"http://127.0.0.1:{port}", output)
    process.kill()
    raise AssertionError("assistant up did not get ready:\n" + "".join(output))


@contextmanager
def _up(env: dict[str, str], port: int) -> Iterator[Stack]:
    """`assistant up` on `port`, ready, until the block ends (killed if still running)."""
    running = _start(env, port)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()
        for stream in (running.process.stdout, running.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def stack(data_dir: Path, fake_openai: FakeOpenAI) -> Iterator[Stack]:
    env = _env(data_dir, OPENAI_BASE_URL=fake_openai.url)  # type: ignore[attr-defined]
    with _up(env, free_port()) as running:
        yield running


def test_assistant_up_runs_a_usable_assistant_and_stops_cleanly(
    stack: Stack, data_dir: Path, fake_openai: FakeOpenAI
) -> None:
    banner = "".join(stack.output)
    assert stack.url in banner
    found = re.search(r"First admin created: (\S+) / (\S+)", banner)
    assert found is not None, banner
    email, password = found.groups()
    assert (data_dir / "initial-admin-password").read_text().split() == [email, password]
    assert oct((data_dir / "initial-admin-password").stat().st_mode & 0o777) == "0o600"

    fake_openai.script(Reply(text="Hello from the fake model"))
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        token = client.post(
            "/api/v1/auth/token", json={"email": email, "password": password}
        ).json()["access_token"]
        headers = {"authorization": f"Bearer {token}"}
        conversation = client.post("/api/v1/conversations", headers=headers).json()["id"]
        answer = client.post(
            f"/api/v1/conversations/{conversation}/messages",
            json={"content": "hi"},
            headers=headers | {"accept": "text/event-stream"},
        )
        assert "Hello from the fake model" not in answer.text  # it streams word by word
        assert "event: run.completed" in answer.text
        stored = client.get(f"/api/v1/conversations/{conversation}", headers=headers).json()
        assert stored["messages"][-1]["content"][0]["text"] == "Hello from the fake model"

    second = subprocess.run(
        [ASSISTANT, "up"],
        env=_env(data_dir, PORT=stack.url.rsplit(":", 1)[1]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 0 and "already running" in second.stderr

    postgres = [
        p
        for p in psutil.process_iter(["name", "cmdline"])
        if str(data_dir) in " ".join(p.info["cmdline"] or [])
    ]
    assert postgres, "the embedded PostgreSQL should run inside the data folder"
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=30) == 0
    psutil.wait_procs([p for p in postgres if p.is_running()], timeout=15)
    assert not [p for p in postgres if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_the_seed_commands_still_work(fresh_database_url: str, data_dir: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    env = _env(data_dir, DATABASE_URL=fresh_database_url)
    init = subprocess.run(
        [sys.executable, "scripts/init_db.py"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "orchestrator.main:app", "--port", str(port)]
    with listening(command, port, env=env, timeout=60, graceful=True):
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
