"""OAuth 2.1 for remote servers that require it: the hub as a proper OAuth client.

The SDK's `OAuthClientProvider` does the protocol: protected resource metadata
discovery (RFC 9728), authorization server metadata with the issuer check, client ID
metadata documents or dynamic registration, PKCE S256, the `resource` parameter
(RFC 8707), the `iss` check (RFC 9207), refresh, and step-up on `insufficient_scope`.
This module supplies what is ours:

- storage: tokens and the client registration, per user and server, sealed by the
  `Vault` and bound to the server's URL, so a token is only ever sent to the server it
  was obtained for;
- the user's part: an authorization begins when the user asks for it (`authorize`),
  which returns the URL to open; the authorization server redirects the browser to our
  callback, which hands the code to the waiting flow (`complete`). A connection that
  needs authorization while nobody is asking stops in the `auth_required` state instead
  of waiting for a user who is not there.
- binding the answer to the browser that asked: each authorization gets a random nonce
  that the API hands to the user's browser as a cookie (`cookie_name`) when they start
  it; the callback completes only with that cookie (compared in constant time). A link
  to the authorization server, sent to someone else, would otherwise let the victim's
  code land in the sender's account (login CSRF): their callback has no cookie.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import anyio
import httpx2
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl, ValidationError

from orchestrator.domain import Forbidden, NotFound, Unavailable
from orchestrator.mcp.client import (
    AuthorizationRequired,
    ConnectionState,
    ServerConnection,
    connecting_call,
    current_call,
)
from orchestrator.mcp.config import ServerConfig
from orchestrator.mcp.governance.hub_store import HubStore
from orchestrator.mcp.governance.vault import Vault, credential_binding

__all__ = [
    "COOKIE_SECONDS",
    "AuthorizationStart",
    "CredentialStorage",
    "MemoryTokenStorage",
    "OAuthBroker",
    "cookie_name",
    "oauth_provider",
]

logger = logging.getLogger(__name__)

_AUTHORIZATION_WAIT = 600.0
COOKIE_SECONDS = int(_AUTHORIZATION_WAIT)
_FAILED = (ConnectionState.RECONNECTING, ConnectionState.CIRCUIT_OPEN)


def cookie_name(state: str, *, secure: bool) -> str:
    """The cookie that binds the authorization `state` to the browser that started it.

    One per authorization (several may be under way in one browser). `__Host-` (Secure,
    Path=/, no Domain: no subdomain can set or read it) when the callback is https; on a
    plain-http callback (a local run) browsers would drop a Secure cookie, so the same
    name without the prefix, and without Secure, is used there.
    """
    digest = hashlib.sha256(state.encode()).hexdigest()[:16]
    return f"{'__Host-' if secure else ''}mcp-oauth-{digest}"


@dataclass(frozen=True)
class AuthorizationStart:
    """Where to send the user, and the nonce their browser must bring back."""

    url: str
    state: str
    nonce: str


class MemoryTokenStorage:
    """Tokens for one connection, kept in memory (the conformance client)."""

    def __init__(self, client_info: OAuthClientInformationFull | None = None) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info = client_info

    async def get_tokens(self) -> OAuthToken | None:
        """The tokens obtained so far, if any."""
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        """Keep the tokens for the rest of the connection."""
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        """The client registration, if there is one yet."""
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        """Keep the client registration."""
        self.client_info = client_info


def preregistered(config: ServerConfig, redirect_url: str) -> OAuthClientInformationFull | None:
    """The client registration configured for the server, if any."""
    auth = config.auth
    if auth is None or not auth.client_id:
        return None
    secret = auth.client_secret.get_secret_value() if auth.client_secret else None
    return OAuthClientInformationFull(
        client_id=auth.client_id,
        client_secret=secret,
        redirect_uris=[AnyUrl(redirect_url)],
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
    )


class CredentialStorage:
    """The SDK's `TokenStorage` for one user and server, sealed in the hub store."""

    def __init__(
        self, store: HubStore, vault: Vault, user_id: str, config: ServerConfig, redirect_url: str
    ) -> None:
        self._store = store
        self._vault = vault
        self._user_id = user_id
        self._key = config.key
        self._url = config.resolved_url()
        self._preregistered = preregistered(config, redirect_url)

    async def _load(self) -> dict[str, Any]:
        sealed = await self._store.load_credentials(self._user_id, self._key)
        data = await self._vault.open(sealed, credential_binding(self._user_id, self._key))
        if data is None or data.get("url") != self._url:
            return {}
        return data

    async def _save(self, **changes: Any) -> None:
        data = await self._load()
        data.update(changes, url=self._url)
        sealed = await self._vault.seal(data, credential_binding(self._user_id, self._key))
        await self._store.save_credentials(self._user_id, self._key, sealed)

    async def get_tokens(self) -> OAuthToken | None:
        """The user's tokens for this server, if any (none once its URL changed)."""
        raw = (await self._load()).get("tokens")
        try:
            return OAuthToken.model_validate(raw) if raw else None
        except ValidationError:
            return None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        """Seal and store the user's new tokens."""
        await self._save(tokens=tokens.model_dump(mode="json", exclude_none=True))

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        """The stored client registration, else the configured one."""
        raw = (await self._load()).get("client_info")
        if raw:
            try:
                return OAuthClientInformationFull.model_validate(raw)
            except ValidationError:
                return None
        return self._preregistered

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        """Seal and store the client registration."""
        await self._save(client_info=client_info.model_dump(mode="json", exclude_none=True))


