"""Settings and admin screens in a real browser: password, API keys, users, MCP servers,
usage, and what a non-admin is refused.

The MCP test runs its own orchestrator with a real hub (the session's stack replaces the
hub with scripted tools) and adds `@modelcontextprotocol/server-everything` over stdio.
Each screen is kept as a screenshot in tests/frontend/artifacts/.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Response, expect
from playwright.sync_api import Error as PlaywrightError

from orchestrator.main import create_app
from orchestrator.settings import MCPSettings, OpenAISettings
from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fixtures.processes import free_port, listening
from tests.fixtures.serving import ThreadServer
from tests.frontend.conftest import Stack, log_in, screenshot, start_frontend
from tests.frontend.test_security import SECRET

ROOT = Path(__file__).parents[2]
EVERYTHING = ROOT / "node_modules" / ".bin" / "mcp-server-everything"
PHONE = {"width": 390, "height": 844}
MODEL = OpenAISettings().model  # what a chat runs on when nobody picks a model


@pytest.fixture(autouse=True)
def _patient_expectations() -> Iterator[None]:
    """Password hashing and MCP servers starting take seconds on a busy machine."""
    expect.set_options(timeout=15_000)
    try:
        yield
    finally:
        expect.set_options(timeout=5_000)


def _admin_headers(orchestrator: str) -> dict[str, str]:
    response = httpx.post(
        f"{orchestrator}/api/v1/auth/token",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    )
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


FIRST_PASSWORD = "first-password-1"


def _new_user(orchestrator: str, password: str = FIRST_PASSWORD) -> str:
    email = f"user-{uuid.uuid4().hex[:8]}@test.example"
    response = httpx.post(
        f"{orchestrator}/api/v1/users",
        json={"email": email, "password": password},
        headers=_admin_headers(orchestrator),
    )
    assert response.status_code == 201, response.text
    return email


def _me(orchestrator: str, credential: str) -> httpx.Response:
    return httpx.get(
        f"{orchestrator}/api/v1/auth/me", headers={"authorization": f"Bearer {credential}"}
    )


def _context(browser: Browser, url: str, **options: Any) -> BrowserContext:
    options.setdefault("viewport", {"width": 1280, "height": 800})
    context = browser.new_context(base_url=url, **options)
    context.set_default_timeout(15_000)
    return context


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))


def _shots(page: Page, name: str) -> None:
    """The screen in light and dark (the system's choice, as a new visitor sees it)."""
    for scheme in ("light", "dark"):
        # Reduced motion: no colour transition half-way through in the picture.
        page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
        expect(page.locator("html")).to_have_attribute("data-theme", scheme)
        screenshot(page, f"{name}-{scheme}")


def test_a_user_changes_their_password_and_logs_in_with_it(browser: Browser, stack: Stack) -> None:
    email = _new_user(stack.orchestrator_url)
    context = _context(browser, stack.url)
    page = context.new_page()
    log_in(page, email, "first-password-1")
    page.get_by_role("link", name="Settings").click()
    expect(page.locator("#profile-email")).to_have_text(email)
    expect(page.locator("#profile-role")).to_have_text("User")
    _shots(page, "settings-profile")
    page.get_by_role("navigation", name="Settings sections").get_by_role(
        "link", name="Password"
    ).click()
    expect(page.get_by_text("At least 8 characters").first).to_be_visible()
    # Clear errors before anything is sent: too short, then a wrong current password.
    page.get_by_label("Current password").fill("first-password-1")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password again").fill("short")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-error")).to_have_text(
        "The new password needs at least 8 characters."
    )
    page.get_by_label("Current password").fill("not-my-password")
    page.get_by_label("New password", exact=True).fill("second-password-2")
    page.get_by_label("New password again").fill("second-password-2")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-error")).to_have_text("The current password is wrong.")
    _shots(page, "settings-password-error")
    # A rule only the orchestrator checks: its message, not a generic error.
    page.get_by_label("Current password").fill("first-password-1")
    page.get_by_label("New password", exact=True).fill(email.upper())
    page.get_by_label("New password again").fill(email.upper())
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-error")).to_contain_text("cannot be your email address")
    page.get_by_label("New password", exact=True).fill("second-password-2")
    page.get_by_label("New password again").fill("second-password-2")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-done")).to_be_visible()
    expect(page.locator("#password-error")).to_be_hidden()
    # This browser stays signed in: its calls still reach the orchestrator.
    assert page.request.get("/api/me").json()["email"] == email
    _log_out(page)
    page.fill("#email", email)
    page.fill("#password", "first-password-1")
    page.click("button[type=submit]")
    expect(page.locator(".alert")).to_have_text("Wrong email or password.")
    log_in(page, email, "second-password-2")
    context.close()


