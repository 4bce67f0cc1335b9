"""Groups, for admins: members, tool rules, model lists and the shared servers they see.

A group's rules apply to every member on every path (runs, `/v1/chat/completions`, the
WebSocket): a denied tool is neither offered to the model nor called, an "ask" tool waits
for approval on each call, a model outside the members' lists is refused with 403, and a
shared MCP server limited to groups is invisible to everyone else. Changes apply at once
on this replica and within a few seconds on the others.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orchestrator.api.deps import AdminUser, AuditDep, ServicesDep
from orchestrator.api.errors import error_responses
from orchestrator.auth import Principal
from orchestrator.domain import ANY_TOOL, AuditEvent, GroupPolicy, InvalidInput
from orchestrator.store import UNCHANGED, GroupRecord

router = APIRouter(prefix="/groups", tags=["groups"])

GroupName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
ModelName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f/]+$")
]
ServerName = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
GROUP_ERRORS = error_responses(401, 403, 404, 422)
BODY_ERRORS = error_responses(400, 401, 403, 404, 413, 422)


class GroupCreate(BaseModel):
    """A new group; `models` lists the models its members may use (null or absent: any)."""

    model_config = ConfigDict(extra="forbid")
    name: GroupName
    description: str = Field(default="", max_length=2000)
    models: list[ModelName] | None = Field(default=None, max_length=200)


class GroupUpdate(BaseModel):
    """Changes to a group; fields left out stay. `models: null` allows any model again."""

    model_config = ConfigDict(extra="forbid")
    name: GroupName | None = None
    description: str | None = Field(default=None, max_length=2000)
    models: list[ModelName] | None = Field(default=None, max_length=200)


class MemberAdd(BaseModel):
    """The user to put in the group."""

    model_config = ConfigDict(extra="forbid")
    user_id: UUID


class PolicySet(BaseModel):
    """A rule for a server's tools: `tool` "*" is every tool of the server."""

    model_config = ConfigDict(extra="forbid")
    server: Name
    tool: Name = ANY_TOOL
    policy: GroupPolicy = Field(description="deny: never offered nor run; ask: approve each call.")


class MemberOut(BaseModel):
    """A member of a group."""

    id: str
    email: str


class PolicyOut(BaseModel):
    """One of a group's tool rules."""

    server: str
    tool: str
    policy: str


class GroupOut(BaseModel):
    """A group as an admin sees it."""

    id: str
    name: str
    description: str
    models: list[str] | None = Field(description="The models members may use; null: any.")
    source: str = Field(description='"local", or "oidc" when kept in step with the provider.')
    created_at: datetime
    members: list[MemberOut]
    policies: list[PolicyOut]
    servers: list[str] = Field(description="The shared MCP servers limited to this group.")

    @classmethod
    def of(cls, record: GroupRecord) -> GroupOut:
        """The API's view of a stored group."""
        return cls(
            id=record.id,
            name=record.name,
            description=record.description,
            models=record.models,
            source=record.source,
            created_at=record.created_at,
            members=[MemberOut(id=m.id, email=m.email) for m in record.members],
            policies=[
                PolicyOut(server=r.server, tool=r.tool, policy=r.policy.value) for r in record.rules
            ],
            servers=record.servers,
        )


class GroupList(BaseModel):
    """Every group."""

    items: list[GroupOut]


async def _recorded(
    audit: AuditDep, admin: Principal, action: str, group_id: str, **detail: Any
) -> None:
    """Record an admin's change to a group, once it is done (a refused change records nothing)."""
    await audit.record(AuditEvent.by(admin, action, target=("group", group_id), detail=detail))


def _unique(models: list[str] | None) -> list[str] | None:
    return list(dict.fromkeys(models)) if models is not None else None


@router.get("", response_model=GroupList, responses=error_responses(401, 403))
async def list_groups(admin: AdminUser, services: ServicesDep) -> GroupList:
    """Every group, by name, with its members, tool rules and servers."""
    return GroupList(items=[GroupOut.of(g) for g in await services.groups.list_groups()])


@router.post(
    "",
    response_model=GroupOut,
    status_code=201,
    responses=error_responses(400, 401, 403, 409, 413, 422),
)
async def create_group(
    body: GroupCreate, admin: AdminUser, services: ServicesDep, audit: AuditDep
) -> GroupOut:
    """Create a group (409 when the name is taken)."""
    record = await services.groups.create(
        body.name, description=body.description, models=_unique(body.models)
    )
    await _recorded(audit, admin, "group.create", record.id, name=record.name, models=record.models)
    return GroupOut.of(record)


@router.get("/{group_id}", response_model=GroupOut, responses=GROUP_ERRORS)
async def get_group(group_id: UUID, admin: AdminUser, services: ServicesDep) -> GroupOut:
    """One group."""
    return GroupOut.of(await services.groups.get(str(group_id)))


