"""OpenID Connect login: authorization code with PKCE (S256), `state` and `nonce`, via authlib.

The provider is found by discovery (`OIDC_ISSUER` + `/.well-known/openid-configuration`);
the ID token is checked by authlib (signature against the provider's JWKS, `iss`, `aud`,
`exp`, `iat`, `nonce`, `at_hash`). A token signed with a key the cached JWKS does not hold
makes it fetch the JWKS again, once: a provider that rotated its keys keeps working.

What a login in progress must remember (`state`, `nonce`, the PKCE verifier, where to
return) travels in a cookie sealed with Fernet (AES plus HMAC, with a 10-minute lifetime),
under a key derived from the server's JWT secret. So any replica can finish a login another
replica started, nothing is written for abandoned logins, the verifier and nonce are never
readable by the browser, and the login is bound to the browser that started it (a callback
URL alone, sent to someone else, fails on `state`).

After a login that returns to a front end, the browser carries a handoff code, not tokens:
the code is a sealed refresh token (60 seconds) that the front end exchanges server to
server. A refresh token is spent once (and a reused one revokes its family), so a code
works once on any replica; the front end may bind the code to itself with a PKCE-style
challenge that the exchange must answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx2
from authlib.integrations.base_client import BaseApp, OAuthError
from authlib.integrations.base_client.async_app import AsyncOAuth2Mixin
from authlib.integrations.base_client.async_openid import AsyncOpenIDMixin
from authlib.integrations.httpx_client import AsyncOAuth2Client
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.errors import BadSignatureError, JoseError

from orchestrator.domain import Forbidden, InvalidInput, Unauthorized, UpstreamError

__all__ = [
    "PENDING_COOKIE",
    "AccountDisabled",
    "EmailNotVerified",
    "OIDCConfig",
    "OIDCProvider",
    "PendingLogin",
    "ProviderIdentity",
]

logger = logging.getLogger(__name__)

PENDING_COOKIE = "assistant_oidc"
"""The cookie that carries a login in progress (path `/api/v1/auth/oidc`)."""

_PENDING_SECONDS = 600
_HANDOFF_SECONDS = 60
_MAX_RETURN_TO = 2048
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43,128}")


class EmailNotVerified(Forbidden):
    """A local account has the provider's email, which the provider has not verified."""

    code = "email_not_verified"


class AccountDisabled(Forbidden):
    """The account the provider's identity belongs to is disabled."""

    code = "account_disabled"


