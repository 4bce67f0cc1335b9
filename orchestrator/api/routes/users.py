"""Accounts, for admins: list, create, disable or enable, change role, reset a password.

Every change that takes something away (disabling, demoting, a new password) retires the
user's outstanding tokens at once: the account's token version is bumped and its refresh
tokens revoked (see `AuthService.update_account`). The last active admin can be neither
disabled nor demoted (409), so the assistant always keeps someone who can administer it.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.api.deps import AdminUser, AuditDep, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.auth import MIN_PASSWORD_LENGTH
from orchestrator.domain import AuditEvent, InvalidInput
from orchestrator.store import UserRecord

router = APIRouter(prefix="/users", tags=["users"])


class UserCreate(BaseModel):
    """A new account: an email, a password or none (then one is generated), a role."""

    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320)
    password: str | None = Field(
        default=None,
        max_length=1024,
        description="Left out: one is generated and returned once. "
        f"At least {MIN_PASSWORD_LENGTH} characters, not the email, not a common one.",
    )
    is_admin: bool = False


class UserUpdate(BaseModel):
    """Changes to an account; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")
    is_active: bool | None = Field(default=None, description="false disables the account.")
    is_admin: bool | None = None
    password: str | None = Field(
        default=None,
        max_length=1024,
        description="A new password, set by the admin (the user's sessions end).",
    )


class GroupRef(BaseModel):
    """A group an account belongs to."""

    id: str
    name: str


class AccountOut(BaseModel):
    """An account as an admin sees it: its role (`is_admin`) and its groups."""

    id: str
    email: str
    name: str | None = None
    is_admin: bool
    is_active: bool
    password_change_required: bool = Field(
        default=False, description="Must choose a new password at the next login."
    )
    created_at: datetime
    groups: list[GroupRef] = Field(default_factory=list[GroupRef])

    @classmethod
    def of(cls, record: UserRecord, groups: list[tuple[str, str]] | None = None) -> AccountOut:
        """The API's view of a stored user, with its groups as (id, name)."""
        return cls(
            id=record.id,
            email=record.email,
            name=record.name,
            is_admin=record.is_admin,
            is_active=record.is_active,
            password_change_required=record.password_change_required,
            created_at=record.created_at,
            groups=[GroupRef(id=group_id, name=name) for group_id, name in groups or ()],
        )


class AccountCreated(AccountOut):
    """A new account, with its generated password if one was made."""

    password: str | None = Field(
        default=None, description="The generated password, shown once (absent when given)."
    )


class AccountList(BaseModel):
    """Every account."""

    items: list[AccountOut]


def _generated_password() -> str:
    return secrets.token_urlsafe(12)


@router.get("", response_model=AccountList, responses=error_responses(401, 403))
async def list_users(admin: AdminUser, services: ServicesDep) -> AccountList:
    """Every account, oldest first, with its groups."""
    accounts = await services.auth.users.list_users()
    groups = await services.groups.groups_of([user.id for user in accounts])
    return AccountList(items=[AccountOut.of(user, groups.get(user.id)) for user in accounts])


@router.post(
    "",
    response_model=AccountCreated,
    status_code=201,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
async def create_user(
    body: UserCreate, admin: AdminUser, services: ServicesDep, audit: AuditDep
) -> AccountCreated:
    """Create an account; without a password, one is generated and returned this once."""
    password = body.password or _generated_password()
    record = await services.auth.create_user(body.email, password, is_admin=body.is_admin)
    await audit.record(
        AuditEvent.by(
            admin,
            "user.create",
            target=("user", record.id),
            detail={"email": record.email, "is_admin": record.is_admin},
        )
    )
    shown = None if body.password else password
    return AccountCreated(**AccountOut.of(record).model_dump(), password=shown)


@router.patch(
    "/{user_id}",
    response_model=AccountOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
)
async def update_user(
    user_id: UUID, body: UserUpdate, admin: AdminUser, services: ServicesDep, audit: AuditDep
) -> AccountOut:
    """Disable or enable, promote or demote, or set a new password.

    The user's sessions and tokens end (API keys stop while the account is disabled).
    Refused with 409 when it would leave no active admin.
    """
    if body.is_active is None and body.is_admin is None and body.password is None:
        raise InvalidInput("Say what to change: `is_active`, `is_admin` or `password`.")
    record = await services.auth.update_account(
        str(user_id), is_active=body.is_active, is_admin=body.is_admin, password=body.password
    )
    changes = body.model_dump(exclude_none=True, exclude={"password"})
    if body.password is not None:
        changes["password_reset"] = True
    await audit.record(
        AuditEvent.by(
            admin,
            "user.update",
            target=("user", record.id),
            detail={"email": record.email, **changes},
        )
    )
    if body.is_admin is not None:
        services.groups.forget()  # admins see every shared server
    groups = await services.groups.groups_of([record.id])
    return AccountOut.of(record, groups.get(record.id))


class PasswordReset(BaseModel):
    """An admin's password reset: a temporary password, or none to have one generated."""

    model_config = ConfigDict(extra="forbid")
    password: str | None = Field(
        default=None, max_length=1024, description="Left out: one is generated."
    )


class PasswordResetDone(BaseModel):
    """The temporary password to hand to the user, who must change it at their next login."""

    password: str | None = Field(description="The generated password (absent when given).")
    password_change_required: bool = True


@router.post(
    "/{user_id}/password-reset",
    response_model=PasswordResetDone,
    responses=error_responses(400, 401, 403, 404, 413, 422),
)
async def reset_password(
    user_id: UUID,
    admin: AdminUser,
    services: ServicesDep,
    audit: AuditDep,
    body: PasswordReset | None = None,
) -> PasswordResetDone:
    """Reset a user's password: every session ends, and the next login must set a new one.

    Until then, a login with the temporary password is refused with 403
    `password_change_required`; it succeeds when it also sends `new_password`.
    """
    given = body.password if body else None
    temporary = await services.auth.reset_password(str(user_id), given)
    await audit.record(
        AuditEvent.by(
            admin,
            "user.password_reset",
            target=("user", str(user_id)),
            detail={"generated": not given},
        )
    )
    return PasswordResetDone(password=None if given else temporary)
