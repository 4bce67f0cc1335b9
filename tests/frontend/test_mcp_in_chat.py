"""MCP in the chat screen, in a real browser, against a real MCP server.

The orchestrator of this module has no fake tools: its hub runs
`@modelcontextprotocol/server-everything` over stdio (from node_modules), behind `tee` so
that the test can read what the hub sent it (the cancellation of a stopped call), and our
own demo server (`tests/fakes/mcp_server.py`, whose `hang` never answers: with a short
timeout it makes a real host fault). Only the model is fake. Tool cards, approvals and
"Always allow", elicitation forms, progress, images and resource links, a failed server
told apart from a tool's error, prompts as slash commands, resources as attachments, and
Stop cancelling the MCP call in flight.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from orchestrator.main import create_app
from orchestrator.settings import MCPSettings
from tests.api.conftest import make_settings, orchestrator_thread
from tests.conftest import PostgresServer
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.frontend.conftest import ARTIFACTS, log_in, start_frontend

ROOT = Path(__file__).resolve().parents[2]
EVERYTHING = ROOT / "node_modules" / ".bin" / "mcp-server-everything"
SERVER = "everything"
DEMO = "demo"  # tests/fakes/mcp_server.py


@dataclass
class McpStack:
    url: str  # the front end
    orchestrator_url: str
    api_key: str
    wire_log: Path  # every message the hub sent to the server, one JSON per line

    def sent(self) -> list[dict[str, Any]]:
        lines = self.wire_log.read_text().splitlines() if self.wire_log.exists() else []
        return [json.loads(line) for line in lines if line.strip()]


def _off_the_loop(function: Any, *args: Any) -> Any:
    """Call `function` in a thread of its own: Playwright's loop runs in this one, and the
    database helpers use asyncio.run."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = function(*args)
        except BaseException as error:  # handed back to the caller
            box["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _wait_for_tools(url: str, key: str, wanted: str) -> None:
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {key}"}) as client:
        while time.monotonic() < deadline:
            names = {tool["name"] for tool in client.get("/api/v1/tools").json()["items"]}
            if wanted in names:
                return
            threading.Event().wait(0.1)  # the hub connects in the background
    raise AssertionError(f"{wanted} never appeared in /api/v1/tools")


@pytest.fixture(scope="module")
def mcp_stack(
    postgres: PostgresServer, openai_fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[McpStack]:
    if not EVERYTHING.exists():
        raise AssertionError("server-everything is missing: run `make setup`")
    work = tmp_path_factory.mktemp("mcp-chat")
    wire_log = work / "to-server.jsonl"
    command = (
        f"tee -a {shlex.quote(str(wire_log))} | exec node {shlex.quote(str(EVERYTHING))} stdio"
    )
    config = work / "mcp.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    SERVER: {
                        "command": "sh",
                        "args": ["-c", command],
                        "policy": "auto",
                        "timeout": 60,
                        "tools": {"echo": {"policy": "ask"}, "get-sum": {"policy": "ask"}},
                    },
                    DEMO: {
                        "command": sys.executable,
                        "args": ["-m", "tests.fakes.mcp_server", "--name", DEMO],
                        "cwd": str(ROOT),
                        "policy": "auto",
                        "tools": {"hang": {"timeout": 1}},
                    },
                }
            }
        )
    )
    database = _off_the_loop(postgres.create_database)
    settings = make_settings(
        postgres.url_for(database),
        work / "orchestrator-data",
        openai_fake.url,  # type: ignore[attr-defined]
        mcp=MCPSettings(config=config),
    )
    app = create_app(settings)
    frontend = None
    try:
        with orchestrator_thread(app, timeout=90) as server:
            orchestrator, key = server.url, server.started_with
            try:
                _wait_for_tools(orchestrator, key, f"{SERVER}__echo")
                _wait_for_tools(orchestrator, key, f"{DEMO}__hang")
                frontend = start_frontend(orchestrator, work / "frontend-data")
                yield McpStack(frontend.url, orchestrator, key, wire_log)
            finally:
                if frontend is not None:
                    frontend.stop()
    finally:
        _off_the_loop(postgres.drop_database, database)


