"""Admin > Groups in a real browser: a group made, a member added, its models and a deny
rule set, each checked against the orchestrator's API; a refused change keeps what was
typed; the Users screen shows the groups and who must change their password; the sidebar
shows a display name when there is one."""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
from playwright.sync_api import Browser, Page, expect

from tests.frontend.conftest import Stack, log_in, screenshot
from tests.frontend.test_settings_screens import MODEL, _admin_headers, _context, _new_user


def _api(stack: Stack, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = _admin_headers(stack.orchestrator_url)
    return httpx.request(
        method, f"{stack.orchestrator_url}/api/v1{path}", headers=headers, **kwargs
    )


def _group(stack: Stack, name: str) -> dict[str, Any]:
    response = _api(stack, "GET", "/groups")
    assert response.status_code == 200, response.text
    found = [group for group in response.json()["items"] if group["name"] == name]
    assert len(found) == 1, found
    return found[0]


SCROLL = """(body, target) => {
    const top = target === null ? 0 : target === "" ? body.scrollHeight
        : body.scrollTop + document.querySelector(target).getBoundingClientRect().top
          - body.getBoundingClientRect().top;
    body.scrollTo(0, top);
}"""


def _shots(page: Page, name: str) -> None:
    """The list, then the editor's lower half, in light and dark (kept in /tmp too)."""
    body = page.locator(".settings-body")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
        expect(page.locator("html")).to_have_attribute("data-theme", scheme)
        suffix = "" if scheme == "light" else "-dark"
        for part, target in (("screen", None), ("members", "#details-form"), ("editor", "")):
            body.evaluate(SCROLL, target)
            path = screenshot(page, f"{name}-{part}-{scheme}")
            shutil.copy(path, f"/tmp/groups-{part}{suffix}.png")
    page.emulate_media(color_scheme="light")


def test_an_admin_builds_a_group_and_the_api_agrees(page: Page, stack: Stack) -> None:
    member = _new_user(stack.orchestrator_url)
    name = f"Eng {uuid.uuid4().hex[:6]}"
    page.goto("/admin/groups")
    page.get_by_label("Name", exact=True).first.fill(name)
    page.get_by_label("Description").first.fill("Builds the product")
    page.get_by_role("button", name="Add group").click()
    editor = page.locator("#group-editor")
    expect(editor).to_be_visible()
    expect(page.locator("#editor-heading")).to_have_text(f"Group: {name}")
    row = page.locator("#groups tr", has_text=name)
    expect(row).to_contain_text("Builds the product")
    expect(row).to_contain_text("Any model")

    # A member, picked by email from the users list.
    page.get_by_label("Add a member by email").fill(member)
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("#members")).to_contain_text(member)
    expect(row.locator("td").nth(1)).to_have_text("1")

    # Models: the one on offer and one typed in.
    page.get_by_label("Only the models checked below").check()
    page.get_by_label(MODEL, exact=True).check()
    page.get_by_label("Another model").fill("other-model")
    page.get_by_role("button", name="Add to list").click()
    expect(page.get_by_label("other-model", exact=True)).to_be_checked()
    page.get_by_role("button", name="Save models").click()
    expect(row).to_contain_text(f"{MODEL}, other-model")

    # A deny rule on a tool the tools list offers.
    page.get_by_label("Server", exact=True).fill("files")
    page.get_by_label("Tool", exact=True).fill("delete")
    page.get_by_label("Rule", exact=True).select_option("deny")
    page.get_by_role("button", name="Add rule").click()
    rule = page.locator("#rules tr[data-rule='files/delete']")
    expect(rule).to_contain_text("Deny")
    expect(row).to_contain_text("1 denied")
    _shots(page, "admin-groups")

    group = _group(stack, name)
    assert group["description"] == "Builds the product"
    assert [m["email"] for m in group["members"]] == [member]
    assert group["models"] == [MODEL, "other-model"]
    assert group["policies"] == [{"server": "files", "tool": "delete", "policy": "deny"}]

    # A refused rename: the API's message is shown and the typed name stays.
    other = f"Ops {uuid.uuid4().hex[:6]}"
    assert _api(stack, "POST", "/groups", json={"name": other}).status_code == 201
    page.get_by_label("Name", exact=True).nth(1).fill(other)
    page.get_by_role("button", name="Save name and description").click()
    expect(page.locator("#editor-error")).to_be_visible()
    expect(page.locator("#editor-error")).not_to_be_empty()
    expect(page.get_by_label("Name", exact=True).nth(1)).to_have_value(other)
    assert _group(stack, name)["name"] == name

    # The Users screen lists the group, and who must change their password.
    users = _api(stack, "GET", "/users").json()["items"]
    member_id = next(u["id"] for u in users if u["email"] == member)
    reset = _api(stack, "POST", f"/users/{member_id}/password-reset", json={})
    assert reset.status_code == 200, reset.text
    page.goto("/admin/users")
    user_row = page.locator("#users tr", has_text=member)
    expect(user_row.get_by_role("link", name=name)).to_be_visible()
    expect(user_row).to_contain_text("Must change password")
    user_row.get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(r"/admin/groups#"))
    expect(page.locator("#editor-heading")).to_have_text(f"Group: {name}")

    # Remove the rule and the member, then delete the group after confirming.
    rule = page.locator("#rules tr[data-rule='files/delete']")
    rule.get_by_role("button").click()
    expect(rule).to_have_count(0)
    page.get_by_role("button", name=f"Remove {member} from {name}").click()
    expect(page.locator("#members")).not_to_contain_text(member)
    group = _group(stack, name)
    assert group["policies"] == [] and group["members"] == []
    row.get_by_role("button", name=f"Delete {name}").click()
    expect(page.locator("#confirm")).to_be_visible()
    page.locator("#confirm-ok").click()
    expect(row).to_have_count(0)
    expect(page.locator("#group-editor")).to_be_hidden()
    names = {g["name"] for g in _api(stack, "GET", "/groups").json()["items"]}
    assert name not in names and other in names


