"""Chatting in a real browser: streamed Markdown, stop, refresh mid-stream, approvals, tabs."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.frontend.conftest import screenshot

ANSWER = (
    "Here is **bold** text and a list:\n\n- one\n- two\n\n"
    "```python\ndef greet(name):\n    return f'Hello, {name}!'\n```\n\nThat is all."
)


def _send(page: Page, text: str) -> None:
    page.fill("#prompt", text)
    page.keyboard.press("Enter")


def _answer(page: Page, index: int = -1) -> Locator:
    answers = page.locator(".message.assistant")
    return answers.nth(index) if index >= 0 else answers.last


def test_a_question_streams_an_answer_rendered_as_markdown_with_highlighted_code(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(text=ANSWER, chunk_delay=0.01))
    _send(page, "Show me some Markdown")
    answer = _answer(page)
    expect(answer.locator("strong")).to_have_text("bold")
    expect(answer.locator("li")).to_have_count(2)
    expect(answer.locator(".code-block .code-head span")).to_have_text("python")
    expect(answer.locator("code.hljs .hljs-keyword").first).to_have_text("def")
    expect(answer).not_to_have_class("message assistant streaming")
    expect(page.locator(".conversation.active")).to_have_count(1)
    expect(page.locator("#send")).to_be_visible()
    expect(answer.locator(".usage")).to_contain_text("out tokens")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    answer.locator(".copy-code").click()
    expect(answer.locator(".copy-code")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == "def greet(name):\n    return f'Hello, {name}!'"
    screenshot(page, "chat-light")


def test_stop_ends_a_running_answer_and_keeps_what_was_written(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    words = [f"word{i} " for i in range(400)]
    fake_openai.script(Reply(chunks=words, chunk_delay=0.05))
    _send(page, "Talk for a long time")
    answer = _answer(page)
    expect(answer).to_contain_text("word3 ")
    page.click("#stop")
    expect(answer.locator(".answer-status")).to_have_text("Stopped")
    expect(page.locator("#send")).to_be_visible()
    written = answer.locator(".markdown").inner_text()
    assert written.startswith("word0 word1 word2 word3")
    assert "word399" not in written


def test_a_refresh_mid_stream_continues_the_answer_without_lost_or_doubled_text(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    words = [f"w{i} " for i in range(120)]
    fake_openai.script(Reply(chunks=words, chunk_delay=0.03))
    _send(page, "Count for me")
    expect(_answer(page)).to_contain_text("w10 ")
    page.reload()
    page.wait_for_selector("body[data-ready]")
    answer = _answer(page)
    expect(answer).to_contain_text("w119", timeout=20_000)
    expect(answer).not_to_have_class("message assistant streaming")
    assert answer.locator(".markdown").inner_text().split() == [w.strip() for w in words]
    expect(page.locator(".message.user")).to_have_count(1)


def test_stop_works_on_a_running_answer_you_come_back_to(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(chunks=[f"x{i} " for i in range(400)], chunk_delay=0.05))
    _send(page, "A long one")
    expect(_answer(page)).to_contain_text("x2 ")
    running = page.url
    page.click("#new-chat")
    expect(page.locator("#empty")).to_be_visible()
    page.goto(running)
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#stop")).to_be_visible()
    page.click("#stop")
    expect(_answer(page).locator(".answer-status")).to_have_text("Stopped")


def test_a_tool_that_asks_runs_once_approved_and_its_card_shows_the_result(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__delete", '{"x": "notes.txt"}')]),
        Reply(text="I deleted notes.txt."),
    )
    _send(page, "Delete notes.txt")
    card = page.locator(".tool-card")
    expect(card.locator(".tool-state")).to_have_text("Waiting for your approval")
    expect(card.locator(".tool-name")).to_contain_text("delete")
    expect(card.locator(".tool-name")).to_contain_text("files")
    expect(card.locator(".tool-args")).to_contain_text('"x": "notes.txt"')
    screenshot(page, "chat-approval")
    card.locator("button.approve").click()
    expect(card.locator(".tool-result")).to_have_text("deleted notes.txt")
    expect(_answer(page)).to_contain_text("I deleted notes.txt.")
    expect(card.locator(".tool-state")).to_have_text("Done")


def test_a_denied_tool_call_does_not_run(page: Page, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__delete", '{"x": "keep.txt"}')]),
        Reply(text="Understood, I left it."),
    )
    _send(page, "Delete keep.txt")
    page.locator(".tool-card button.deny").click()
    expect(_answer(page)).to_contain_text("Understood, I left it.")
    expect(page.locator(".tool-card .tool-result")).to_contain_text("did not approve")


def test_two_tabs_on_one_conversation_show_the_same_answer_as_it_streams(
    page: Page, context: BrowserContext, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(text="First answer."))
    _send(page, "Hello")
    expect(_answer(page)).to_contain_text("First answer.")
    other = context.new_page()
    other.goto(page.url)
    other.wait_for_selector("body[data-ready]")
    expect(_answer(other)).to_contain_text("First answer.")
    fake_openai.script(Reply(chunks=[f"t{i} " for i in range(60)], chunk_delay=0.03))
    _send(page, "And again")
    expect(_answer(other, 1)).to_contain_text("t5 ")
    expect(other.locator(".message.user")).to_have_count(2)
    for tab in (page, other):
        expect(_answer(tab, 1)).to_contain_text("t59")
        expect(_answer(tab, 1)).not_to_have_class("message assistant streaming")
    texts = [_answer(tab, 1).locator(".markdown").inner_text() for tab in (page, other)]
    assert texts[0] == texts[1]


def test_conversations_are_listed_by_date_renamed_searched_and_deleted(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    fake_openai.script(Reply(text="Noted."))
    _send(page, "Remember the zebra")
    expect(_answer(page)).to_contain_text("Noted.")
    item = page.locator(".conversation.active")
    expect(item).to_contain_text("Remember the zebra")
    expect(page.locator(".conversations h3").first).to_have_text("Today")
    page.once("dialog", lambda dialog: dialog.accept("Zebra facts"))
    item.locator(".rename").click()
    expect(item).to_contain_text("Zebra facts")
    page.fill("#search", "Zebra facts")
    expect(page.locator(".conversation")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".conversation .delete").click()
    expect(page.locator(".conversation")).to_have_count(0)
    expect(page.locator("#empty")).to_be_visible()


def test_the_sidebar_pages_through_many_conversations(page: Page) -> None:
    created = page.evaluate(
        """async () => {
            const token = document.querySelector("meta[name=csrf-token]").content;
            for (let i = 0; i < 32; i++) {
                await fetch("/api/conversations", {method: "POST", body: JSON.stringify(
                    {title: `Paged ${i}`}), headers: {"Content-Type": "application/json",
                    "X-CSRFToken": token}});
            }
            return 32;
        }"""
    )
    assert created == 32
    page.reload()
    page.wait_for_selector("body[data-ready]")
    expect(page.locator(".conversation")).to_have_count(30)
    expect(page.locator(".conversation").first).to_contain_text("Paged 31")
    page.click("#more")
    expect(page.locator(".conversation-link", has_text="Paged 0")).to_have_count(1)