def test_an_api_key_is_shown_once_works_and_stops_when_revoked(
    browser: Browser, stack: Stack
) -> None:
    email = _new_user(stack.orchestrator_url)
    context = _context(browser, stack.url)
    page = context.new_page()
    log_in(page, email, "first-password-1")
    page.goto("/settings/keys")
    expect(page.locator("#keys-empty")).to_be_visible()
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#keys-error")).to_have_text("Give the key a name.")
    page.get_by_label("Key name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("You won't see it again.")).to_be_visible()
    key = page.get_by_label("New API key").input_value()
    assert key.startswith("sk-")
    row = page.locator("#keys tr", has_text="laptop")
    expect(row).to_contain_text(key[:8])
    assert _me(stack.orchestrator_url, key).json()["email"] == email
    _shots(page, "settings-keys-created")
    page.get_by_role("button", name="I have copied it").click()
    expect(page.locator("#new-key")).to_be_hidden()
    page.reload()
    expect(page.locator("#keys tr", has_text="laptop")).to_contain_text("Just now")
    assert key not in page.content()
    assert key not in json.dumps(page.request.get("/api/keys").json())
    page.get_by_role("button", name="Revoke the key laptop").click()
    expect(page.get_by_role("dialog")).to_contain_text("stop working at once")
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.locator("#keys tr", has_text="laptop")).to_be_visible()
    assert _me(stack.orchestrator_url, key).status_code == 200
    page.get_by_role("button", name="Revoke the key laptop").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.locator("#keys-empty")).to_be_visible()
    assert _me(stack.orchestrator_url, key).status_code == 401
    context.close()