def test_a_refused_new_group_keeps_the_form(page: Page, stack: Stack) -> None:
    name = f"Taken {uuid.uuid4().hex[:6]}"
    assert _api(stack, "POST", "/groups", json={"name": name}).status_code == 201
    page.goto("/admin/groups")
    page.get_by_label("Name", exact=True).first.fill(name)
    page.get_by_label("Description").first.fill("kept")
    page.get_by_role("button", name="Add group").click()
    expect(page.locator("#groups-error")).to_be_visible()
    expect(page.locator("#groups-error")).not_to_be_empty()
    expect(page.get_by_label("Name", exact=True).first).to_have_value(name)
    expect(page.get_by_label("Description").first).to_have_value("kept")
    assert [g["name"] for g in _api(stack, "GET", "/groups").json()["items"]].count(name) == 1


def _set_name(database_url: str, email: str, name: str) -> None:
    async def update() -> None:
        connection = await asyncpg.connect(
            database_url.replace("postgresql+asyncpg://", "postgresql://")
        )
        try:
            await connection.execute("UPDATE users SET name = $1 WHERE email = $2", name, email)
        finally:
            await connection.close()

    # Playwright keeps an event loop running in this thread: another thread runs this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, update()).result()


def test_the_sidebar_shows_the_display_name(
    browser: Browser, stack: Stack, database_url: str
) -> None:
    email = _new_user(stack.orchestrator_url)
    _set_name(database_url, email, "Ada Lovelace")
    context = _context(browser, stack.url)
    try:
        page = context.new_page()
        log_in(page, email, "first-password-1")
        expect(page.locator(".user-email")).to_have_text("Ada Lovelace")
        expect(page.locator(".avatar")).to_have_text("A")
        page.goto("/settings")
        expect(page.locator("#profile-name")).to_have_text("Ada Lovelace")
        expect(page.locator("#profile-email")).to_have_text(email)
    finally:
        context.close()


def test_a_non_admin_gets_no_groups_screen_and_changes_nothing(
    browser: Browser, stack: Stack
) -> None:
    email = _new_user(stack.orchestrator_url)
    target = _api(stack, "POST", "/groups", json={"name": f"Locked {uuid.uuid4().hex[:6]}"})
    assert target.status_code == 201
    group = target.json()
    context = _context(browser, stack.url)
    try:
        page = context.new_page()
        log_in(page, email, "first-password-1")
        page.goto("/settings")
        sections = page.get_by_role("navigation", name="Settings sections")
        expect(sections).not_to_contain_text("Groups")
        token = page.locator("meta[name=csrf-token]").get_attribute("content") or ""
        headers = {"X-CSRFToken": token}
        me = next(
            u["id"] for u in _api(stack, "GET", "/users").json()["items"] if u["email"] == email
        )
        attempts = [
            page.request.get("/api/admin/groups"),
            page.request.get("/api/admin/tools"),
            page.request.post(
                f"/api/admin/groups/{group['id']}/members", data={"user_id": me}, headers=headers
            ),
            page.request.patch(
                f"/api/admin/groups/{group['id']}", data={"models": None}, headers=headers
            ),
            page.request.delete(f"/api/admin/groups/{group['id']}", headers=headers),
        ]
        for response in attempts:
            assert response.status == 403
            assert response.json()["error"]["type"] == "forbidden"
        response = page.goto("/admin/groups")
        assert response is not None and response.status == 403
    finally:
        context.close()
    after = _api(stack, "GET", f"/groups/{group['id']}").json()
    assert after["members"] == [] and after["models"] is None
