"""`assistant up` starts the web front end and gives its address first, where the printed
first admin logs in."""

from __future__ import annotations

import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_cli import Stack, _env, _up
from tests.fakes.openai_server import FakeOpenAI
from tests.fixtures.processes import free_port


@pytest.fixture
def stack_with_frontend(data_dir: Path, fake_openai: FakeOpenAI) -> Iterator[tuple[Stack, int]]:
    port = free_port()
    env = _env(data_dir, OPENAI_BASE_URL=fake_openai.url, FRONTEND_PORT=str(port))  # type: ignore[attr-defined]
    with _up(env, free_port()) as running:
        yield running, port


def test_assistant_up_prints_the_browser_address_first_and_the_admin_logs_in_there(
    stack_with_frontend: tuple[Stack, int],
) -> None:
    stack, port = stack_with_frontend
    banner = "".join(stack.output)
    ready = next(line for line in stack.output if line.startswith("Ready"))
    ui = f"http://127.0.0.1:{port}"
    assert re.findall(r"http://\S+", ready)[0] == ui, banner
    found = re.search(r"First admin created: (\S+) / (\S+)", banner)
    assert found is not None, banner
    email, password = found.groups()
    with httpx.Client(base_url=ui, timeout=30) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
        assert token is not None, form
        answer = client.post(
            "/login", data={"csrf_token": token[1], "email": email, "password": password}
        )
        assert answer.status_code == 302 and answer.headers["location"] == "/"
        assert client.get("/api/me").json()["email"] == email
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=30) == 0
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the front end outlived assistant up"