def test_an_admin_creates_a_user_who_logs_in_and_disabling_ends_their_session(
    browser: Browser, stack: Stack
) -> None:
    admin_context = _context(browser, stack.url)
    admin = admin_context.new_page()
    log_in(admin)
    admin.get_by_role("link", name="Settings").click()
    admin.get_by_role("navigation", name="Settings sections").get_by_role(
        "link", name="Users"
    ).click()
    expect(admin).to_have_url(re.compile(r"/admin/users$"))
    email = f"new-{uuid.uuid4().hex[:8]}@test.example"
    admin.get_by_label("Email").fill(email)
    admin.get_by_role("button", name="Add user").click()
    expect(admin.get_by_text("You won't see it again.")).to_be_visible()
    password = admin.get_by_label("Generated password").input_value()
    assert len(password) >= 12
    row = admin.locator("#users tr", has_text=email)
    expect(row).to_contain_text("User")
    expect(row).to_contain_text("Active")
    _shots(admin, "admin-users")
    admin.get_by_role("button", name="Done").click()
    duplicate_email = email
    admin.get_by_label("Email").fill(duplicate_email)
    admin.get_by_role("button", name="Add user").click()
    expect(admin.locator("#users-error")).to_contain_text("already exists")

    user_context = _context(browser, stack.url)
    user = user_context.new_page()
    log_in(user, email, password)

    row.get_by_role("button", name=f"Disable {email}").click()
    admin.get_by_role("dialog").get_by_role("button", name="Disable").click()
    expect(row).to_contain_text("Disabled")
    # Their next step anywhere sends them to the login screen, and they cannot log in.
    user.reload()
    expect(user).to_have_url(re.compile(r"/login"))
    user.fill("#email", email)
    user.fill("#password", password)
    user.click("button[type=submit]")
    expect(user.locator(".alert")).to_have_text("Wrong email or password.")

    row.get_by_role("button", name=f"Enable {email}").click()
    expect(row).to_contain_text("Active")
    row.get_by_role("button", name=f"Reset password {email}").click()
    dialog = admin.get_by_role("dialog", name="Reset password")
    expect(dialog.get_by_label("New password")).to_have_accessible_description(
        re.compile("not the user's email and not a common password")
    )
    dialog.get_by_label("New password").fill("short")
    dialog.get_by_role("button", name="Set password").click()
    expect(dialog.get_by_role("alert")).to_have_text("The password needs at least 8 characters.")
    dialog.get_by_label("New password").fill("password1")
    dialog.get_by_role("button", name="Set password").click()
    expect(dialog.get_by_role("alert")).to_contain_text("one of the most common ones")
    dialog.get_by_label("New password").fill("reset-by-admin-9")
    dialog.get_by_role("button", name="Set password").click()
    expect(dialog).to_be_hidden()
    # The temporary password leads to a form for the user's own, then in.
    user.goto("/login")
    user.fill("#email", email)
    user.fill("#password", "reset-by-admin-9")
    user.click("button[type=submit]")
    expect(user).to_have_url(re.compile(r"/login/new-password"))
    expect(user.get_by_role("heading", name="Choose a new password")).to_be_visible()
    screenshot(user, "login-new-password")
    user.get_by_label("New password", exact=True).fill("password1")
    user.get_by_label("New password again").fill("password1")
    user.get_by_role("button", name="Set password and log in").click()
    expect(user.get_by_role("alert")).to_contain_text("one of the most common ones")
    user.get_by_label("New password", exact=True).fill("my-own-choice-7")
    user.get_by_label("New password again").fill("my-own-choice-7")
    user.get_by_role("button", name="Set password and log in").click()
    user.wait_for_selector("body[data-ready]")
    _log_out(user)
    log_in(user, email, "my-own-choice-7")
    row.get_by_role("button", name=f"Make admin {email}").click()
    expect(row).to_contain_text("Admin")
    admin_context.close()
    user_context.close()


def _tab_to(page: Page, selector: str) -> None:
    """Press Tab until the element has the focus (as a keyboard user would)."""
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with Tab")


def test_api_keys_work_by_keyboard_alone(browser: Browser, stack: Stack) -> None:
    email = _new_user(stack.orchestrator_url)
    context = _context(browser, stack.url)
    page = context.new_page()
    log_in(page, email, FIRST_PASSWORD)
    page.goto("/settings/keys")
    _tab_to(page, "#key-name")
    page.keyboard.type("keyboard")
    page.keyboard.press("Enter")
    expect(page.get_by_label("New API key")).to_be_focused()
    key = page.get_by_label("New API key").input_value()
    assert _me(stack.orchestrator_url, key).status_code == 200
    _tab_to(page, "#dismiss-key")
    page.keyboard.press("Enter")
    expect(page.locator("#new-key")).to_be_hidden()
    _tab_to(page, '[aria-label="Revoke the key keyboard"]')
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    _tab_to(page, "#confirm-ok")
    page.keyboard.press("Enter")
    expect(page.locator("#keys-empty")).to_be_visible()
    assert _me(stack.orchestrator_url, key).status_code == 401
    context.close()