@dataclass(frozen=True, slots=True)
class OIDCConfig:
    """One provider and how its users map onto accounts.

    `return_origins` are the origins a login may return to besides relative paths; None
    means any loopback http origin (a local run). `admin_value` None means the admin claim
    is `true`.
    """

    issuer: str
    client_id: str
    client_secret: str | None
    scopes: str
    provider_name: str
    redirect_url: str
    return_origins: tuple[str, ...] | None
    admin_claim: str | None = None
    admin_value: str | None = None
    groups_claim: str | None = None
    secure_cookie: bool = False
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """A login in progress, as sealed in the pending cookie."""

    state: str
    nonce: str
    code_verifier: str
    return_to: str | None = None
    handoff_challenge: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderIdentity:
    """Who the provider says signed in; `is_admin` and `groups` are None when not mapped."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    is_admin: bool | None
    groups: tuple[str, ...] | None


class _Client(AsyncOAuth2Mixin, AsyncOpenIDMixin, BaseApp):
    """authlib's OAuth 2 + OpenID client on httpx, without a web framework's session."""

    client_cls = AsyncOAuth2Client


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def _fernet(secret: str, purpose: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class OIDCProvider:
    """Starts and finishes logins at one provider; see the module."""

    def __init__(self, config: OIDCConfig, secret: str) -> None:
        self.config = config
        # One key per use, so that a pending cookie can never pass for a handoff code.
        self._pending = _fernet(secret, b"assistant oidc pending login")
        self._handoff = _fernet(secret, b"assistant oidc handoff code")
        self._client = _Client(
            framework=None,
            name="oidc",
            client_id=config.client_id,
            client_secret=config.client_secret,
            server_metadata_url=config.issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": config.scopes,
                "code_challenge_method": "S256",
                "timeout": config.timeout,
            },
        )

    # --- sealing ---------------------------------------------------------------------

    def seal(self, pending: PendingLogin) -> str:
        """The pending cookie's value for a login in progress."""
        # Without its base64 padding, the value needs no quoting in a cookie.
        return self._pending.encrypt(json.dumps(asdict(pending)).encode()).decode().rstrip("=")

    def _unseal(self, cookie: str | None) -> PendingLogin:
        if not cookie:
            raise Unauthorized(
                "No login in progress in this browser (or it took over 10 minutes); start again."
            )
        try:
            sealed = cookie.strip('"') + "=" * (-len(cookie.strip('"')) % 4)
            data = json.loads(self._pending.decrypt(sealed.encode(), ttl=_PENDING_SECONDS))
            return PendingLogin(**data)
        except (InvalidToken, ValueError, TypeError):
            raise Unauthorized(
                "The login in progress expired or is not valid; start again."
            ) from None

    def handoff_code(self, refresh_token: str, pending: PendingLogin) -> str:
        """A code for the front end: the refresh token sealed for 60 seconds."""
        body = {"refresh": refresh_token, "challenge": pending.handoff_challenge}
        return self._handoff.encrypt(json.dumps(body).encode()).decode()

    def open_handoff(self, code: str, verifier: str | None) -> str:
        """The refresh token in a handoff code, once the verifier answers its challenge.

        Raises:
            Unauthorized: the code is not valid, expired, or the verifier does not match.
        """
        try:
            body = json.loads(self._handoff.decrypt(code.encode(), ttl=_HANDOFF_SECONDS))
            refresh, challenge = str(body["refresh"]), body.get("challenge")
        except (InvalidToken, ValueError, TypeError, KeyError):
            raise Unauthorized("The login code is not valid or expired; log in again.") from None
        if challenge is not None and (
            verifier is None or not secrets.compare_digest(_s256(verifier), str(challenge))
        ):
            raise Unauthorized("The login code was issued to another client.")
        return refresh

    # --- the flow --------------------------------------------------------------------

    def check_return_to(self, return_to: str | None) -> str | None:
        """`return_to` if it is a relative path here or under an allowed front-end origin.

        Raises:
            InvalidInput: anything else (an open redirect otherwise).
        """
        if return_to is None or return_to == "":
            return None
        refused = InvalidInput(
            "return_to must be a path on this server or an address of the configured "
            "front end (FRONTEND_URL)."
        )
        if (
            len(return_to) > _MAX_RETURN_TO
            or "\\" in return_to
            or any(ord(c) < 0x20 for c in return_to)
        ):
            raise refused
        try:
            parts = urlsplit(return_to)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise refused from None
        if not parts.scheme and not parts.netloc:
            if not return_to.startswith("/") or return_to.startswith("//"):
                raise refused
            return return_to
        allowed = self.config.return_origins
        if parts.scheme not in ("http", "https") or parts.username or parts.password:
            raise refused
        if allowed is None:
            if not _loopback_http(return_to):
                raise refused
        elif _origin(return_to) not in {_origin(origin) for origin in allowed}:
            raise refused
        return return_to

    async def begin(self, return_to: str | None, handoff_challenge: str | None) -> tuple[str, str]:
        """The provider's authorization URL and the pending cookie's value.

        Raises:
            InvalidInput: a `return_to` that is not allowed, or a malformed challenge.
            UpstreamError: the provider's discovery document could not be read.
        """
        return_to = self.check_return_to(return_to)
        if handoff_challenge is not None and not _CHALLENGE.fullmatch(handoff_challenge):
            raise InvalidInput("handoff_challenge must be a base64url S256 digest.")
        try:
            created = await self._client.create_authorization_url(
                self.config.redirect_url, nonce=secrets.token_urlsafe(24)
            )
        except (httpx2.HTTPError, ValueError, KeyError, RuntimeError) as error:
            raise self._unreachable(error) from None
        pending = PendingLogin(
            state=created["state"],
            nonce=created["nonce"],
            code_verifier=created["code_verifier"],
            return_to=return_to,
            handoff_challenge=handoff_challenge,
        )
        return created["url"], self.seal(pending)

    def pending(self, cookie: str | None) -> PendingLogin | None:
        """The login in progress in the cookie, or None (for where to send an error)."""
        try:
            return self._unseal(cookie)
        except Unauthorized:
            return None

    async def finish(
        self, params: Mapping[str, str], cookie: str | None
    ) -> tuple[ProviderIdentity, PendingLogin]:
        """Who signed in, from the provider's redirect back (`code`, `state`, or `error`).

        Raises:
            Unauthorized: no or another login in progress (state), the provider refused,
                the code was already used, or the ID token is not valid (signature,
                issuer, audience, expiry, nonce).
            UpstreamError: the provider could not be reached.
        """
        pending = self._unseal(cookie)
        if "error" in params:
            # Checked before the state, which some providers leave out of an error: nothing
            # is signed in on this path, so an error without it does no harm.
            reason = params.get("error_description") or params["error"]
            raise Unauthorized(f"The provider did not sign you in: {reason[:200]}")
        state = params.get("state") or ""
        if not secrets.compare_digest(state.encode(), pending.state.encode()):
            raise Unauthorized("The login's state does not match this browser's; start again.")
        code = params.get("code")
        if not code:
            raise Unauthorized("The provider sent no authorization code.")
        try:
            token = await self._client.fetch_access_token(
                redirect_uri=self.config.redirect_url,
                code=code,
                code_verifier=pending.code_verifier,
            )
        except OAuthError as error:
            logger.info("OIDC token request refused: %s", error)
            raise Unauthorized(
                "The provider refused the authorization code (used already or expired); "
                "log in again."
            ) from None
        except (httpx2.HTTPError, ValueError) as error:
            raise self._unreachable(error) from None
        claims = await self._id_claims(token, pending.nonce)
        claims = await self._with_userinfo(token, claims)
        return self._identity(claims), pending

    async def _id_claims(self, token: dict[str, Any], nonce: str) -> dict[str, Any]:
        if "id_token" not in token:
            raise Unauthorized("The provider sent no ID token (is `openid` among the scopes?).")
        try:
            try:
                claims = await self._client.parse_id_token(token, nonce, leeway=60)
            except BadSignatureError:
                # A key that replaced one of the same id, or a JWKS cached before a
                # rotation: read the JWKS again, once (authlib does so itself for an
                # unknown `kid`).
                await self._client.fetch_jwk_set(force=True)
                claims = await self._client.parse_id_token(token, nonce, leeway=60)
        except JoseError as error:
            logger.warning("OIDC ID token refused: %s", error)
            raise Unauthorized(f"The provider's ID token is not valid ({error}).") from None
        except (httpx2.HTTPError, ValueError) as error:
            raise self._unreachable(error) from None
        if claims is None:
            raise Unauthorized("The provider sent no ID token.")
        metadata = await self._client.load_server_metadata()
        if str(metadata.get("issuer", "")).rstrip("/") != self.config.issuer.rstrip("/"):
            raise Unauthorized("The provider's discovery document names another issuer.")
        return dict(claims)

    async def _with_userinfo(self, token: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
        """The ID token's claims, completed from the userinfo endpoint when some are missing."""
        wanted = ["email", "name", self.config.groups_claim, self.config.admin_claim]
        if all(name is None or name in claims for name in wanted):
            return claims
        metadata = await self._client.load_server_metadata()
        if not metadata.get("userinfo_endpoint"):
            return claims
        try:
            info = dict(await self._client.userinfo(token=token))
        except (httpx2.HTTPError, OAuthError, ValueError) as error:
            logger.warning("OIDC userinfo unavailable: %s", error)
            return claims
        if info.get("sub") != claims.get("sub"):
            return claims  # a userinfo answer about someone else is ignored (OIDC core 5.3.2)
        return {**info, **claims}

    def _identity(self, claims: Mapping[str, Any]) -> ProviderIdentity:
        config = self.config
        email = claims.get("email")
        name = claims.get("name") or claims.get("preferred_username")
        verified = claims.get("email_verified")
        return ProviderIdentity(
            issuer=str(claims["iss"]),
            subject=str(claims["sub"]),
            email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
            email_verified=verified is True or verified == "true",
            name=name.strip()[:200] if isinstance(name, str) and name.strip() else None,
            is_admin=None
            if config.admin_claim is None
            else _grants(claims.get(config.admin_claim), config.admin_value),
            groups=None if config.groups_claim is None else _names(claims.get(config.groups_claim)),
        )

    def _unreachable(self, error: Exception) -> UpstreamError:
        logger.warning("OIDC provider %s failed: %r", self.config.issuer, error)
        return UpstreamError(
            f"The login provider at {self.config.issuer} did not answer properly; try again."
        )

    def front_end_url(self, return_to: str, **params: str) -> str:
        """`return_to` with `params` added to its query."""
        parts = urlsplit(return_to)
        query = "&".join(filter(None, [parts.query, urlencode(params)]))
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _grants(value: Any, wanted: str | None) -> bool:
    """Whether a claim's value means admin: `true`, or `wanted` (in a list, or equal)."""
    if wanted is None:
        return value is True or value == "true"
    if isinstance(value, list | tuple):
        return wanted in [str(item) for item in value]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, str):
        return value == wanted or wanted in value.split()
    return False


def _names(value: Any) -> tuple[str, ...]:
    """A groups claim as names: a list of strings, or one space- or comma-separated string."""
    if isinstance(value, str):
        items: list[Any] = value.replace(",", " ").split()
    elif isinstance(value, list | tuple):
        items = list(value)  # pyright: ignore[reportUnknownArgumentType]
    else:
        return ()
    names = {str(item).strip()[:200] for item in items if str(item).strip()}
    return tuple(sorted(names))[:100]
