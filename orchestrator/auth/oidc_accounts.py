"""The account behind a provider's identity: found, linked, or made just in time.

1. An identity (issuer, subject) linked before signs in as its user.
2. Otherwise a local account with the same email is linked, but only when the provider says
   `email_verified` is true: an unverified email would let anyone who registers that
   address at the provider take over the account (Open WebUI's mistake). Unverified, the
   login is refused and nothing is written.
3. Otherwise a new user is made with the provider's name and email, without a password.

A user without a name gets the provider's at the next login; a name is never overwritten.

A disabled user is refused in every case. When `OIDC_ADMIN_CLAIM` is set, the admin role
follows the claim at each login (the last active admin is never demoted this way); when
`OIDC_GROUPS_CLAIM` is set, memberships of "oidc" groups follow the claim.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.auth.oidc import (
    AccountDisabled,
    EmailNotVerified,
    OIDCConfig,
    OIDCProvider,
    ProviderIdentity,
)
from orchestrator.auth.service import AuthService
from orchestrator.domain import Conflict, Unauthorized
from orchestrator.settings import Settings
from orchestrator.store import UserRecord
from orchestrator.store.identities import SqlIdentityStore
from orchestrator.store.oidc_groups import SqlOIDCGroups

__all__ = ["OIDCAccounts", "OIDCLogin", "SignIn"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SignIn:
    """The user an identity signed in as, and what this login changed.

    `created`: the user was made now; `linked`: the identity was linked to an existing user
    now; `role_changed`: the admin claim promoted or demoted the user; `groups`: the "oidc"
    groups the user is in now (None when groups are not mapped).
    """

    user: UserRecord
    created: bool = False
    linked: bool = False
    role_changed: bool = False
    groups: tuple[str, ...] | None = None


class OIDCAccounts:
    """Resolves provider identities to users; see the module."""

    def __init__(
        self, auth: AuthService, identities: SqlIdentityStore, groups: SqlOIDCGroups
    ) -> None:
        self._auth = auth
        self._identities = identities
        self._groups = groups

    async def sign_in(self, identity: ProviderIdentity) -> SignIn:
        """The user the identity signs in as, made or linked if need be, roles in step.

        Raises:
            AccountDisabled: the user is disabled.
            EmailNotVerified: a local account has the email and the provider has not
                verified it.
            Unauthorized: the provider gave no email for a new identity.
        """
        result = await self._resolve(identity)
        user = result.user
        if not user.is_active:
            raise AccountDisabled("This account is disabled; ask an admin.")
        if identity.name is not None and not result.created:
            await self._identities.fill_name(user.id, identity.name)
        role_changed = False
        if identity.is_admin is not None and identity.is_admin != user.is_admin:
            try:
                user = await self._auth.update_account(user.id, is_admin=identity.is_admin)
                role_changed = True
            except Conflict:
                logger.warning("kept %s an admin: the last active admin", user.id)
        groups = None
        if identity.groups is not None:
            groups = tuple(await self._groups.sync(user.id, identity.groups))
        return SignIn(user, result.created, result.linked, role_changed, groups)

    async def _resolve(self, identity: ProviderIdentity, *, again: bool = True) -> SignIn:
        issuer, subject = identity.issuer, identity.subject
        user_id = await self._identities.user_id_for(issuer, subject)
        if user_id is not None:
            user = await self._auth.users.by_id(user_id)
            if user is not None:
                await self._identities.touch(issuer, subject, identity.email)
                return SignIn(user)
        if identity.email is None:
            raise Unauthorized(
                "The provider did not tell us your email (is the `email` scope allowed?)."
            )
        existing = await self._auth.users.by_email(identity.email)
        if existing is not None:
            if not identity.email_verified:
                raise EmailNotVerified(
                    f"An account with the email {identity.email} exists already, and the "
                    "login provider has not verified that this email is yours. Verify it at "
                    "the provider, or log in with your password."
                )
            if not existing.is_active:
                raise AccountDisabled("This account is disabled; ask an admin.")
            await self._identities.link(issuer, subject, existing.id, identity.email)
            return SignIn(existing, linked=True)
        try:
            created = await self._identities.create_user(
                issuer,
                subject,
                email=identity.email,
                name=identity.name,
                is_admin=bool(identity.is_admin),
            )
        except Conflict:
            if not again:
                raise
            return await self._resolve(identity, again=False)  # a concurrent first login
        return SignIn(created, created=True)


@dataclass(frozen=True, slots=True)
class OIDCLogin:
    """OIDC login as the API uses it: the provider, and the accounts its users map to."""

    provider: OIDCProvider
    accounts: OIDCAccounts

    @classmethod
    def configured(
        cls, settings: Settings, auth: AuthService, engine: AsyncEngine
    ) -> OIDCLogin | None:
        """OIDC login when a provider is configured, else None.

        Nothing is fetched here: discovery waits for the first login, so a provider that is
        down does not stop the server from starting.
        """
        login = settings.login
        if login.oidc_issuer is None or login.oauth_client_id is None:
            return None
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
        redirect = login.oidc_redirect_url or (
            f"http://{host}:{settings.port}/api/v1/auth/oidc/callback"
        )
        if login.frontend_url is not None:
            origins: tuple[str, ...] | None = (login.frontend_url,)
        else:
            origins = () if settings.production else None  # a local run: any loopback origin
        secret = login.oauth_client_secret
        config = OIDCConfig(
            issuer=login.oidc_issuer,
            client_id=login.oauth_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            scopes=login.oidc_scopes,
            provider_name=login.oidc_provider_name,
            redirect_url=redirect,
            return_origins=origins,
            admin_claim=login.oidc_admin_claim,
            admin_value=login.oidc_admin_value,
            groups_claim=login.oidc_groups_claim,
            secure_cookie=redirect.startswith("https://"),
        )
        accounts = OIDCAccounts(auth, SqlIdentityStore(engine), SqlOIDCGroups(engine))
        return cls(OIDCProvider(config, settings.jwt_secret()), accounts)