def test_a_non_admin_gets_no_admin_screens(browser: Browser, stack: Stack) -> None:
    email = _new_user(stack.orchestrator_url)
    context = _context(browser, stack.url)
    page = context.new_page()
    log_in(page, email, "first-password-1")
    page.get_by_role("link", name="Settings").click()
    sections = page.get_by_role("navigation", name="Settings sections")
    expect(sections).to_contain_text("API keys")
    for admin_only in ("Admin", "Users", "MCP servers", "Usage"):
        expect(sections).not_to_contain_text(admin_only)
    for path in ("/admin/users", "/admin/mcp", "/admin/usage"):
        response = page.goto(path)
        assert response is not None and response.status == 403
        expect(page.get_by_text("Only an admin can open this.")).to_be_visible()
    page.goto("/settings")
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    listed = page.request.get("/api/admin/users")
    created = page.request.post(
        "/api/admin/users",
        data={"email": "sneaky@test.example", "is_admin": True},
        headers={"X-CSRFToken": token or ""},
    )
    for response in (listed, created, page.request.get("/api/admin/usage")):
        assert response.status == 403
        assert response.json()["error"]["type"] == "forbidden"
    users = httpx.get(
        f"{stack.orchestrator_url}/api/v1/users", headers=_admin_headers(stack.orchestrator_url)
    ).json()["items"]
    assert email in {user["email"] for user in users}
    assert "sneaky@test.example" not in {user["email"] for user in users}
    context.close()


def _usage_row(page: Page, email: str, model: str) -> Locator:
    """The usage table's row of one user and one model (other tests count other models)."""
    cell = page.get_by_role("cell")
    return (
        page.locator("#usage tr")
        .filter(has=cell.filter(has_text=re.compile(f"^{re.escape(email)}$")))
        .filter(has=cell.filter(has_text=re.compile(f"^{re.escape(model)}$")))
    )


def _usage_counts(row: Locator) -> tuple[int, int]:
    """Requests and input tokens, as the row shows them (1,234 reads 1234)."""
    cells = row.get_by_role("cell")
    requests, tokens = (int(cells.nth(index).inner_text().replace(",", "")) for index in (2, 3))
    return requests, tokens


def test_the_usage_screen_shows_requests_per_user_and_model_by_period(
    browser: Browser, stack: Stack, fake_openai: FakeOpenAI
) -> None:
    context = _context(browser, stack.url)
    page = context.new_page()
    log_in(page)
    # Earlier tests in the session may have counted requests already: this one adds one.
    page.goto("/admin/usage")
    expect(page.locator("#totals")).to_contain_text("Requests")
    row = _usage_row(page, ADMIN_EMAIL, MODEL)
    before = _usage_counts(row) if row.count() else (0, 0)
    page.goto("/")
    fake_openai.script(Reply(text="Counted.", prompt_tokens=1234, completion_tokens=56))
    page.fill("#prompt", "Count this")
    page.keyboard.press("Enter")
    expect(page.locator(".message.assistant").last).to_contain_text("Counted.")
    # The run's tokens are stored as it ends, a moment after its answer is shown.
    deadline = time.monotonic() + 15
    while True:
        page.goto("/admin/usage")
        expect(page.locator("#totals")).to_contain_text("Requests")
        if row.count() and _usage_counts(row) != before:
            break
        assert time.monotonic() < deadline, "the usage screen never counted the request"
    expect(row).to_be_visible()
    assert _usage_counts(row) == (before[0] + 1, before[1] + 1234)
    expect(page.locator("#totals")).to_contain_text("Requests")
    _shots(page, "admin-usage")
    page.get_by_label("Period").select_option("24h")
    expect(row).to_be_visible()
    assert _usage_counts(row)[0] >= 1
    context.close()


