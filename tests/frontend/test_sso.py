"""Single sign-on in the browser: the provider's button on the login screen, through the
provider's form, back to the chat signed in, with Chromium, a real front-end process, an
orchestrator configured for OIDC and the provider (oidc-provider-mock) as its own process.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr

from orchestrator.main import create_app
from orchestrator.settings import LoginSettings
from tests.api.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.fixtures.accounts import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.fixtures.oidc_provider import Provider, oidc_provider
from tests.fixtures.processes import free_port
from tests.fixtures.serving import ThreadServer
from tests.frontend.conftest import screenshot, start_frontend


@dataclass
class SSOStack:
    provider: Provider
    orchestrator: str
    url: str


@contextmanager
def sso_stack(
    database_url: str, openai_url: str, data_dir: Path, *, local_login: bool
) -> Iterator[SSOStack]:
    """A provider, an orchestrator logging in through it, and a front end before it."""
    port = free_port()
    with oidc_provider() as provider:
        login = LoginSettings(
            oidc_issuer=provider.url,
            oauth_client_id="assistant",
            oauth_client_secret=SecretStr("client-secret"),
            oidc_provider_name="Mock ID",
            oidc_redirect_url=f"http://127.0.0.1:{port}/api/v1/auth/oidc/callback",
            local_login=local_login,
        )
        settings = make_settings(database_url, data_dir / "orchestrator", openai_url, login=login)
        app = create_app(settings)
        with ThreadServer(app, port=port, lifespan="on", log_level="warning", timeout=60) as server:
            frontend = start_frontend(server.url, data_dir / "frontend")
            try:
                yield SSOStack(provider, server.url, frontend.url)
            finally:
                frontend.stop()


@pytest.fixture(scope="module")
def stack_with_sso(
    database_url: str, openai_fake: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SSOStack]:
    data_dir = tmp_path_factory.mktemp("sso")
    with sso_stack(database_url, openai_fake.url, data_dir, local_login=True) as stack:  # type: ignore[attr-defined]
        yield stack


def sign_in_at_provider(page: Page, sub: str) -> None:
    """The provider's own form: the subject to sign in as, then Authorize."""
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_signing_in_with_the_provider_ends_in_the_chat_as_a_new_user(
    browser: Browser, stack_with_sso: SSOStack
) -> None:
    stack = stack_with_sso
    sub, email = f"ada-{uuid.uuid4().hex[:6]}", f"ada-{uuid.uuid4().hex[:6]}@corp.example"
    stack.provider.set_user(sub, {"email": email, "email_verified": True, "name": "Ada Lovelace"})
    context = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()

    page.goto("/login")
    button = page.get_by_role("link", name="Sign in with Mock ID")
    expect(button).to_be_visible()
    expect(page.locator("#password")).to_be_visible()  # password login stays on
    shot = screenshot(page, "sso-login-page")
    shutil.copy(shot, "/tmp/oidc-login-page.png")
    button.click()
    expect(page).to_have_url(re.compile(re.escape(f"{stack.provider.url}/oauth2/authorize?")))
    screenshot(page, "sso-provider-form")
    sign_in_at_provider(page, sub)

    page.wait_for_selector("body[data-ready]")
    assert page.url.startswith(stack.url)
    assert "code=" not in page.url  # the handoff code does not stay in the address bar
    # The sidebar shows the provider's display name; the email stays in its title.
    expect(page.locator(".user-email")).to_have_text("Ada Lovelace")
    expect(page.locator(".user-email")).to_have_attribute("title", email)
    shot = screenshot(page, "sso-signed-in")
    shutil.copy(shot, "/tmp/oidc-login.png")
    # Signed in for real: the settings screen shows the account the provider made.
    page.goto("/settings")
    expect(page.locator("#profile-email")).to_have_text(email)
    context.close()


def test_a_refused_provider_login_shows_why_on_the_login_screen(
    browser: Browser, stack_with_sso: SSOStack
) -> None:
    stack = stack_with_sso
    email = f"bob-{uuid.uuid4().hex[:6]}@corp.example"
    with httpx.Client(base_url=stack.orchestrator) as client:
        # A local account with the email, made by the first admin through the API.
        token = client.post(
            "/api/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ).json()["access_token"]
        made = client.post(
            "/api/v1/users",
            json={"email": email, "password": "password-123"},
            headers={"authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text
    sub = f"mallory-{uuid.uuid4().hex[:6]}"
    stack.provider.set_user(sub, {"email": email, "email_verified": False})
    context = browser.new_context(base_url=stack.url)
    context.set_default_timeout(20_000)
    page = context.new_page()

    page.goto("/login")
    page.get_by_role("link", name="Sign in with Mock ID").click()
    sign_in_at_provider(page, sub)

    expect(page.get_by_role("alert")).to_contain_text("has not verified")
    assert "/login/sso/done" in page.url
    # The page says only its own words: text put into the address is never shown.
    page.goto("/login/sso/done?error=Call%20555-0100&error_description=Call%20555-0100")
    expect(page.get_by_role("alert")).to_have_text(
        "Signing in with Mock ID did not complete. Try again."
    )
    context.close()


def test_with_local_login_off_the_login_screen_offers_only_the_provider(
    browser: Browser, database_url: str, openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    with sso_stack(database_url, openai_fake.url, tmp_path, local_login=False) as stack:  # type: ignore[attr-defined]
        sub = f"eve-{uuid.uuid4().hex[:6]}"
        stack.provider.set_user(sub, {"email": f"{sub}@corp.example", "email_verified": True})
        context = browser.new_context(base_url=stack.url)
        context.set_default_timeout(20_000)
        page = context.new_page()

        page.goto("/login")
        expect(page.get_by_role("link", name="Sign in with Mock ID")).to_be_visible()
        expect(page.locator("#password")).to_have_count(0)
        screenshot(page, "sso-only-login-page")
        page.get_by_role("link", name="Sign in with Mock ID").click()
        sign_in_at_provider(page, sub)

        page.wait_for_selector("body[data-ready]")
        context.close()


def test_behind_a_proxy_the_login_goes_to_the_public_addresses(tmp_path: Path) -> None:
    frontend = start_frontend(
        f"http://127.0.0.1:{free_port()}",  # the internal address: never shown to browsers
        tmp_path,
        FRONTEND_URL="https://chat.example.com/",
        ORCHESTRATOR_PUBLIC_URL="https://assistant-api.example.com",
    )
    try:
        response = httpx.get(f"{frontend.url}/login/sso", params={"next": "/c/1"})
    finally:
        frontend.stop()

    assert response.status_code == 302
    target = urlsplit(response.headers["location"])
    assert (target.scheme, target.netloc, target.path) == (
        "https",
        "assistant-api.example.com",
        "/api/v1/auth/oidc/login",
    )
    query = parse_qs(target.query)
    assert query["return_to"] == ["https://chat.example.com/login/sso/done"]
    assert len(query["handoff_challenge"][0]) == 43  # base64url of a SHA-256 digest