def _context(browser: Browser, stack: McpStack, scheme: str = "light") -> BrowserContext:
    context = browser.new_context(
        base_url=stack.url, viewport={"width": 1280, "height": 860}, color_scheme=scheme
    )
    context.set_default_timeout(20_000)
    return context


@pytest.fixture
def context(
    browser: Browser, mcp_stack: McpStack, fake_openai: FakeOpenAI
) -> Iterator[BrowserContext]:
    context = _context(browser, mcp_stack)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    page = context.new_page()
    log_in(page)
    return page


def _send(page: Page, text: str) -> None:
    page.fill("#prompt", text)
    page.keyboard.press("Enter")


def _call(tool: str, arguments: dict[str, Any]) -> Reply:
    return Reply(tool_calls=[FakeToolCall(f"{SERVER}__{tool}", json.dumps(arguments))])


def _card(page: Page, index: int = -1) -> Locator:
    cards = page.locator(".tool-card")
    return cards.nth(index) if index >= 0 else cards.last


def _shot(target: Page | Locator, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _shot_card(page: Page, name: str) -> None:
    """The last card whole: the page made tall enough for it, then as it was."""
    size = page.viewport_size or {"width": 1280, "height": 860}
    height = int(_card(page).evaluate("card => card.getBoundingClientRect().height"))
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height + 300)})
    try:
        _shot(_card(page), name)
    finally:
        page.set_viewport_size(size)


def _tool_messages(fake: FakeOpenAI) -> list[str]:
    return [
        str(message.get("content"))
        for request in fake.requests
        for message in request["messages"]
        if message["role"] == "tool"
    ]


