"""Long conversations in a real browser: the compaction divider, and pinned conversations.

The conversations are made through the orchestrator's API as the first admin (who the
browser logs in as), with `gpt-4`'s 8k window, so that a few long turns are enough for
the older ones to be summarised.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.fakes.openai_server import FakeOpenAI, Reply, echo_reply
from tests.frontend.conftest import Stack, log_in, screenshot

SUMMARY = "**Summary**: the user numbered long turns, from Turn 0 on."
MODEL = "gpt-4"  # an 8,192-token window: four turns of ~600 tokens reach 80% of it


def _turn(number: int) -> str:
    return f"Turn {number}: " + "alpha beta gamma delta " * 150


def _summariser(body: dict[str, Any]) -> Reply:
    first = body["messages"][0]
    if first["role"] == "system" and "You compact a conversation" in first["content"]:
        return Reply(text=SUMMARY)
    return echo_reply(body)


@pytest.fixture
def orchestrator(
    stack: Stack, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> Iterator[httpx.Client]:
    """The orchestrator's API as the first admin; the fake model summarises when asked."""
    monkeypatch.setattr(fake_openai, "default", _summariser)
    with httpx.Client(base_url=stack.orchestrator_url, timeout=30) as client:
        token = client.post(
            "/api/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ).json()["access_token"]
        client.headers["authorization"] = f"Bearer {token}"
        yield client


def _conversation(client: httpx.Client, title: str) -> str:
    response = client.post("/api/v1/conversations", json={"title": title})
    assert response.status_code == 201
    return response.json()["id"]


def _say(client: httpx.Client, conversation: str, text: str) -> list[str]:
    """Post a message and read its run's events to the end; their names."""
    names: list[str] = []
    with client.stream(
        "POST",
        f"/api/v1/conversations/{conversation}/messages",
        json={"content": text, "model": MODEL},
        headers={"accept": "text/event-stream"},
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event: "):
                names.append(line.removeprefix("event: "))
    assert names[-1] == "run.completed", names
    return names


def test_a_compacted_conversation_shows_a_divider_that_opens_on_the_summary(
    page: Page, orchestrator: httpx.Client
) -> None:
    conversation = _conversation(orchestrator, f"Long chat {uuid.uuid4().hex[:6]}")
    seen = [_say(orchestrator, conversation, _turn(number)) for number in range(4)]
    assert ["context.compacted" in names for names in seen] == [False, False, False, True]

    page.goto(f"/c/{conversation}")
    divider = page.locator(".summary-divider")
    expect(divider).to_have_count(1)
    toggle = divider.locator("summary")
    expect(toggle).to_contain_text("Earlier messages were summarised")
    expect(divider.locator(".summary-text")).to_be_hidden()
    # The turns it covers are still there, above it, to scroll to.
    first = page.locator(".message.user").first
    expect(first).to_contain_text("Turn 0:")
    assert first.bounding_box()["y"] < divider.bounding_box()["y"]  # type: ignore[index]
    expect(page.locator(".message.user")).to_have_count(4)
    # The last question follows the divider: it is what the model still reads verbatim.
    assert divider.evaluate("node => node.nextElementSibling.textContent").startswith("Turn 3:")

    toggle.click()
    expect(divider.locator(".summary-text strong")).to_have_text("Summary")
    expect(divider.locator(".summary-text")).to_contain_text("from Turn 0 on")
    divider.scroll_into_view_if_needed()
    screenshot(page, "long-history-summary-light")

    # By keyboard: the divider's toggle takes focus and Enter closes it.
    toggle.focus()
    page.keyboard.press("Enter")
    expect(divider.locator(".summary-text")).to_be_hidden()
    first.scroll_into_view_if_needed()
    expect(first).to_be_in_viewport()


def test_the_divider_appears_when_a_run_compacts_the_open_conversation(
    page: Page, orchestrator: httpx.Client
) -> None:
    conversation = _conversation(orchestrator, f"Growing chat {uuid.uuid4().hex[:6]}")
    for number in range(3):
        assert "context.compacted" not in _say(orchestrator, conversation, _turn(number))
    page.goto(f"/c/{conversation}")
    expect(page.locator(".message.user")).to_have_count(3)
    expect(page.locator(".summary-divider")).to_have_count(0)

    # The fourth turn, sent from this page (with the small-window model).
    page.evaluate(
        """([id, content, model]) => fetch(`/api/conversations/${id}/messages`, {
            method: "POST",
            headers: {
              "Content-Type": "application/json",
              "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content,
            },
            body: JSON.stringify({ content, model }),
          }).then((response) => response.status)""",
        [conversation, _turn(3), MODEL],
    )
    divider = page.locator(".summary-divider")
    expect(divider).to_have_count(1)
    expect(page.locator(".message.assistant").last).to_contain_text("You said: Turn 3:")
    divider.locator("summary").click()
    expect(divider.locator(".summary-text")).to_contain_text("from Turn 0 on")


@pytest.mark.parametrize("scheme", ["dark"])
def test_the_divider_in_dark_on_a_phone(
    browser: Browser, stack: Stack, orchestrator: httpx.Client, scheme: str
) -> None:
    conversation = _conversation(orchestrator, f"Phone chat {uuid.uuid4().hex[:6]}")
    for number in range(4):
        _say(orchestrator, conversation, _turn(number))
    context = browser.new_context(
        base_url=stack.url, viewport={"width": 390, "height": 844}, color_scheme=scheme
    )
    try:
        page = context.new_page()
        log_in(page)
        page.goto(f"/c/{conversation}")
        divider = page.locator(".summary-divider")
        divider.locator("summary").click()
        expect(divider.locator(".summary-text")).to_be_visible()
        divider.scroll_into_view_if_needed()
        screenshot(page, f"long-history-summary-phone-{scheme}")
    finally:
        context.close()


def _entry(page: Page, title: str):
    return page.locator(".conversation", has=page.get_by_role("link", name=title, exact=True))


def test_a_conversation_is_pinned_above_the_date_groups_and_unpinned_by_keyboard(
    page: Page, orchestrator: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:6]
    titles = [f"Pin me {tag}", f"Middle {tag}", f"Newest {tag}"]
    ids = [_conversation(orchestrator, title) for title in titles]
    try:
        _pin_and_unpin(page, titles)
    finally:  # the other browser tests share this user's sidebar: leave nothing pinned
        orchestrator.patch(f"/api/v1/conversations/{ids[0]}", json={"pinned": False})


def _pin_and_unpin(page: Page, titles: list[str]) -> None:
    page.reload()
    page.wait_for_selector("body[data-ready]")
    nav = page.locator("#conversations")
    expect(_entry(page, titles[0])).to_have_count(1)

    # Pin with the mouse: the conversation moves into "Pinned", above the date groups.
    _entry(page, titles[0]).hover()
    _entry(page, titles[0]).get_by_role("button", name=f"Pin “{titles[0]}”").click()
    expect(nav.locator("h3").first).to_have_text("Pinned")
    pinned_group = nav.locator("h3.pinned-heading + .conversation")
    expect(pinned_group.first.get_by_role("link")).to_have_text(titles[0])
    unpin = _entry(page, titles[0]).get_by_role("button", name=f"Unpin “{titles[0]}”")
    expect(unpin).to_have_attribute("aria-pressed", "true")
    screenshot(page, "sidebar-pinned")

    # It stays pinned after a reload (stored).
    page.reload()
    page.wait_for_selector("body[data-ready]")
    expect(nav.locator("h3").first).to_have_text("Pinned")
    expect(_entry(page, titles[0])).to_have_class("conversation pinned")

    # Unpin by keyboard alone: Tab from the link reaches the button, Enter presses it.
    _entry(page, titles[0]).get_by_role("link").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == f"Unpin “{titles[0]}”"
    page.keyboard.press("Enter")
    expect(_entry(page, titles[0])).not_to_have_class("conversation pinned")
    expect(nav.locator("h3.pinned-heading")).to_have_count(0)
    # Back among the others by date: after the two newer ones.
    links = nav.get_by_role("link").all_inner_texts()
    assert links.index(titles[2]) < links.index(titles[1]) < links.index(titles[0])
