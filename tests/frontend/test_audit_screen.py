"""Admin > Audit log in a real browser: a chat's tool call and its approval are listed,
filters narrow the list, and the download is the filtered records as JSON lines."""

from __future__ import annotations

import json
import shutil
import uuid

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.api.conftest import ADMIN_EMAIL
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.frontend.conftest import Stack, log_in, screenshot
from tests.frontend.test_settings_screens import _admin_headers


def _chat_with_an_approved_tool_call(page: Page, fake_openai: FakeOpenAI, name: str) -> None:
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__delete", json.dumps({"x": name}))]),
        Reply(text=f"I deleted {name}."),
    )
    page.fill("#prompt", f"Delete {name}")
    page.keyboard.press("Enter")
    card = page.locator(".tool-card")
    card.locator("button.approve").click()
    expect(card.locator(".tool-state")).to_have_text("Done")


def test_an_admin_reads_filters_and_downloads_the_audit_log(
    page: Page, stack: Stack, fake_openai: FakeOpenAI
) -> None:
    name = f"{uuid.uuid4().hex[:6]}.txt"
    wrong = httpx.post(
        f"{stack.orchestrator_url}/api/v1/auth/token",
        json={"email": ADMIN_EMAIL, "password": "not the password"},
    )
    assert wrong.status_code == 401
    _chat_with_an_approved_tool_call(page, fake_openai, name)
    page.goto("/admin/audit")
    rows = page.locator("#audit tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("#audit")).to_contain_text("tool.call")
    expect(page.locator("#audit")).to_contain_text("tool.approve")
    expect(page.locator("#audit")).to_contain_text("auth.login")
    call = rows.filter(has_text="tool.call").first
    expect(call).to_contain_text("decision: approved")
    expect(call).to_contain_text(ADMIN_EMAIL)
    expect(call).to_contain_text("127.0.0.1")
    failed = rows.filter(has_text="auth.login").filter(has_text="failure").first
    expect(failed).to_contain_text("reason: bad_credentials")
    path = screenshot(page, "admin-audit")
    shutil.copy(path, "/tmp/audit-page.png")

    page.get_by_label("Action").fill("tool.")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit")).not_to_contain_text("auth.login")
    actions = page.locator("#audit td code:not(.audit-trace)").all_inner_texts()
    assert actions and all(action.startswith("tool.") for action in actions)

    href = page.get_by_role("link", name="Download JSON lines").get_attribute("href") or ""
    assert "action=tool." in href
    download = page.request.get(href)
    assert download.status == 200
    assert "attachment" in download.headers["content-disposition"]
    records = [json.loads(line) for line in download.text().splitlines()]
    assert records and {r["action"][:5] for r in records} == {"tool."}
    assert any(
        r["action"] == "tool.call" and r["detail"]["decision"] == "approved" for r in records
    )


def test_a_non_admin_cannot_open_the_audit_log(browser: Browser, stack: Stack) -> None:
    context = browser.new_context(base_url=stack.url)
    try:
        page = context.new_page()
        email = f"user-{uuid.uuid4().hex[:8]}@test.example"
        made = httpx.post(
            f"{stack.orchestrator_url}/api/v1/users",
            json={"email": email, "password": "first-password-1"},
            headers=_admin_headers(stack.orchestrator_url),
        )
        assert made.status_code == 201
        log_in(page, email, "first-password-1")
        response = page.goto("/admin/audit")
        assert response is not None and response.status == 403
        for path in ("/api/admin/audit", "/admin/audit/export.jsonl"):
            refused = page.request.get(path)
            assert refused.status == 403
    finally:
        context.close()
