"""Accessibility: axe-core on every main screen, and the main flows by keyboard alone.

axe-core (npm, pinned) is served to the page by the test only, from a same-origin URL that
Playwright answers, so the page keeps its strict CSP while it is checked. A screen passes
with no serious or critical violation; every violation found is printed.

A new screen adds a row to `SCREENS`: a name and a function that brings the page there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.frontend.conftest import Stack, log_in, screenshot
from tests.frontend.test_mcp_in_chat import McpStack, _elicit, mcp_stack  # noqa: F401

AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL = "/__tests__/axe.min.js"
BLOCKING = {"serious", "critical"}

# Code with every common token kind, so that each highlight colour is checked.
ANSWER = (
    "Here is a plan:\n\n1. Read the **file**\n2. Delete it, `carefully`\n\n> Quoted.\n\n"
    "```python\nimport os  # the standard library\n\n\n@cache\n"
    "def remove(path: str, tries=3) -> bool:\n"
    '    """Remove a file."""\n    if not os.path.exists(path) or tries is None:\n'
    "        return False\n    print(f'removing {path!r}', len(path), 0x1F, True)\n"
    "    os.remove(path)\n    return True\n```\n\n"
    "```js\nconst answer = { count: 42, name: 'x', ok: null }; // a comment\n"
    "class A extends B { static run() { return /re+/g.test(`t${answer}`); } }\n```\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n[The docs](https://example.com/docs)."
)


@dataclass(frozen=True)
class Screen:
    name: str
    viewport: tuple[int, int]
    scheme: str
    reach: Callable[[Page, FakeOpenAI], None]
    logged_in: bool = True


def _login_screen(page: Page, fake: FakeOpenAI) -> None:
    page.goto("/login")
    expect(page.locator("h1")).to_be_visible()


def _login_error(page: Page, fake: FakeOpenAI) -> None:
    page.goto("/login")
    page.fill("#email", "nobody@test.example")
    page.fill("#password", "wrong")
    page.click("button[type=submit]")
    expect(page.locator(".alert")).to_be_visible()


def _empty_chat(page: Page, fake: FakeOpenAI) -> None:
    expect(page.locator("#empty")).to_be_visible()


def _answer_and_approval(page: Page, fake: FakeOpenAI) -> None:
    fake.script(
        Reply(text=ANSWER),
        Reply(tool_calls=[FakeToolCall("files__delete", '{"x": "draft.txt"}')]),
        Reply(text="Deleted."),
    )
    page.fill("#prompt", "Plan the deletion of draft.txt")
    page.keyboard.press("Enter")
    expect(page.locator(".message.assistant").last).to_contain_text("The docs")
    expect(page.locator("#send")).to_be_visible()
    page.fill("#prompt", "Now delete it")
    page.keyboard.press("Enter")
    expect(page.locator(".tool-card button.approve")).to_be_visible()


def _phone_sidebar(page: Page, fake: FakeOpenAI) -> None:
    fake.script(Reply(text="Hello there."))
    page.fill("#prompt", "Hello")
    page.keyboard.press("Enter")
    expect(page.locator(".message.assistant").last).to_contain_text("Hello there.")
    page.click("#open-sidebar")
    page.wait_for_function(
        "() => document.getElementById('sidebar').getBoundingClientRect().left >= 0"
    )


def _settings(page: Page, fake: FakeOpenAI) -> None:
    page.goto("/settings")
    expect(page.get_by_role("navigation", name="Settings sections")).to_be_visible()


def _new_key_shown_once(page: Page, fake: FakeOpenAI) -> None:
    page.goto("/settings/keys")
    page.get_by_label("Key name").fill(f"axe {uuid.uuid4().hex[:6]}")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_label("New API key")).to_be_visible()


def _sessions(page: Page, fake: FakeOpenAI) -> None:
    page.goto("/settings/sessions")
    expect(page.locator("#sessions tr.current")).to_be_visible()


def _admin_users(page: Page, fake: FakeOpenAI) -> None:
    page.goto("/admin/users")
    expect(page.locator("tr", has_text=ADMIN_EMAIL).first).to_be_visible()


def _admin_groups(page: Page, fake: FakeOpenAI) -> None:
    """A new group open in the editor, with a model list and a rule (no member: the rule
    must not reach the admin's own chats in other tests)."""
    page.goto("/admin/groups")
    page.locator("#group-name").fill(f"Axe {uuid.uuid4().hex[:6]}")
    page.get_by_role("button", name="Add group").click()
    expect(page.locator("#group-editor")).to_be_visible()
    page.locator("#models-only").check()
    page.locator("#rule-server").fill("files")
    page.get_by_role("button", name="Add rule").click()
    expect(page.locator("#rules tr[data-rule='files/*']")).to_be_visible()
    page.wait_for_load_state("networkidle")


def _admin_mcp(page: Page, fake: FakeOpenAI) -> None:
    page.goto("/admin/mcp")
    expect(page.locator("main h1, main h2").first).to_be_visible()
    page.wait_for_load_state("networkidle")


def _admin_usage(page: Page, fake: FakeOpenAI) -> None:
    page.goto("/admin/usage")
    expect(page.locator("#totals")).to_be_visible()
    page.wait_for_load_state("networkidle")


def _admin_audit(page: Page, fake: FakeOpenAI) -> None:
    page.goto("/admin/audit")
    expect(page.locator("#audit tr").first).to_be_visible()
    page.wait_for_load_state("networkidle")


def _attachment_chip(page: Page, fake: FakeOpenAI) -> None:
    page.set_input_files(
        "#file-input",
        files=[{"name": "notes.md", "mimeType": "text/markdown", "buffer": b"# Notes\n"}],
    )
    chip = page.locator("#attachments .attachment-chip", has_text="notes.md")
    expect(chip).to_be_visible()
    expect(chip).not_to_have_class("attachment-chip composing uploading")
    page.fill("#prompt", "What is in this file?")


def _version_arrows(page: Page, fake: FakeOpenAI) -> None:
    fake.script(Reply(text="Red, like a brick."), Reply(text="Teal, like the sea."))
    page.fill("#prompt", "Name a colour")
    page.keyboard.press("Enter")
    answer = page.locator(".message.assistant").last
    expect(answer).to_contain_text("Red, like a brick.")
    answer.get_by_role("button", name="Regenerate this answer").click()
    expect(answer).to_contain_text("Teal, like the sea.")
    expect(answer.locator(".version-label")).to_have_text("2/2")


def _export_menu(page: Page, fake: FakeOpenAI) -> None:
    fake.script(Reply(text="Exported soon."))
    page.fill("#prompt", "Export me")
    page.keyboard.press("Enter")
    expect(page.locator(".message.assistant").last).to_contain_text("Exported soon.")
    page.get_by_label("Export the conversation").click()
    expect(page.get_by_role("link", name="Export as Markdown")).to_be_visible()


SCREENS = [
    Screen("login", (1280, 800), "light", _login_screen, logged_in=False),
    Screen("login with an error, dark", (1280, 800), "dark", _login_error, logged_in=False),
    Screen("empty chat", (1280, 800), "light", _empty_chat),
    Screen("answer and a tool awaiting approval", (1280, 800), "light", _answer_and_approval),
    Screen("answer and approval, dark", (1280, 800), "dark", _answer_and_approval),
    Screen("sidebar open on a phone", (390, 844), "light", _phone_sidebar),
    Screen("empty chat on a phone, dark", (390, 844), "dark", _empty_chat),
    Screen("settings profile", (1280, 800), "light", _settings),
    Screen("settings profile, dark", (1280, 800), "dark", _settings),
    Screen("a new API key shown once", (1280, 800), "light", _new_key_shown_once),
    Screen("a new API key shown once, dark", (1280, 800), "dark", _new_key_shown_once),
    Screen("sessions", (1280, 800), "light", _sessions),
    Screen("sessions on a phone, dark", (390, 844), "dark", _sessions),
    Screen("admin users", (1280, 800), "light", _admin_users),
    Screen("admin users, dark", (1280, 800), "dark", _admin_users),
    Screen("admin users on a phone", (390, 844), "light", _admin_users),
    Screen("admin groups", (1280, 800), "light", _admin_groups),
    Screen("admin groups, dark", (1280, 800), "dark", _admin_groups),
    Screen("admin groups on a phone", (390, 844), "light", _admin_groups),
    Screen("admin MCP servers", (1280, 800), "light", _admin_mcp),
    Screen("admin MCP servers, dark", (1280, 800), "dark", _admin_mcp),
    Screen("admin usage", (1280, 800), "light", _admin_usage),
    Screen("admin usage, dark", (1280, 800), "dark", _admin_usage),
    Screen("admin audit log", (1280, 800), "light", _admin_audit),
    Screen("admin audit log, dark", (1280, 800), "dark", _admin_audit),
    Screen("composer with an attachment chip", (1280, 800), "light", _attachment_chip),
    Screen("composer with an attachment chip, dark", (1280, 800), "dark", _attachment_chip),
    Screen("attachment chip on a phone", (390, 844), "light", _attachment_chip),
    Screen("answer with version arrows", (1280, 800), "light", _version_arrows),
    Screen("answer with version arrows, dark", (1280, 800), "dark", _version_arrows),
    Screen("export menu open", (1280, 800), "light", _export_menu),
    Screen("export menu open, dark", (1280, 800), "dark", _export_menu),
]


def _serve_axe(route: Route) -> None:
    route.fulfill(path=str(AXE), content_type="text/javascript")


def axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (WCAG 2.2 A/AA and best practices)."""
    page.route(f"**{AXE_URL}", _serve_axe)
    if not page.evaluate("() => 'axe' in window"):
        page.add_script_tag(url=AXE_URL)
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 8).map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
            }));
        }"""
    )


