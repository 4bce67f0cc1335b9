"""A 1,000-message conversation opens at its end, loads older turns as the user scrolls up
without moving what is on screen, and a new answer still streams at the bottom.

How fast it opens is measured by `make bench` (`benchmarks.frontend`), not here.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from benchmarks.long_chat import long_chat, store_messages_in_thread
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.frontend.conftest import screenshot

NEW_CONVERSATION = """async () => {
    const token = document.querySelector("meta[name=csrf-token]").content;
    const response = await fetch("/api/conversations", {method: "POST",
        body: JSON.stringify({title: "A long one"}),
        headers: {"Content-Type": "application/json", "X-CSRFToken": token}});
    return (await response.json()).id;
}"""

# The first message row on screen, and where it is.
ANCHOR = """() => {
    const top = document.getElementById("thread").getBoundingClientRect().top;
    const row = [...document.querySelectorAll(".message")].find(
        (node) => node.getBoundingClientRect().bottom > top + 1);
    return {text: row.textContent.slice(0, 60), top: row.getBoundingClientRect().top};
}"""


def test_a_thousand_message_conversation_opens_at_its_end_and_loads_older_turns_in_place(
    page: Page, database_url: str, fake_openai: FakeOpenAI
) -> None:
    conversation = page.evaluate(NEW_CONVERSATION)
    store_messages_in_thread(database_url, conversation, long_chat(1000))
    fetched: list[str] = []
    page.on(
        "request",
        lambda request: (
            fetched.append(request.url)
            if request.url.endswith(f"/api/conversations/{conversation}")
            else None
        ),
    )
    page.goto(f"/c/{conversation}")
    page.wait_for_selector("body[data-ready]")
    last = page.locator(".message.assistant").last
    expect(last).to_contain_text("Answer 249 ends here.")
    assert len(fetched) == 1  # preloaded with the page, and that response used by the script
    expect(last).to_be_in_viewport()
    expect(page.locator(".tool-card").last).to_contain_text("notes for step 249")
    drawn = page.locator(".message").count()
    assert drawn < 60, drawn  # 250 turns (500 rows): only the last ones are drawn
    screenshot(page, "long-conversation")

    # Scroll up a screen at a time: older turns arrive above, the row in view stays put.
    for _ in range(200):
        if page.locator(".message.user", has_text="Question 0").count():
            break
        before = page.evaluate(ANCHOR)
        rows = page.locator(".message").count()
        page.locator("#thread").evaluate("(node) => node.scrollBy(0, -node.clientHeight)")
        page.wait_for_function(
            "() => new Promise((done) => requestAnimationFrame(() => done(true)))"
        )
        if page.locator(".message").count() > rows:  # a batch came in: nothing jumped
            page.locator("#thread").evaluate("(node) => node.scrollBy(0, node.clientHeight)")
            after = page.evaluate(ANCHOR)
            assert after["text"] == before["text"]
            assert abs(after["top"] - before["top"]) <= 2, (before, after)
            page.locator("#thread").evaluate("(node) => node.scrollBy(0, -node.clientHeight)")
    expect(page.locator(".message.user").first).to_have_text("Question 0")
    assert page.locator(".message").count() == 500

    # The conversation goes on: a new answer streams in at the bottom.
    fake_openai.script(Reply(chunks=[f"n{i} " for i in range(30)], chunk_delay=0.01))
    page.fill("#prompt", "One more")
    page.keyboard.press("Enter")
    answer = page.locator(".message.assistant").last
    expect(answer).to_contain_text("n29")
    expect(answer).to_be_in_viewport()