@router.patch(
    "/{group_id}",
    response_model=GroupOut,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
)
async def update_group(
    group_id: UUID, body: GroupUpdate, admin: AdminUser, services: ServicesDep, audit: AuditDep
) -> GroupOut:
    """Rename, describe, or set the models members may use (`"models": null`: any)."""
    if not body.model_fields_set:
        raise InvalidInput("Say what to change: `name`, `description` or `models`.")
    if "name" in body.model_fields_set and body.name is None:
        raise InvalidInput("A group's name cannot be null.")
    models = _unique(body.models) if "models" in body.model_fields_set else UNCHANGED
    record = await services.groups.update(
        str(group_id), name=body.name, description=body.description, models=models
    )
    changes = {name: getattr(record, name) for name in sorted(body.model_fields_set)}
    await _recorded(audit, admin, "group.update", record.id, **changes)
    return GroupOut.of(record)


@router.delete("/{group_id}", status_code=204, responses=GROUP_ERRORS)
async def delete_group(
    group_id: UUID, admin: AdminUser, services: ServicesDep, audit: AuditDep
) -> Response:
    """Delete a group; its members stay, its rules and server limits go."""
    await services.groups.delete(str(group_id))
    await _recorded(audit, admin, "group.delete", str(group_id))
    return Response(status_code=204)


@router.post("/{group_id}/members", response_model=GroupOut, responses=BODY_ERRORS)
async def add_member(
    group_id: UUID, body: MemberAdd, admin: AdminUser, services: ServicesDep, audit: AuditDep
) -> GroupOut:
    """Put a user in the group (a member already: nothing changes)."""
    record = await services.groups.add_member(str(group_id), str(body.user_id))
    await _recorded(audit, admin, "group.member.add", record.id, user_id=str(body.user_id))
    return GroupOut.of(record)


@router.delete("/{group_id}/members/{user_id}", response_model=GroupOut, responses=GROUP_ERRORS)
async def remove_member(
    group_id: UUID, user_id: UUID, admin: AdminUser, services: ServicesDep, audit: AuditDep
) -> GroupOut:
    """Take a user out of the group (404 when not a member)."""
    record = await services.groups.remove_member(str(group_id), str(user_id))
    await _recorded(audit, admin, "group.member.remove", record.id, user_id=str(user_id))
    return GroupOut.of(record)


@router.put("/{group_id}/policies", response_model=GroupOut, responses=BODY_ERRORS)
async def set_policy(
    group_id: UUID, body: PolicySet, admin: AdminUser, services: ServicesDep, audit: AuditDep
) -> GroupOut:
    """Deny a server's tool ("*": all of them) to the group, or make it ask every time.

    The server is named as the model sees it (`GET /api/v1/tools`' `server`); a rule on a
    server or tool that does not exist yet applies once it does.
    """
    record = await services.groups.set_rule(str(group_id), body.server, body.tool, body.policy)
    rule = {"server": body.server, "tool": body.tool, "policy": body.policy.value}
    await _recorded(audit, admin, "group.policy.set", record.id, **rule)
    return GroupOut.of(record)


@router.delete(
    "/{group_id}/policies/{server}/{tool}", response_model=GroupOut, responses=GROUP_ERRORS
)
async def remove_policy(
    group_id: UUID,
    server: ServerName,
    tool: ServerName,
    admin: AdminUser,
    services: ServicesDep,
    audit: AuditDep,
) -> GroupOut:
    """Drop the group's rule on a server's tool ("*" for the whole-server rule)."""
    record = await services.groups.remove_rule(str(group_id), server, tool)
    await _recorded(audit, admin, "group.policy.remove", record.id, server=server, tool=tool)
    return GroupOut.of(record)


@router.put("/{group_id}/servers/{server}", response_model=GroupOut, responses=GROUP_ERRORS)
async def share_server(
    group_id: UUID, server: ServerName, admin: AdminUser, services: ServicesDep, audit: AuditDep
) -> GroupOut:
    """Limit a shared MCP server (registered through the API) to its groups, this one too.

    From then on only the members of its groups (and admins) see it or call its tools.
    """
    record = await services.groups.share_server(str(group_id), server)
    await _recorded(audit, admin, "group.server.share", record.id, server=server)
    return GroupOut.of(record)


@router.delete("/{group_id}/servers/{server}", response_model=GroupOut, responses=GROUP_ERRORS)
async def unshare_server(
    group_id: UUID, server: ServerName, admin: AdminUser, services: ServicesDep, audit: AuditDep
) -> GroupOut:
    """Take the group out of a shared server's audience (none left: everyone sees it)."""
    record = await services.groups.unshare_server(str(group_id), server)
    await _recorded(audit, admin, "group.server.unshare", record.id, server=server)
    return GroupOut.of(record)