@pytest.fixture
def screen_context(
    browser: Browser, stack: Stack, request: pytest.FixtureRequest
) -> Iterator[BrowserContext]:
    screen: Screen = request.param
    phone = screen.viewport[0] < 600
    context = browser.new_context(
        base_url=stack.url,
        viewport={"width": screen.viewport[0], "height": screen.viewport[1]},
        color_scheme=screen.scheme,  # type: ignore[arg-type]
        is_mobile=phone,
        has_touch=phone,
    )
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


@pytest.mark.parametrize(
    ("screen_context", "screen"),
    [(screen, screen) for screen in SCREENS],
    ids=[screen.name.replace(" ", "-") for screen in SCREENS],
    indirect=["screen_context"],
)
def test_axe_finds_no_serious_or_critical_violation(
    screen_context: BrowserContext,
    screen: Screen,
    fake_openai: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = screen_context.new_page()
    if screen.logged_in:
        log_in(page)
    screen.reach(page, fake_openai)
    violations = axe(page)
    screenshot(page, "axe-" + screen.name.replace(" ", "-").replace(",", ""))
    with capsys.disabled():
        found = ", ".join(f"{v['id']} ({v['impact']})" for v in violations) or "none"
        print(f"\naxe, {screen.name}: {found}")
        for violation in violations:
            if violation["impact"] in BLOCKING:
                print("\n".join(f"    {node}" for node in violation["nodes"]))
    # A run left waiting would wake at its approval timeout and take another test's reply.
    if page.locator(".tool-card button.approve").count():
        page.locator(".tool-card button.approve").click()
        expect(page.locator("#send")).to_be_visible()
    assert [v for v in violations if v["impact"] in BLOCKING] == []


FOCUS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const ring = (node) => {
        const style = getComputedStyle(node);
        return style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    };
    const wrapper = el.closest(".composer, .search");
    const name = el.getAttribute("aria-label") || el.textContent.trim().slice(0, 40) || el.id;
    const visible = ring(el) || Boolean(wrapper && ring(wrapper));
    return {name, id: el.id, classes: el.className, ring: visible};
}"""


def tab_to(
    page: Page, matches: Callable[[dict[str, Any]], bool], *, back: bool = False
) -> list[str]:
    """Press Tab (or Shift+Tab) until the focused element matches; every stop had a ring."""
    visited: list[str] = []
    for _ in range(60):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = page.evaluate(FOCUS)
        if focused is None:
            continue
        visited.append(focused["name"])
        assert focused["ring"], f"no visible focus on {focused}"
        if matches(focused):
            return visited
    raise AssertionError(f"never reached the control; focus went through {visited}")


def test_the_main_flows_work_by_keyboard_alone(
    context: BrowserContext, fake_openai: FakeOpenAI, stack: Stack
) -> None:
    page = context.new_page()
    # Log in: the email field has the focus, Tab to the password, Enter submits.
    page.goto("/login")
    assert page.evaluate("document.activeElement.id") == "email"
    page.keyboard.type(ADMIN_EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-ready]")

    # Start a chat: the message box has the focus; Enter sends.
    expect(page.locator("#prompt")).to_be_focused()
    fake_openai.script(Reply(text="First answer."))
    page.keyboard.type("Keyboard first")
    page.keyboard.press("Enter")
    expect(page.locator(".message.assistant").last).to_contain_text("First answer.")

    # Approve a tool: from the message box, back to the card's Approve button.
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__delete", '{"x": "k.txt"}')]),
        Reply(text="Deleted by keyboard."),
    )
    page.keyboard.type("Delete k.txt")
    page.keyboard.press("Enter")
    expect(page.locator(".tool-card button.approve")).to_be_visible()
    steps = tab_to(page, lambda f: "approve" in f["classes"], back=True)
    assert len(steps) <= 4, steps
    page.keyboard.press("Enter")
    expect(page.locator(".message.assistant").last).to_contain_text("Deleted by keyboard.")
    first = page.url

    # Stop: a long answer; from the message box, Tab reaches Stop.
    page.locator("#prompt").focus()
    tab_to(page, lambda f: f["id"] == "new-chat")
    page.keyboard.press("Enter")
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#prompt")).to_be_focused()
    fake_openai.script(Reply(chunks=[f"s{i} " for i in range(400)], chunk_delay=0.05))
    page.keyboard.type("Talk at length")
    page.keyboard.press("Enter")
    expect(page.locator(".message.assistant").last).to_contain_text("s3 ")
    tab_to(page, lambda f: f["id"] == "stop")
    page.keyboard.press("Enter")
    expect(page.locator(".answer-status")).to_have_text("Stopped")

    # Open another conversation from the sidebar, then rename it, by keyboard.
    page.locator("#prompt").focus()
    tab_to(page, lambda f: f["name"] == "Keyboard first")
    page.keyboard.press("Enter")
    page.wait_for_url(first)
    expect(page.locator(".message.user").first).to_contain_text("Keyboard first")
    expect(page.locator(".conversation.active .conversation-link")).to_be_focused()
    # The chat's own controls come next: pin, then rename (not another chat's).
    assert tab_to(page, lambda f: f["name"] == "Rename") == ["Pin “Keyboard first”", "Rename"]
    page.once("dialog", lambda dialog: dialog.accept("Renamed by keyboard"))
    page.keyboard.press("Enter")
    expect(page.locator(".conversation.active")).to_contain_text("Renamed by keyboard")


def test_on_a_phone_the_sidebar_opens_and_closes_by_keyboard_and_takes_no_focus_when_closed(
    browser: Browser, stack: Stack
) -> None:
    context = browser.new_context(base_url=stack.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        log_in(page)
        page.locator("#prompt").focus()
        visited = tab_to(page, lambda f: f["id"] == "open-sidebar")
        assert "New chat" not in visited and "Search chats" not in visited  # closed: skipped
        page.keyboard.press("Enter")
        expect(page.locator("#close-sidebar")).to_be_focused()
        tab_to(page, lambda f: f["id"] == "new-chat")
        page.keyboard.press("Escape")
        expect(page.locator("#open-sidebar")).to_be_focused()
        page.wait_for_function(
            "() => getComputedStyle(document.getElementById('sidebar')).visibility === 'hidden'"
        )
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_or_critical_violation_on_the_mcp_screens(
    browser: Browser,
    mcp_stack: McpStack,  # noqa: F811 - the fixture imported above
    fake_openai: FakeOpenAI,
    scheme: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With a real MCP server (server-everything): the slash menu open, an elicitation form."""
    context = browser.new_context(
        base_url=mcp_stack.url, viewport={"width": 1280, "height": 860}, color_scheme=scheme
    )  # type: ignore[arg-type]
    context.set_default_timeout(20_000)
    blocking: dict[str, list[dict[str, Any]]] = {}
    try:
        page = context.new_page()
        log_in(page)
        page.locator("#prompt").press_sequentially("/")
        expect(page.locator("#slash-menu").get_by_role("option").first).to_be_visible()
        screens = {"slash menu open": axe(page)}
        screenshot(page, f"axe-slash-menu-open-{scheme}")
        page.keyboard.press("Escape")
        page.fill("#prompt", "")
        form = _elicit(page, fake_openai, "Thanks.")
        screens["elicitation form"] = axe(page)
        screenshot(page, f"axe-elicitation-form-{scheme}")
        form.get_by_role("button", name="Decline").click()
        expect(page.locator(".message.assistant").last).to_contain_text("Thanks.")
    finally:
        context.close()
    for name, violations in screens.items():
        with capsys.disabled():
            found = ", ".join(f"{v['id']} ({v['impact']})" for v in violations) or "none"
            print(f"\naxe, {name}, {scheme}: {found}")
            for violation in violations:
                if violation["impact"] in BLOCKING:
                    print("\n".join(f"    {node}" for node in violation["nodes"]))
        blocking[name] = [v for v in violations if v["impact"] in BLOCKING]
    assert {name: found for name, found in blocking.items() if found} == {}