def oauth_provider(
    server_url: str,
    storage: TokenStorage,
    *,
    redirect_url: str,
    redirect_handler: Callable[[str], Awaitable[None]],
    callback_handler: Callable[[], Awaitable[AuthorizationCodeResult]],
    scopes: list[str] | None = None,
    client_metadata_url: str | None = None,
    client_name: str = "assistant",
) -> OAuthClientProvider:
    """The SDK's OAuth client for one server: metadata discovery, PKCE, refresh, step-up.

    `redirect_handler` gets the URL to send the user to; `callback_handler` waits for the
    code the authorization server sends back.
    """
    metadata = OAuthClientMetadata(
        client_name=client_name,
        redirect_uris=[AnyUrl(redirect_url)],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        scope=" ".join(scopes) if scopes else None,
    )
    return OAuthClientProvider(
        server_url=server_url,
        client_metadata=metadata,
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=client_metadata_url,
    )


@dataclass(eq=False)
class _Waiting:
    """A user waiting for the URL to open, or a flow waiting for the user's code."""

    event: anyio.Event = field(default_factory=anyio.Event)
    url: str | None = None
    result: AuthorizationCodeResult | None = None
    user_id: str = ""
    server: str = ""
    state: str = ""
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(32))


async def _first(*events: anyio.Event) -> None:
    """Wait until one of the events is set."""
    async with anyio.create_task_group() as group:

        async def wait(event: anyio.Event) -> None:
            await event.wait()
            group.cancel_scope.cancel()

        for event in events:
            group.start_soon(wait, event)