def test_the_settings_screens_fit_a_phone(browser: Browser, stack: Stack) -> None:
    context = _context(
        browser, stack.url, viewport=PHONE, color_scheme="dark", reduced_motion="reduce"
    )
    page = context.new_page()
    log_in(page)
    page.goto("/admin/users")
    expect(page.locator("#users tr").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"
    screenshot(page, "admin-users-phone-dark")
    page.get_by_role("button", name="Open the menu").click()
    expect(page.get_by_role("link", name="MCP servers")).to_be_visible()
    screenshot(page, "settings-menu-phone-dark")
    page.keyboard.press("Escape")
    page.goto("/settings/keys")
    expect(page.get_by_role("button", name="Create key")).to_be_visible()
    screenshot(page, "settings-keys-phone-dark")
    context.close()


@pytest.fixture(scope="module")
def hub_stack(
    database_url: str,
    openai_fake: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str]]:
    """An orchestrator with a real MCP hub (no servers configured), and a front end."""
    data_dir = tmp_path_factory.mktemp("hub-orchestrator")
    config = data_dir / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {}}))
    port = free_port()
    orchestrator = f"http://127.0.0.1:{port}"
    settings = make_settings(
        database_url,
        data_dir,
        openai_fake.url,  # type: ignore[attr-defined]
        mcp=MCPSettings(config=config, oauth_redirect_url=f"{orchestrator}/mcp/oauth/callback"),
    )
    app = create_app(settings)
    with ThreadServer(app, port=port, lifespan="on", log_level="warning", timeout=60):
        frontend = start_frontend(orchestrator, tmp_path_factory.mktemp("hub-frontend"))
        try:
            yield orchestrator, frontend.url
        finally:
            frontend.stop()


@pytest.fixture(scope="module")
def oauth_server() -> Iterator[str]:
    """An MCP server that is its own OAuth authorization server (approves at once)."""
    port = free_port()
    with listening([sys.executable, "-m", "tests.fakes.oauth_server", "--port", str(port)], port):
        yield f"http://127.0.0.1:{port}/mcp"


def test_an_admin_adds_a_real_mcp_server_and_its_tools_appear(
    browser: Browser, hub_stack: tuple[str, str]
) -> None:
    orchestrator, url = hub_stack
    node = shutil.which("node")
    assert node is not None and EVERYTHING.exists(), "run make setup (node_modules)"
    name = f"everything{uuid.uuid4().hex[:6]}"
    context = _context(browser, url)
    page = context.new_page()
    log_in(page)
    page.goto("/admin/mcp")
    # Other tests may have added servers already: this one looks only at its own.
    expect(page.get_by_role("article", name=name)).to_have_count(0)
    page.get_by_role("tab", name="Command (stdio)").click()
    page.locator("#stdio-name").fill(name)
    page.locator("#stdio-command").fill(node)
    page.get_by_label("Arguments, one per line").fill(f"{EVERYTHING}\nstdio")
    page.get_by_role("tabpanel").get_by_role("button", name="Add server").click()
    card = page.get_by_role("article", name=name)
    expect(card).to_be_visible(timeout=30_000)
    expect(page.locator("#servers-empty")).to_be_hidden()
    expect(card).to_contain_text("stdio")
    expect(card).to_contain_text("Shared")
    # It connects in the background; the list follows it until it is ready.
    expect(card.locator(".badge.ok")).to_have_text("Connected", timeout=30_000)
    expect(card).to_contain_text("Closed")  # the breaker
    expect(card.locator(".tool-count")).not_to_have_text("0")
    assert int(card.locator(".tool-count").inner_text()) >= 10
    card.get_by_text(re.compile(r"\d+ tools")).click()
    echo = card.locator("li.mcp-tool[data-tool=echo]")
    expect(echo).to_be_visible()
    _shots(page, "admin-mcp")

    headers = _admin_headers(orchestrator)
    tools = httpx.get(f"{orchestrator}/api/v1/tools", headers=headers).json()["items"]
    listed = {tool["name"]: tool for tool in tools}
    assert f"{name}__echo" in listed

    # A policy changed on the screen is what runs get.
    with page.expect_response(lambda response: response.url.endswith("/policy")) as changed:
        echo.get_by_label("Policy of echo").select_option("deny")
    assert changed.value.ok
    expect(
        page.get_by_role("article", name=name).locator("li.mcp-tool[data-tool=echo] select")
    ).to_have_value("deny")
    tools = httpx.get(f"{orchestrator}/api/v1/tools", headers=headers).json()["items"]
    assert {tool["name"]: tool["policy"] for tool in tools}[f"{name}__echo"] == "deny"

    # Pasting an mcpServers document registers each entry and reports each failure.
    pasted = f"pasted{uuid.uuid4().hex[:6]}"
    document = {
        "mcpServers": {
            pasted: {"command": node, "args": [str(EVERYTHING), "stdio"]},
            name: {"command": node, "args": [str(EVERYTHING), "stdio"]},
            "bad name!": {"url": "http://127.0.0.1:9/mcp"},
        }
    }
    page.get_by_role("tab", name="Paste JSON").click()
    page.get_by_label(re.compile("mcpServers")).fill(json.dumps(document))
    page.get_by_role("button", name="Add every server").click()
    results = page.get_by_role("list", name="Import results")
    expect(results.locator(f"li[data-server={pasted}]")).to_contain_text("added")
    expect(results.locator(f"li[data-server={name}]")).to_contain_text("already a server")
    expect(results.locator("li.failed")).to_have_count(2)
    expect(page.get_by_role("article", name=pasted)).to_be_visible()
    page.get_by_label(re.compile("mcpServers")).fill("{not json")
    page.get_by_role("button", name="Add every server").click()
    expect(page.locator("#mcp-error")).to_contain_text("This is not JSON")
    _shots(page, "admin-mcp-import")

    # Remove both, with a confirmation; their tools leave the catalog.
    for server in (pasted, name):
        page.get_by_role("button", name=f"Remove {server}").click()
        page.get_by_role("dialog").get_by_role("button", name="Remove").click()
        expect(page.get_by_role("article", name=server)).to_have_count(0)
    tools = httpx.get(f"{orchestrator}/api/v1/tools", headers=headers).json()["items"]
    assert not [tool for tool in tools if tool["server"] in (name, pasted)]
    context.close()


