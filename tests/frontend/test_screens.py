"""The main screens as a user sees them: login, chat in light and dark, a phone-sized screen.

Each saves a screenshot in tests/frontend/artifacts/ to look at.
"""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.frontend.conftest import Stack, log_in, screenshot

SAMPLE = (
    "Sure. A **binary search** halves the range each step:\n\n"
    "```python\ndef search(items, wanted):\n    low, high = 0, len(items) - 1\n"
    "    while low <= high:\n        middle = (low + high) // 2\n"
    "        if items[middle] == wanted:\n            return middle\n"
    "        if items[middle] < wanted:\n            low = middle + 1\n"
    "        else:\n            high = middle - 1\n    return -1\n```\n\n"
    "It takes `O(log n)` steps."
)


def _chat(page: Page, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__delete", '{"x": "draft.txt"}')]),
        Reply(text=SAMPLE),
    )
    page.fill("#prompt", "Delete draft.txt, then show me a binary search in Python")
    page.keyboard.press("Enter")
    page.locator(".tool-card button.approve").click()
    expect(page.locator(".message.assistant").last).to_contain_text("O(log n)")
    expect(page.locator(".message.assistant").last).not_to_have_class("message assistant streaming")


def test_the_login_screen_in_light_and_dark(browser: Browser, stack: Stack) -> None:
    for scheme in ("light", "dark"):
        context = browser.new_context(
            base_url=stack.url, viewport={"width": 1280, "height": 800}, color_scheme=scheme
        )
        page = context.new_page()
        page.goto("/login")
        expect(page.locator("h1")).to_have_text("Welcome back")
        assert page.evaluate("document.documentElement.dataset.theme") == scheme
        screenshot(page, f"login-{scheme}")
        context.close()


def test_the_chat_follows_the_system_theme_and_the_toggle_sticks(
    browser: Browser, stack: Stack, fake_openai: FakeOpenAI
) -> None:
    context = browser.new_context(
        base_url=stack.url, viewport={"width": 1280, "height": 800}, color_scheme="dark"
    )
    page = context.new_page()
    log_in(page)
    _chat(page, fake_openai)
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(23, 23, 23)"
    screenshot(page, "chat-dark")
    page.click("#theme")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    page.reload()
    page.wait_for_selector("body[data-ready]")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    context.close()


def test_a_phone_sized_screen_shows_the_chat_and_slides_the_sidebar_over_it(
    browser: Browser, stack: Stack, fake_openai: FakeOpenAI
) -> None:
    context = browser.new_context(
        base_url=stack.url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    log_in(page)
    _chat(page, fake_openai)
    sidebar = page.locator("#sidebar")
    assert sidebar.bounding_box()["x"] < 0  # type: ignore[index]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "phone-chat")
    page.click("#open-sidebar")
    expect(page.locator("#close-sidebar")).to_be_in_viewport()
    page.wait_for_function(
        "() => document.getElementById('sidebar').getBoundingClientRect().left >= 0"
    )
    screenshot(page, "phone-sidebar")
    page.locator(".conversation-link").first.click()
    expect(page.locator("#close-sidebar")).not_to_be_in_viewport()
    context.close()
