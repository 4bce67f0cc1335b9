"""Template syntax and markup in what a user types show literally in the browser.

Titles and messages reach the page through the front end (Jinja pages, JSON calls,
the live relay): `{{...}}`, `{%...%}` and `${...}` must not be evaluated on the way, and
markup must stay text.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.fakes.openai_server import FakeOpenAI, Reply

HOSTILE = "{{7*7}} {% if true %}yes{% endif %} ${HOME} $(id) {0.__class__} <b>bold</b>"
TITLE = (
    "{{ config }} {{ cycler.__init__.__globals__.os.environ }} "
    "<img src=x onerror=\"document.title='pwned'\">"
)


def test_titles_and_messages_with_template_syntax_and_markup_show_literally(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    dialogs: list[str] = []
    fake_openai.script(Reply(text="Noted."))
    page.fill("#prompt", HOSTILE)
    page.keyboard.press("Enter")
    expect(page.locator(".message.assistant").last).to_contain_text("Noted.")
    expect(page.locator(".message.user").last).to_have_text(HOSTILE)
    item = page.locator(".conversation.active")
    expect(item).to_contain_text(HOSTILE[:40])
    page.once("dialog", lambda dialog: dialog.accept(TITLE))
    item.locator(".rename").click()
    expect(item).to_contain_text(TITLE)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.reload()
    page.wait_for_selector("body[data-ready]")
    item = page.locator(".conversation", has_text="{{ config }}")
    expect(item).to_contain_text(TITLE)
    item.click()
    expect(page.locator("#title")).to_have_text(TITLE)
    expect(page.locator(".message.user").last).to_have_text(HOSTILE)
    assert page.locator(".conversations img, #title img, .message.user b").count() == 0
    assert page.title() != "pwned" and dialogs == []