def test_an_admin_re_approves_a_tool_whose_definition_changed(
    browser: Browser, hub_stack: tuple[str, str], fake_openai: FakeOpenAI
) -> None:
    orchestrator, url = hub_stack
    demo = f"demo{uuid.uuid4().hex[:6]}"
    entry = {
        "command": sys.executable,
        "args": ["-m", "tests.fakes.mcp_server", "--name", demo],
        "cwd": str(ROOT),
    }
    context = _context(browser, url)
    page = context.new_page()
    log_in(page)
    page.goto("/admin/mcp")
    page.get_by_role("tab", name="Paste JSON").click()
    page.get_by_label(re.compile("mcpServers")).fill(json.dumps({"mcpServers": {demo: entry}}))
    page.get_by_role("button", name="Add every server").click()
    card = page.get_by_role("article", name=demo)
    expect(card.locator(".badge.ok")).to_have_text("Connected", timeout=30_000)
    expect(card.locator(".tool-count")).not_to_have_text("0")

    # A run calls the tool that rewrites `add` (after the user approves the call).
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall(f"{demo}__evolve", "{}")]), Reply(text="Evolved.")
    )
    page.goto("/")
    page.fill("#prompt", "Evolve, please")
    page.keyboard.press("Enter")
    page.locator(".tool-card button.approve").click()
    expect(page.locator(".message.assistant").last).to_contain_text("Evolved.")

    page.goto("/admin/mcp")
    card = page.get_by_role("article", name=demo)
    card.get_by_text(re.compile(r"\d+ tools")).click()
    add = card.locator("li.mcp-tool[data-tool=add]")
    expect(add).to_contain_text("Changed: withheld")
    headers = _admin_headers(orchestrator)
    tools = httpx.get(f"{orchestrator}/api/v1/tools", headers=headers).json()["items"]
    assert f"{demo}__add" not in {tool["name"] for tool in tools}
    add.scroll_into_view_if_needed()
    screenshot(page, "admin-mcp-changed-tool-light")
    add.get_by_role("button", name="Approve add").click()
    expect(
        page.get_by_role("article", name=demo).locator("li.mcp-tool[data-tool=add]")
    ).not_to_contain_text("Changed")
    tools = httpx.get(f"{orchestrator}/api/v1/tools", headers=headers).json()["items"]
    described = {tool["name"]: tool["description"] for tool in tools}
    assert described[f"{demo}__add"] == "Add two integers, and send them somewhere else too."
    page.get_by_role("button", name=f"Remove {demo}").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    expect(page.get_by_role("article", name=demo)).to_have_count(0)
    context.close()


