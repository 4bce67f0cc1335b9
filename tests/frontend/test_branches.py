"""Branches in a real browser: edit a question, regenerate an answer, the arrows between the
versions (kept across a reload), and the conversation downloaded as Markdown and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.frontend.conftest import screenshot


def _send(page: Page, text: str) -> None:
    page.fill("#prompt", text)
    page.keyboard.press("Enter")


def _question(page: Page, index: int = 0) -> Locator:
    return page.locator(".message.user").nth(index)


def _answer(page: Page, index: int = 0) -> Locator:
    return page.locator(".message.assistant").nth(index)


def _asked(fake: FakeOpenAI) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in fake.last_request["messages"][1:]]


def test_an_edited_question_gets_its_own_answer_and_the_arrows_go_back_across_a_reload(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    _send(page, "Plan a day in Rome")
    expect(_answer(page)).to_contain_text("You said: Plan a day in Rome")
    _send(page, "With museums")
    expect(_answer(page, 1)).to_contain_text("You said: With museums")

    second = _question(page, 1)
    second.hover()
    second.get_by_role("button", name="Edit this message").click()
    field = second.get_by_role("textbox", name="Edited message")
    expect(field).to_be_focused()
    expect(field).to_have_value("With museums")
    field.fill("With food markets")
    screenshot(page, "branches-editing")
    second.get_by_role("button", name="Save & send").click()

    expect(_answer(page, 1)).to_contain_text("You said: With food markets")
    assert _asked(fake_openai) == [
        ("user", "Plan a day in Rome"),
        ("assistant", "You said: Plan a day in Rome"),
        ("user", "With food markets"),
    ]
    edited = _question(page, 1)
    expect(edited.locator(".bubble")).to_have_text("With food markets")
    expect(edited.locator(".version-label")).to_have_text("2/2")
    expect(edited.get_by_role("button", name="Next version of this message")).to_be_disabled()
    expect(_question(page, 0).locator(".versions")).to_have_count(0)
    screenshot(page, "branches-light")
    page.click("#theme")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    screenshot(page, "branches-dark")
    page.click("#theme")

    edited.get_by_role("button", name="Previous version of this message").click()
    expect(_question(page, 1).locator(".bubble")).to_have_text("With museums")
    expect(_question(page, 1).locator(".version-label")).to_have_text("1/2")
    expect(_answer(page, 1)).to_contain_text("You said: With museums")
    # Switching keeps the keyboard where it was: on the arrows of the same message.
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "Next version of this message"

    page.reload()
    page.wait_for_selector("body[data-ready]")
    expect(_question(page, 1).locator(".bubble")).to_have_text("With museums")
    expect(_question(page, 1).locator(".version-label")).to_have_text("1/2")
    expect(page.locator(".message.assistant")).to_have_count(2)

    # The next message continues the branch on screen.
    _send(page, "And in the evening?")
    expect(_answer(page, 2)).to_contain_text("You said: And in the evening?")
    assert _asked(fake_openai)[2:] == [
        ("user", "With museums"),
        ("assistant", "You said: With museums"),
        ("user", "And in the evening?"),
    ]


def test_escape_cancels_an_edit_and_sends_nothing(page: Page, fake_openai: FakeOpenAI) -> None:
    _send(page, "Keep this as it is")
    expect(_answer(page)).to_contain_text("You said: Keep this as it is")
    asked = len(fake_openai.requests)
    question = _question(page)
    question.hover()
    question.get_by_role("button", name="Edit this message").click()
    question.get_by_role("textbox", name="Edited message").fill("Something else")
    page.keyboard.press("Escape")
    expect(question.locator("textarea")).to_have_count(0)
    expect(question.locator(".bubble")).to_have_text("Keep this as it is")
    expect(question.get_by_role("button", name="Edit this message")).to_be_focused()
    assert len(fake_openai.requests) == asked


def test_regenerate_adds_a_version_of_the_answer_reachable_by_keyboard(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    _send(page, "Name a colour")
    expect(_answer(page)).to_contain_text("You said: Name a colour")
    fake_openai.script(Reply(text="Teal, like the sea."))
    regenerate = _answer(page).get_by_role("button", name="Regenerate this answer")
    regenerate.focus()
    page.keyboard.press("Enter")
    expect(_answer(page)).to_contain_text("Teal, like the sea.")
    assert _asked(fake_openai) == [("user", "Name a colour")]
    expect(page.locator(".message.assistant")).to_have_count(1)
    expect(_answer(page).locator(".version-label")).to_have_text("2/2")
    page.set_viewport_size({"width": 390, "height": 760})
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    screenshot(page, "branches-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    previous = _answer(page).get_by_role("button", name="Previous version of this answer")
    previous.focus()
    page.keyboard.press("Enter")
    expect(_answer(page)).to_contain_text("You said: Name a colour")
    expect(_answer(page).locator(".version-label")).to_have_text("1/2")
    # "Previous" is disabled now: the keyboard is on "Next", and Enter goes back.
    expect(_answer(page).get_by_role("button", name="Next version of this answer")).to_be_focused()
    page.keyboard.press("Enter")
    expect(_answer(page)).to_contain_text("Teal, like the sea.")


def test_the_conversation_downloads_as_markdown_and_as_json(
    page: Page, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    _send(page, "Export me")
    expect(_answer(page)).to_contain_text("You said: Export me")
    expect(page.locator(".message.user .edit-message")).to_have_count(1)
    menu = page.locator("#export")
    expect(menu).to_be_visible()
    files = {}
    for label, suffix in [("Export as Markdown", ".md"), ("Export as JSON", ".json")]:
        page.get_by_label("Export the conversation").click()
        if suffix == ".md":
            screenshot(page, "branches-export-menu")
        with page.expect_download() as info:
            page.get_by_role("link", name=label).click()
        download = info.value
        assert download.suggested_filename.endswith(suffix)
        target = tmp_path / download.suggested_filename
        download.save_as(target)
        files[suffix] = target.read_text()
    assert files[".md"].startswith("# Export me")
    assert "You said: Export me" in files[".md"]
    exported = json.loads(files[".json"])
    assert exported["branch"] == "active"
    assert [m["role"] for m in exported["messages"]] == ["user", "assistant"]
    assert exported["messages"][1]["content"][0]["text"] == "You said: Export me"


def test_edit_regenerate_and_switch_without_the_csrf_token_are_refused(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    _send(page, "Leave this alone")
    expect(_answer(page)).to_contain_text("You said: Leave this alone")
    expect(page.locator(".message.user .edit-message")).to_have_count(1)
    conversation = page.url.rsplit("/", 1)[-1]
    detail = page.evaluate(f"async () => (await fetch('/api/conversations/{conversation}')).json()")
    question, answer = (m["id"] for m in detail["messages"])
    asked = len(fake_openai.requests)
    base = f"/api/conversations/{conversation}"
    for method, path, body in [
        ("POST", f"{base}/messages/{question}/edit", {"content": "Forged"}),
        ("POST", f"{base}/messages/{answer}/regenerate", {}),
        ("PUT", f"{base}/branch", {"message_id": question}),
    ]:
        refused = page.evaluate(
            """async ([method, path, body]) => {
                const response = await fetch(path, {
                    method, headers: {"Content-Type": "application/json"},
                    body: JSON.stringify(body)});
                return {status: response.status, body: await response.json()};
            }""",
            [method, path, body],
        )
        assert refused["status"] == 400, (method, path, refused)
        assert refused["body"]["error"]["type"] == "csrf"
    after = page.evaluate(f"async () => (await fetch('/api/conversations/{conversation}')).json()")
    assert after["messages"] == detail["messages"]
    assert len(fake_openai.requests) == asked


def test_another_tab_follows_the_version_chosen_in_this_one(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    _send(page, "Pick a number")
    expect(_answer(page)).to_contain_text("You said: Pick a number")
    fake_openai.script(Reply(text="Seven."))
    _answer(page).get_by_role("button", name="Regenerate this answer").click()
    expect(_answer(page)).to_contain_text("Seven.")
    other = page.context.new_page()
    other.goto(page.url)
    other.wait_for_selector("body[data-ready]")
    expect(_answer(other)).to_contain_text("Seven.")
    expect(_answer(other).locator(".version-label")).to_have_text("2/2")

    _answer(page).get_by_role("button", name="Previous version of this answer").click()
    expect(_answer(page)).to_contain_text("You said: Pick a number")
    expect(_answer(other)).to_contain_text("You said: Pick a number")
    expect(_answer(other).locator(".version-label")).to_have_text("1/2")
