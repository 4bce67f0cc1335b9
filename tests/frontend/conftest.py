"""A real orchestrator (fake model, a tool that asks for approval), a real front-end process,
and Debian's Chromium driven by Playwright.

They start once per session (on the machine's PostgreSQL only, to keep the time down);
each test gets a fresh browser context, logs in as the first admin, and works in its own
conversations. Screenshots go to `tests/frontend/artifacts/` (git-ignored).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from orchestrator.domain import ToolPolicy
from orchestrator.main import create_app
from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings, orchestrator_thread
from tests.conftest import SYSTEM_POSTGRES, PostgresServer
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.tools import FakeTools, deleted, spec
from tests.fixtures.processes import free_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="session")
def postgres() -> PostgresServer:
    """The browser tests run on one server: the store is tested on both elsewhere."""
    return PostgresServer("system-pg15", SYSTEM_POSTGRES)


@dataclass
class Stack:
    orchestrator_url: str
    url: str
    data_dir: Path
    tools: FakeTools


@pytest.fixture(scope="session")
def orchestrator_url(
    database_url: str, openai_fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, FakeTools]]:
    tools = FakeTools()
    tools.add(spec("files__delete", ToolPolicy.ASK, server="files"), deleted)
    data_dir = tmp_path_factory.mktemp("orchestrator-data")
    settings = make_settings(database_url, data_dir, openai_fake.url)  # type: ignore[attr-defined]
    app = create_app(settings, tools=tools)
    with orchestrator_thread(app) as server:
        yield server.url, tools


@dataclass
class Frontend:
    process: subprocess.Popen[str]
    url: str
    output: list[str]
    drain: threading.Thread

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)
        self.drain.join(15)


def _drain(stream: Any, output: list[str]) -> None:
    with stream:
        output.extend(stream)


def start_frontend(orchestrator: str, data_dir: Path, **extra: str) -> Frontend:
    """`python -m frontend` on a free port; returns once it says it listens."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("FRONTEND_")}
    env.update(
        ASSISTANT_ENV_FILE="",
        DATA_DIR=str(data_dir),
        FRONTEND_PORT=str(port),
        ORCHESTRATOR_URL=orchestrator,
        LOG_LEVEL="WARNING",
        **extra,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "frontend"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:  # ends if the process exits
        seen.append(line)
        if "Front end at" in line:
            drain = threading.Thread(target=_drain, args=(process.stdout, seen), daemon=True)
            drain.start()
            return Frontend(process, f"http://127.0.0.1:{port}", seen, drain)
    process.wait(10)
    process.stdout.close()
    raise AssertionError("the front end did not start:\n" + "".join(seen))


@pytest.fixture(scope="session")
def stack(
    orchestrator_url: tuple[str, FakeTools], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    url, tools = orchestrator_url
    data_dir = tmp_path_factory.mktemp("frontend-data")
    frontend = start_frontend(url, data_dir)
    try:
        yield Stack(url, frontend.url, data_dir, tools)
    finally:
        frontend.stop()


@pytest.fixture(scope="package")
def playwright(stack: Stack) -> Iterator[Playwright]:
    # Playwright's sync API keeps an event loop running in this thread while it is open:
    # everything that calls asyncio.run (the database fixtures, every async test after this
    # package) must run before it starts or after it stops, hence the package scope.
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def context(stack: Stack, browser: Browser, fake_openai: FakeOpenAI) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def log_in(page: Page, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready]")


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab, logged in as the first admin, on a new chat."""
    page = context.new_page()
    log_in(page)
    return page


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
