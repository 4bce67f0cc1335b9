"""In a real browser: a key made with chosen scopes and an expiry, the sessions list, logging
out one browser, another, or everywhere."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Browser, expect

from tests.frontend.conftest import Stack, log_in, screenshot
from tests.frontend.test_settings_screens import FIRST_PASSWORD, _context, _me, _new_user


def test_a_key_gets_the_scopes_and_expiry_chosen_and_nothing_more(
    browser: Browser, stack: Stack
) -> None:
    email = _new_user(stack.orchestrator_url)
    context = _context(browser, stack.url)
    page = context.new_page()
    log_in(page, email, FIRST_PASSWORD)
    page.goto("/settings/keys")
    expect(page.get_by_label("Admin: the admin API")).to_have_count(0)  # not an admin
    page.get_by_label("Key name").fill("reader")
    page.get_by_label("Chat: start conversations and answer approvals").uncheck()
    page.get_by_label("Expires").select_option("7")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("You won't see it again.")).to_be_visible()
    key = page.get_by_label("New API key").input_value()
    row = page.locator("#keys tr", has_text="reader")
    expect(row).to_contain_text("read")
    expect(row).not_to_contain_text("chat")
    expect(row).to_contain_text("In 7 days")
    screenshot(page, "settings-keys-scopes")
    assert _me(stack.orchestrator_url, key).status_code == 200
    refused = httpx.post(
        f"{stack.orchestrator_url}/api/v1/conversations",
        json={},
        headers={"authorization": f"Bearer {key}"},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "This API key lacks the 'chat' scope."
    page.get_by_label("Read: your conversations, files and settings").uncheck()
    page.get_by_label("Key name").fill("nothing")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#keys-error")).to_have_text("Choose at least one thing the key may do.")
    context.close()


def test_a_user_logs_out_another_browser_this_one_and_everywhere(
    browser: Browser, stack: Stack
) -> None:
    email = _new_user(stack.orchestrator_url)
    laptop_context = _context(browser, stack.url)
    phone_context = _context(browser, stack.url)
    laptop, phone = laptop_context.new_page(), phone_context.new_page()
    log_in(laptop, email, FIRST_PASSWORD)
    log_in(phone, email, FIRST_PASSWORD)
    laptop.goto("/settings/sessions")
    rows = laptop.locator("#sessions tr")
    expect(rows).to_have_count(2)
    expect(laptop.locator("#sessions tr.current")).to_contain_text("This browser")
    expect(laptop.locator("#sessions tr.current")).to_contain_text("Chrome on Linux")
    screenshot(laptop, "settings-sessions")
    laptop.locator("#sessions tr:not(.current)").get_by_role("button").click()
    expect(rows).to_have_count(1)
    phone.reload()
    expect(phone).to_have_url(re.compile(r"/login"))

    # The log-out button ends this browser's session only.
    log_in(phone, email, FIRST_PASSWORD)
    phone.get_by_role("button", name="Log out").first.click()
    expect(phone).to_have_url(re.compile(r"/login"))
    laptop.reload()
    expect(rows).to_have_count(1)
    expect(laptop).to_have_url(re.compile(r"/settings/sessions"))

    # Everywhere: both browsers must log in again.
    log_in(phone, email, FIRST_PASSWORD)
    laptop.goto("/settings/sessions")
    expect(rows).to_have_count(2)
    laptop.get_by_role("button", name="Log out everywhere").click()
    laptop.get_by_role("dialog").get_by_role("button", name="Log out everywhere").click()
    expect(laptop).to_have_url(re.compile(r"/login"))
    phone.reload()
    expect(phone).to_have_url(re.compile(r"/login"))
    laptop_context.close()
    phone_context.close()


def test_an_admin_resets_with_a_generated_password_the_user_must_replace(
    browser: Browser, stack: Stack
) -> None:
    email = _new_user(stack.orchestrator_url)
    admin_context = _context(browser, stack.url)
    admin = admin_context.new_page()
    log_in(admin)
    admin.goto("/admin/users")
    row = admin.locator("#users tr", has_text=email)
    row.get_by_role("button", name=f"Reset password {email}").click()
    admin.get_by_role("dialog", name="Reset password").get_by_role(
        "button", name="Set password"
    ).click()
    expect(admin.get_by_text("You won't see it again.")).to_be_visible()
    expect(admin.locator("#new-password-email")).to_have_text(email)
    temporary = admin.get_by_label("Generated password").input_value()
    assert len(temporary) >= 12

    user_context = _context(browser, stack.url)
    user = user_context.new_page()
    user.goto("/login")
    user.fill("#email", email)
    user.fill("#password", temporary)
    user.click("button[type=submit]")
    expect(user).to_have_url(re.compile(r"/login/new-password"))
    user.get_by_label("New password", exact=True).fill("mine-at-last-42")
    user.get_by_label("New password again").fill("not the same")
    user.get_by_role("button", name="Set password and log in").click()
    expect(user.get_by_role("alert")).to_have_text("The two new passwords differ.")
    user.get_by_label("New password", exact=True).fill("mine-at-last-42")
    user.get_by_label("New password again").fill("mine-at-last-42")
    user.get_by_role("button", name="Set password and log in").click()
    user.wait_for_selector("body[data-ready]")
    assert user.request.get("/api/me").json()["email"] == email
    admin_context.close()
    user_context.close()