def test_an_admin_authorizes_an_oauth_server_from_the_screen(
    browser: Browser, hub_stack: tuple[str, str], oauth_server: str
) -> None:
    orchestrator, url = hub_stack
    name = f"vault{uuid.uuid4().hex[:6]}"
    context = _context(browser, url)
    page = context.new_page()
    log_in(page)
    page.goto("/admin/mcp")
    page.locator("#http-name").fill(name)
    page.locator("#http-url").fill(oauth_server)
    page.get_by_label("Uses OAuth").check()
    page.get_by_role("tabpanel").get_by_role("button", name="Add server").click()
    card = page.get_by_role("article", name=name)
    expect(card.locator(".badge")).to_have_text("Needs authorization")
    screenshot(page, "admin-mcp-oauth-light")
    # The authorization server answers in a new tab and sends it back to the orchestrator,
    # which needs the cookie this browser got when the authorization started.
    with context.expect_page() as opened:
        card.get_by_role("button", name=f"Authorize {name}").click()
    consent = opened.value
    expect(consent.locator("body")).to_contain_text("now authorized")
    assert consent.url.startswith(f"{orchestrator}/mcp/oauth/callback")
    expect(card.locator(".badge")).to_have_text("Connected", timeout=30_000)
    headers = _admin_headers(orchestrator)
    tools = httpx.get(f"{orchestrator}/api/v1/tools", headers=headers).json()["items"]
    assert f"{name}__secret" in {tool["name"] for tool in tools}
    page.get_by_role("button", name=f"Remove {name}").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    expect(page.get_by_role("article", name=name)).to_have_count(0)
    context.close()


def test_no_token_reaches_the_settings_screens_but_the_new_key_once(
    context: BrowserContext, stack: Stack
) -> None:
    bodies: list[tuple[str, str, str]] = []

    def keep(response: Response) -> None:
        if response.url.startswith(stack.url) and response.ok:
            with contextlib.suppress(PlaywrightError):  # redirects have no body
                bodies.append((response.request.method, response.url, response.text()))

    page = context.new_page()
    page.on("response", keep)
    log_in(page)
    page.goto("/settings/keys")
    page.get_by_label("Key name").fill("leak check")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_label("New API key")).to_have_value(re.compile(r"^sk-"))
    key = page.get_by_label("New API key").input_value()
    page.get_by_role("button", name="I have copied it").click()
    for path in ("/settings", "/settings/password", "/settings/keys", "/admin/users"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    page.goto("/admin/usage")
    expect(page.locator("#totals .stat").first).to_be_visible()
    seen = page.evaluate(
        """() => JSON.stringify({
            cookie: document.cookie,
            local: Object.entries(localStorage),
            session: Object.entries(sessionStorage),
            html: document.documentElement.outerHTML,
        })"""
    )
    assert not SECRET.search(seen), seen
    # Lists show a key's prefix (sk-asst-…); the whole key and any JWT appear nowhere but
    # in the one answer that created the key.
    jwt = re.compile(SECRET.pattern.split("|")[0])
    assert not [url for _, url, body in bodies if jwt.search(body)]
    created = [(method, url) for method, url, body in bodies if key in body]
    assert created == [("POST", f"{stack.url}/api/keys")]
    assert len(bodies) > 10
    httpx.delete(
        f"{stack.orchestrator_url}/api/v1/keys/"
        + page.request.get("/api/keys").json()["items"][-1]["id"],
        headers={"authorization": f"Bearer {key}"},
    )