def test_an_approved_tool_runs_and_its_card_shows_server_tool_arguments_and_result(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(_call("echo", {"message": "hello from MCP"}), Reply(text="It echoed."))
    _send(page, "Echo something")
    card = _card(page)
    expect(card.locator(".tool-state")).to_have_text("Waiting for your approval")
    other = page.context.new_page()  # a second tab shows the same approval
    other.goto(page.url)
    other.wait_for_selector("body[data-ready]")
    expect(_card(other).locator("button.approve")).to_be_visible()
    expect(card.locator(".tool-name")).to_contain_text("echo")
    expect(card.locator(".tool-server")).to_contain_text(SERVER)
    expect(card.locator(".tool-args")).to_have_text('{\n  "message": "hello from MCP"\n}')
    card.locator("button.approve").click()
    expect(card.locator(".tool-result")).to_have_text("Echo: hello from MCP")
    expect(card.locator(".tool-state")).to_have_text("Done")
    expect(page.locator(".message.assistant").last).to_contain_text("It echoed.")
    assert "Echo: hello from MCP" in _tool_messages(fake_openai)
    expect(_card(other).locator("button.approve")).to_have_count(0)
    expect(_card(other).locator(".tool-result")).to_have_text("Echo: hello from MCP")
    other.close()


def test_always_allow_runs_the_call_and_the_next_call_of_the_tool_is_not_asked(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(_call("get-sum", {"a": 2, "b": 3}), Reply(text="Five."))
    _send(page, "Add 2 and 3")
    card = _card(page)
    expect(card.locator("button.always")).to_be_visible()
    card.locator("button.always").click()
    expect(card.locator(".tool-result")).to_contain_text("5")
    expect(card.locator(".tool-badge")).to_have_text("Always allowed")
    expect(page.locator("#send")).to_be_visible()

    fake_openai.script(_call("get-sum", {"a": 40, "b": 2}), Reply(text="Forty-two."))
    _send(page, "Add 40 and 2")
    expect(page.locator(".message.assistant").last).to_contain_text("Forty-two.")
    second = _card(page)
    expect(second.locator(".tool-result")).to_contain_text("42")
    expect(second.locator(".tool-actions")).to_have_count(0)
    events = [r for r in fake_openai.requests if r["messages"][-1]["role"] == "tool"]
    assert "42" in str(events[-1]["messages"][-1]["content"])


def _elicit(page: Page, fake_openai: FakeOpenAI, answer: str) -> Locator:
    fake_openai.script(_call("trigger-elicitation-request", {}), Reply(text=answer))
    _send(page, "Ask me some questions")
    form = page.locator(".elicitation-form")
    expect(form).to_be_visible()
    return form


def test_an_elicitation_form_is_validated_and_its_answer_reaches_the_server(
    page: Page, context: BrowserContext, fake_openai: FakeOpenAI
) -> None:
    form = _elicit(page, fake_openai, "Thanks for the answers.")
    card = _card(page)
    expect(card.locator(".tool-state")).to_have_text("Waiting for your answer")
    expect(form.get_by_label("String with default")).to_have_value(
        "It was a dark and stormy night."
    )
    expect(form.get_by_text("Your full, legal name")).to_be_visible()  # help text
    # A second tab (or a refresh) shows the same open question.
    other = context.new_page()
    other.goto(page.url)
    other.wait_for_selector("body[data-ready]")
    expect(other.locator(".elicitation-form")).to_be_visible()
    _shot_card(page, "mcp-elicitation-light")

    form.get_by_label("Integer").fill("500")
    form.get_by_label("String with email format").fill("not an email")
    form.get_by_role("button", name="Submit").click()
    expect(form.locator(".field-error").filter(has_text="String is required.")).to_be_visible()
    expect(form.get_by_text("Integer must be at most 100.")).to_be_visible()
    expect(form.get_by_text("Enter an email address.")).to_be_visible()
    expect(form.get_by_role("textbox", name="String", exact=True)).to_be_focused()

    form.get_by_role("textbox", name="String", exact=True).fill("Ada Lovelace")
    form.get_by_label("Integer").fill("7")
    form.get_by_label("String with email format").fill("ada@example.com")
    form.get_by_label("Boolean").check()
    form.get_by_role("radio", name="Green Lantern").check()
    form.get_by_role("button", name="Submit").click()
    expect(card.locator(".tool-result").first).to_contain_text(
        "User provided the requested information"
    )
    result = card.locator(".tool-output").inner_text()
    assert "Ada Lovelace" in result and "hero-2" in result and "ada@example.com" in result
    expect(page.locator(".elicitation-form")).to_have_count(0)
    expect(other.locator(".elicitation-form")).to_have_count(0)  # answered in the other tab
    expect(page.locator(".message.assistant").last).to_contain_text("Thanks for the answers.")
    other.close()


def test_a_url_question_opens_its_page_in_a_new_tab_and_done_answers_it(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    target = "https://login.example.com/consent?state=abc"
    fake_openai.script(
        _call("trigger-url-elicitation", {"url": target, "message": "Sign in to continue."}),
        Reply(text="Signed in."),
    )
    _send(page, "Connect my account")
    question = page.locator(".elicitation")
    expect(question).to_contain_text("Sign in to continue.")
    link = question.get_by_role("link", name="Open login.example.com")
    expect(link).to_have_attribute("href", target)
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(question.locator(".host")).to_have_text(target)
    question.get_by_role("button", name="Done").click()
    expect(page.locator(".elicitation")).to_have_count(0)
    expect(page.locator(".message.assistant").last).to_contain_text("Signed in.")
    assert "accept" in _tool_messages(fake_openai)[-1]


def test_declining_an_elicitation_tells_the_server(page: Page, fake_openai: FakeOpenAI) -> None:
    form = _elicit(page, fake_openai, "Fine, no answers.")
    form.get_by_role("button", name="Decline").click()
    expect(_card(page).locator(".tool-output")).to_contain_text("declined")
    expect(page.locator(".message.assistant").last).to_contain_text("Fine, no answers.")


def test_progress_shows_as_a_bar_that_moves(
    page: Page, browser: Browser, mcp_stack: McpStack, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        _call("trigger-long-running-operation", {"duration": 4, "steps": 8}), Reply(text="Done.")
    )
    _send(page, "Run the long operation")
    bar = _card(page).locator("progress.tool-progress")
    page.wait_for_function(
        "() => { const b = document.querySelector('progress.tool-progress');"
        " return b && b.value >= 2; }"
    )
    first = float(bar.get_attribute("max") or 0), bar.evaluate("b => b.value")
    _shot(_card(page), "mcp-progress-light")
    page.wait_for_function(
        f"() => {{ const b = document.querySelector('progress.tool-progress');"
        f" return b && b.value > {first[1]}; }}"
    )
    assert first[0] == 8
    expect(_card(page).locator(".tool-state")).to_have_text("Done", timeout=20_000)
    expect(_card(page).locator(".tool-result")).to_contain_text("completed")


def test_an_image_result_shows_as_an_image_and_resource_links_open_through_the_front_end(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        _call("get-tiny-image", {}), _call("get-resource-links", {"count": 2}), Reply(text="Ok.")
    )
    _send(page, "Show me a picture and some links")
    image = _card(page, 0).locator("img.tool-image")
    expect(image).to_be_visible()
    assert image.get_attribute("src").startswith("data:image/png;base64,")  # type: ignore[union-attr]
    assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    _card(page, 1).locator("summary.tool-head").click()
    links = _card(page, 1).locator(".resource-link a")
    expect(links).to_have_count(2)
    expect(links.first).to_be_visible()
    href = links.nth(1).get_attribute("href") or ""
    assert href.startswith("/mcp/resource?") and links.nth(1).get_attribute("target") == "_blank"
    assert links.nth(1).get_attribute("rel") == "noopener noreferrer"
    _shot(page, "mcp-results-light")
    opened = page.request.get(href)
    assert opened.status == 200 and opened.headers["content-type"].startswith("text/plain")
    assert opened.headers["x-content-type-options"] == "nosniff"
    assert "Resource 2" in opened.text()
    # A binary resource is a download, never shown as a page of ours.
    blob = page.request.get(links.nth(0).get_attribute("href") or "")
    assert blob.status == 200 and blob.headers["content-type"] == "application/octet-stream"
    assert blob.headers["content-disposition"].startswith("attachment;")
    missing = page.request.get("/mcp/resource?server=everything")
    assert missing.status == 422 and missing.json()["error"]["type"] == "invalid_input"
    unknown = page.request.get("/mcp/resource?server=nope&uri=demo://x")
    assert unknown.status == 404 and unknown.json()["error"]["message"]


def test_a_failed_server_shows_apart_from_a_tool_s_error_live_and_after_a_reload(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Reply(
            tool_calls=[
                FakeToolCall(f"{DEMO}__fail", json.dumps({"reason": "no such city"})),
                FakeToolCall(f"{DEMO}__hang", "{}"),  # times out after 1 s: a host fault
            ]
        ),
        Reply(text="One tool failed and one server did not answer."),
    )
    _send(page, "Try both")
    expect(page.locator(".message.assistant").last).to_contain_text("did not answer")

    def shows_both(page: Page) -> None:
        own, fault = _card(page, 0), _card(page, 1)
        expect(own.locator(".tool-state")).to_have_text("Tool error")
        expect(own).not_to_have_class(re.compile(r"state-fault"))
        expect(own.locator(".tool-body")).to_contain_text("The tool reported an error")
        expect(own.locator(".tool-output")).to_contain_text("no such city")
        expect(fault.locator(".tool-state")).to_have_text("Server failed")
        expect(fault).to_have_class(re.compile(r"state-fault"))
        expect(fault.locator(".tool-body")).to_contain_text("The tool server could not answer")
        expect(fault.locator(".tool-output")).to_contain_text("not the tool's own result")

    shows_both(page)
    _shot(page.locator(".message.assistant").last, "mcp-fault-live-light")
    page.reload()
    page.wait_for_selector("body[data-ready]")
    shows_both(page)
    _shot(page.locator(".message.assistant").last, "mcp-fault-reloaded-light")
    sent = _tool_messages(fake_openai)
    assert any(m.startswith("Error: ") and "no such city" in m for m in sent)
    assert any(m.startswith(f"The tool server '{DEMO}' failed") for m in sent)


def test_a_slash_command_inserts_a_prompt_after_asking_its_arguments(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    prompt = page.locator("#prompt")
    prompt.press_sequentially("/")
    menu = page.locator("#slash-menu")
    expect(menu.get_by_role("option").first).to_be_visible()
    expect(menu).to_contain_text("args-prompt")
    prompt.press_sequentially("arg")
    expect(menu.get_by_role("option")).to_have_count(1)
    _shot(page, "mcp-slash-menu-light")
    prompt.press("Enter")
    city = menu.get_by_label("city")
    expect(city).to_be_focused()
    menu.get_by_role("button", name="Insert").click()
    expect(menu.get_by_text("city is required.")).to_be_visible()
    city.fill("Paris")
    city.press("Enter")
    expect(menu).to_be_hidden()
    expect(prompt).to_have_value("What's weather in Paris?")
    fake_openai.script(Reply(text="Sunny."))
    prompt.press("Enter")
    expect(page.locator(".message.assistant").last).to_contain_text("Sunny.")
    assert fake_openai.last_request["messages"][-1]["content"] == "What's weather in Paris?"


def test_a_slash_command_is_chosen_with_the_arrow_keys(page: Page) -> None:
    prompt = page.locator("#prompt")
    prompt.press_sequentially("/")
    options = page.locator("#slash-menu [role=option]")
    expect(options.first).to_have_attribute("aria-selected", "true")
    prompt.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    assert prompt.get_attribute("aria-activedescendant") == options.nth(1).get_attribute("id")
    prompt.press("Escape")
    expect(page.locator("#slash-menu")).to_be_hidden()
    prompt.fill("/simple")
    prompt.press("Enter")
    expect(prompt).to_have_value("This is a simple prompt without arguments.")


def test_an_attached_resource_reaches_the_model_and_shows_as_a_chip(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    page.get_by_role("button", name="Attach an MCP resource").click()
    search = page.get_by_role("searchbox", name="Search resources")
    expect(search).to_be_focused()
    search.fill("architecture")
    expect(page.locator("#resource-menu [role=option]")).to_have_count(1)
    _shot(page, "mcp-resource-picker-light")
    search.press("Enter")
    chip = page.locator("#resource-chips .chip")
    expect(chip.locator("span")).to_have_text("architecture.md")
    fake_openai.script(Reply(text="I read it."))
    _send(page, "Summarise the attached document")
    expect(page.locator(".message.assistant").last).to_contain_text("I read it.")
    expect(page.locator("#resource-chips")).to_be_hidden()
    sent = fake_openai.last_request["messages"][-1]
    content = json.dumps(sent["content"])
    assert "Summarise the attached document" in content
    assert "demo://resource/static/document/architecture.md" in content
    assert "Architecture" in content  # the document's own text
    expect(page.locator(".message.user .chip")).to_have_text("architecture.md")
    _shot(page, "mcp-resource-sent-light")
    page.reload()
    page.wait_for_selector("body[data-ready]")
    expect(page.locator(".message.user .chip")).to_have_text("architecture.md")


def test_stop_on_a_chat_you_come_back_to_cancels_the_mcp_call_in_flight(
    page: Page, mcp_stack: McpStack, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        _call("trigger-long-running-operation", {"duration": 60, "steps": 60}),
        Reply(text="never"),
    )
    _send(page, "Start something long")
    page.wait_for_function(
        "() => { const b = document.querySelector('progress.tool-progress');"
        " return b && b.value >= 1; }"
    )
    running = page.url
    page.click("#new-chat")
    expect(page.locator("#empty")).to_be_visible()
    page.goto(running)
    page.wait_for_selector("body[data-ready]")
    expect(_card(page).locator("progress.tool-progress")).to_be_visible()
    started = time.monotonic()
    page.click("#stop")
    expect(page.locator(".message.assistant").last.locator(".answer-status")).to_have_text(
        "Stopped"
    )
    assert time.monotonic() - started < 15
    expect(_card(page).locator(".tool-state")).to_have_text("Stopped")
    expect(_card(page).locator("progress")).to_have_count(0)
    calls = [
        m
        for m in mcp_stack.sent()
        if m.get("method") == "tools/call"
        and m["params"]["name"] == "trigger-long-running-operation"
        and m["params"]["arguments"] == {"duration": 60, "steps": 60}
    ]
    assert len(calls) == 1
    deadline = time.monotonic() + 10
    cancelled: list[dict[str, Any]] = []
    while not cancelled and time.monotonic() < deadline:
        cancelled = [
            m
            for m in mcp_stack.sent()
            if m.get("method") == "notifications/cancelled"
            and m["params"].get("requestId") == calls[0]["id"]
        ]
        threading.Event().wait(0.05)  # the hub writes to the server's stdin on its own
    assert cancelled, "the hub never told the server that the call was cancelled"
    assert "never" not in page.locator(".message.assistant").last.inner_text()


def test_screens_in_dark(browser: Browser, mcp_stack: McpStack, fake_openai: FakeOpenAI) -> None:
    context = _context(browser, mcp_stack, "dark")
    try:
        page = context.new_page()
        log_in(page)
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        fake_openai.script(
            _call("trigger-long-running-operation", {"duration": 3, "steps": 6}),
            _call("trigger-elicitation-request", {}),
            Reply(text="Done."),
        )
        _send(page, "Show the dark screens")
        page.wait_for_function(
            "() => { const b = document.querySelector('progress.tool-progress');"
            " return b && b.value >= 2; }"
        )
        _shot(_card(page), "mcp-progress-dark")
        expect(page.locator(".elicitation-form")).to_be_visible(timeout=20_000)
        _shot_card(page, "mcp-elicitation-dark")
        page.get_by_role("button", name="Cancel").click()
        expect(page.locator(".message.assistant").last).to_contain_text("Done.")
        page.locator("#prompt").press_sequentially("/")
        expect(page.locator("#slash-menu [role=option]").first).to_be_visible(timeout=20_000)
        _shot(page, "mcp-slash-menu-dark")
    finally:
        context.close()


def test_a_question_and_the_composer_fit_a_phone_screen(
    browser: Browser, mcp_stack: McpStack, fake_openai: FakeOpenAI
) -> None:
    context = browser.new_context(
        base_url=mcp_stack.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        log_in(page)
        form = _elicit(page, fake_openai, "Thanks.")
        form.get_by_role("textbox", name="String", exact=True).fill("Ada")
        wide = page.evaluate(
            "() => [...document.querySelectorAll('.tool-card, .composer')]"
            ".filter(n => n.scrollWidth > n.clientWidth + 1).map(n => n.className)"
        )
        assert wide == []
        _shot(page, "mcp-elicitation-phone")
        form.get_by_role("button", name="Submit").click()
        expect(page.locator(".message.assistant").last).to_contain_text("Thanks.")
        page.get_by_role("button", name="Attach an MCP resource").click()
        expect(page.locator("#resource-menu [role=option]").first).to_be_visible()
        _shot(page, "mcp-resource-picker-phone")
    finally:
        context.close()


def test_answers_and_decisions_without_the_csrf_token_are_refused(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    form = _elicit(page, fake_openai, "Answered at last.")
    run_id = page.evaluate(
        "async () => (await (await fetch(location.pathname.replace('/c/', '/api/conversations/')))"
        ".json()).active_run.id"
    )
    question_id = page.locator(".elicitation").get_attribute("data-question-id")
    attempts = page.evaluate(
        """async ([runId, questionId]) => {
            const send = async (method, path, body) => {
                const response = await fetch(path, {method,
                    headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
                return [response.status, (await response.json()).error.type];
            };
            return [
                await send("POST", `/api/runs/${runId}/input`, {id: questionId, action: "decline"}),
                await send("POST", "/api/tool-calls/call_x/approve", {always: true}),
                await send("DELETE", "/api/tool-grants/everything__echo", {}),
            ];
        }""",
        [run_id, question_id],
    )
    assert attempts == [[400, "csrf"], [400, "csrf"], [400, "csrf"]]
    expect(form).to_be_visible()  # still waiting: nothing was answered
    form.get_by_role("button", name="Decline").click()
    expect(page.locator(".message.assistant").last).to_contain_text("Answered at last.")
