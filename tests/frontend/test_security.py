"""The backend-for-frontend's promises: no token in the browser, CSRF, CSP, safe output."""

from __future__ import annotations

import contextlib
import re

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect
from playwright.sync_api import Error as PlaywrightError

from tests.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.frontend.conftest import Stack, log_in

# Our access and refresh tokens are JWTs; API keys start with sk-.
SECRET = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}|sk-asst-\w+")


def test_no_token_reaches_the_page_its_storage_or_any_response(
    context: BrowserContext, stack: Stack, fake_openai: FakeOpenAI
) -> None:
    tokens = httpx.post(
        f"{stack.orchestrator_url}/api/v1/auth/token",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    ).json()
    assert SECRET.fullmatch(tokens["access_token"]) and SECRET.search(tokens["refresh_token"])
    bodies: list[str] = []

    def keep(response: Response) -> None:
        if response.url.startswith(context.pages[0].url.split("/", 3)[0]) and response.ok:
            with contextlib.suppress(PlaywrightError):  # redirects have no body
                bodies.append(response.text())

    page = context.new_page()
    page.on("response", keep)
    log_in(page)
    fake_openai.script(Reply(text="A short answer."))
    page.fill("#prompt", "Hello")
    page.keyboard.press("Enter")
    expect(page.locator(".message.assistant")).to_contain_text("A short answer.")
    page.reload()
    page.wait_for_selector("body[data-ready]")
    seen = page.evaluate(
        """() => JSON.stringify({
            cookie: document.cookie,
            local: Object.entries(localStorage),
            session: Object.entries(sessionStorage),
            html: document.documentElement.outerHTML,
        })"""
    )
    assert not SECRET.search(seen), seen
    assert '"cookie":""' in seen  # the only cookie is httpOnly
    assert len(bodies) > 10
    for body in bodies:
        assert not SECRET.search(body), body[:500]
    (cookie,) = context.cookies()
    assert cookie["name"] == "assistant_session"
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert not SECRET.search(cookie["value"])


def test_a_state_change_without_the_csrf_token_is_refused(page: Page) -> None:
    listing = "(await (await fetch('/api/conversations')).json())"
    ids = f"async () => {listing}.items.map(i => i.id).join()"
    before = page.evaluate(ids)
    answer = page.evaluate(
        """async () => {
            const response = await fetch("/api/conversations", {
                method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"});
            return {status: response.status, body: await response.json()};
        }"""
    )
    assert answer["status"] == 400
    assert answer["body"]["error"]["type"] == "csrf"
    assert page.evaluate(ids) == before  # nothing was created


def test_a_live_connection_needs_the_page_csrf_token(page: Page) -> None:
    vendor = page.locator("script[type=module]").first.get_attribute("src")
    assert vendor is not None
    library = vendor.replace("js/app.js", "vendor/socket.io.esm.min.js")
    outcome = page.evaluate(
        """async ([library, token]) => {
            const { io } = await import(library);
            const attempt = (auth) => new Promise((resolve) => {
                const socket = io({ auth, transports: ["websocket"], reconnection: false,
                                    forceNew: true });
                socket.on("connect", () => { socket.close(); resolve("connected"); });
                socket.on("connect_error", () => resolve("refused"));
            });
            return [await attempt({}), await attempt({ csrf: "forged" }),
                    await attempt({ csrf: token })];
        }""",
        [library, page.locator("meta[name=csrf-token]").get_attribute("content")],
    )
    assert outcome == ["refused", "refused", "connected"]


def test_pages_have_a_strict_policy_and_static_files_are_fingerprinted_cached_and_gzipped(
    stack: Stack,
) -> None:
    with httpx.Client(base_url=stack.url) as client:
        login = client.get("/login")
        policy = login.headers["content-security-policy"]
        for directive in (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "frame-ancestors 'none'",
        ):
            assert directive in policy
        assert "unsafe-inline" not in policy and "http" not in policy
        assert login.headers["x-frame-options"] == "DENY"
        assets = re.findall(r'(?:href|src)="(/assets/[0-9a-f]{16}/[^"]+)"', login.text)
        assert any(path.endswith("css/app.css") for path in assets)
        assert "<script>" not in login.text and "style=" not in login.text
        css = client.get(assets[1], headers={"accept-encoding": "gzip"})
        assert css.status_code == 200
        assert css.headers["content-encoding"] == "gzip"
        assert "immutable" in css.headers["cache-control"]
        assert "max-age=31536000" in css.headers["cache-control"]
        page = client.get("/login", headers={"accept-encoding": "gzip"})
        assert page.headers.get("content-encoding") == "gzip"
        for library in ("socket.io.esm.min.js", "marked.esm.js", "purify.es.js"):
            path = assets[0].rsplit("/", 2)[0] + f"/vendor/{library}"
            served = client.get(path)
            assert served.status_code == 200, path
            assert "javascript" in served.headers["content-type"]


def test_model_output_that_carries_markup_runs_no_script(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    fake_openai.script(
        Reply(
            chunks=[
                'Look: <img src="x" onerror="document.title=\'pwned\'"> ',
                "<script>alert('script')</script>",
                "<svg onload=\"alert('svg')\"></svg> ",
                "[click](javascript:alert('link')) done",
            ]
        )
    )
    page.fill("#prompt", "Be evil")
    page.keyboard.press("Enter")
    answer = page.locator(".message.assistant").last
    expect(answer).to_contain_text("done")
    expect(answer).not_to_have_class("message assistant streaming")
    answer.locator("a", has_text="click").click()
    assert page.title() != "pwned"
    assert dialogs == []
    assert answer.locator("script, [onerror], [onload]").count() == 0


def test_login_refuses_a_wrong_password_and_never_redirects_off_site(
    browser: Browser, stack: Stack
) -> None:
    context = browser.new_context(base_url=stack.url)
    page = context.new_page()
    page.goto("/login")
    page.fill("#email", ADMIN_EMAIL)
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    expect(page.locator(".alert")).to_have_text("Wrong email or password.")
    page.goto("/login?next=//evil.example/")
    page.fill("#email", ADMIN_EMAIL)
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready]")
    assert page.url == f"{stack.url}/"
    context.close()


def test_logging_out_ends_the_session_on_the_server(page: Page, stack: Stack) -> None:
    (cookie,) = page.context.cookies()
    page.click("#logout")
    page.wait_for_selector("#email")
    with httpx.Client(base_url=stack.url) as client:
        stale = client.get(
            "/api/conversations", headers={"cookie": f"assistant_session={cookie['value']}"}
        )
    assert stale.status_code == 401