class OAuthBroker:
    """Authorizations between the hub, its users and their authorization servers."""

    def __init__(self, store: HubStore, vault: Vault | None, *, redirect_url: str) -> None:
        self._store = store
        self._vault = vault
        self.redirect_url = redirect_url
        self._asking: dict[tuple[str, str], _Waiting] = {}
        self._by_state: dict[str, _Waiting] = {}

    def provider(self, config: ServerConfig, user_id: str) -> httpx2.Auth:
        """The OAuth client of `user_id`'s own connection to the server.

        An authorization it needs is shown to the user only when they asked for one
        (`expect`); otherwise the connection stops in `auth_required`.
        """
        assert self._vault is not None, "OAuth servers need a vault for their tokens"
        auth = config.auth
        key = (config.key, user_id)
        state: dict[str, str] = {}

        async def redirect(url: str) -> None:
            asking = self._asking.pop(key, None)
            if asking is None:
                raise AuthorizationRequired(url)
            found = parse_qs(urlparse(url).query).get("state") or [""]
            state["value"] = found[0]
            self._by_state[found[0]] = _Waiting(
                user_id=user_id, server=config.name, state=found[0], nonce=asking.nonce
            )
            asking.url = url
            asking.state = found[0]
            asking.event.set()

        async def callback() -> AuthorizationCodeResult:
            waiting = self._by_state.get(state.get("value", ""))
            if waiting is None:
                raise AuthorizationRequired()
            call = current_call.get() or connecting_call.get()
            pause = call.waiting_on_user() if call is not None else contextlib.nullcontext()
            try:
                with pause, anyio.move_on_after(_AUTHORIZATION_WAIT):
                    await waiting.event.wait()
            finally:
                self._by_state.pop(state.get("value", ""), None)
            if waiting.result is None:
                raise AuthorizationRequired()
            return waiting.result

        return oauth_provider(
            config.resolved_url(),
            CredentialStorage(self._store, self._vault, user_id, config, self.redirect_url),
            redirect_url=self.redirect_url,
            redirect_handler=redirect,
            callback_handler=callback,
            scopes=auth.scopes if auth else None,
            client_metadata_url=auth.client_metadata_url if auth else None,
        )

    async def has_credentials(self, user_id: str, config: ServerConfig) -> bool:
        """Whether the user has stored credentials for the server (valid or not)."""
        return (await self._store.load_credentials(user_id, config.key)) is not None

    def expect(self, config: ServerConfig, user_id: str) -> _Waiting:
        """Say that `user_id` is about to authorize: the next flow shows them its URL."""
        asking = _Waiting(user_id=user_id, server=config.name)
        self._asking[config.key, user_id] = asking
        return asking

    @property
    def secure_cookies(self) -> bool:
        """Whether the callback is https, so that the binding cookie can be `__Host-`."""
        return self.redirect_url.lower().startswith("https://")

    async def authorization_url(
        self, asking: _Waiting, connection: ServerConnection, *, wait: float = 30.0
    ) -> AuthorizationStart | None:
        """The URL to open in the browser and the nonce to bind it to.

        None when the connection is ready (the stored tokens still work).

        Raises:
            Unavailable: the server did not start an authorization within `wait` seconds.
        """
        key = (connection.config.key, asking.user_id)
        try:
            with anyio.move_on_after(wait):
                while not asking.event.is_set():
                    if connection.state is ConnectionState.READY:
                        return None
                    if connection.state in _FAILED:
                        break  # the attempt failed before it asked for an authorization
                    await _first(asking.event, connection.state_changed())
        finally:
            self._asking.pop(key, None)
        if asking.url is None:
            reason = connection.breaker.last_error or "it did not ask for an authorization"
            raise Unavailable(f"Cannot authorize {connection.config.name}: {reason}.")
        return AuthorizationStart(asking.url, asking.state, asking.nonce)

    def _waiting_for(self, state: str, nonce: str | None) -> _Waiting:
        waiting = self._by_state.get(state)
        if waiting is None or waiting.event.is_set():
            raise NotFound("No authorization is waiting for this answer; start it again.")
        if not nonce or not hmac.compare_digest(nonce.encode(), waiting.nonce.encode()):
            logger.warning(
                "MCP OAuth: a callback for %s came without its browser's cookie", waiting.server
            )
            raise Forbidden(
                "This authorization was started in another browser or by another user. "
                "Start it again from your own session."
            )
        return waiting

    def complete(
        self, state: str, code: str, iss: str | None, nonce: str | None
    ) -> tuple[str, str]:
        """Hand the authorization server's answer to the flow waiting for it.

        Only if `nonce` is the one given to the browser that started it.

        Returns the (user id, server name) it was for.

        Raises:
            NotFound: no authorization is waiting for this `state`.
            Forbidden: the nonce is missing or not this authorization's.
        """
        waiting = self._waiting_for(state, nonce)
        waiting.result = AuthorizationCodeResult(code=code, state=state, iss=iss)
        waiting.event.set()
        return waiting.user_id, waiting.server

    def fail(self, state: str, nonce: str | None) -> None:
        """The authorization server answered with an error: stop the flow waiting.

        Raises:
            NotFound: no authorization is waiting for this `state`.
            Forbidden: the nonce is missing or not this authorization's.
        """
        self._waiting_for(state, nonce).event.set()

    async def forget(self, user_id: str, config: ServerConfig) -> None:
        """Delete the user's credentials for the server."""
        await self._store.delete_credentials(user_id, config.key)
