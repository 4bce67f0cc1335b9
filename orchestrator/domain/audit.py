"""Audit records: who did what, to what, from where, and how it came out.

An `AuditEvent` is one line of the append-only audit log. The core and the routes build
them and hand them to the `AuditTrail` port (`orchestrator.domain.ports`); the SQL
adapter (`orchestrator.store.audit.SqlAuditLog`, `Services.audit`) writes them.

Recording from a route is one line (`AuditDep` in `orchestrator.api.deps`)::

    await audit.record(AuditEvent.by(user, "group.create", target=("group", group.id)))

The client address and trace id need not be passed: the API's request middleware puts
them in `request_origin` for the whole request (and for the run tasks it starts), and the
trail fills them in. Details are JSON; never put a password, token, secret or the content
of a message or tool argument in them (a tool call's arguments are recorded only as
`arguments_digest`).

Action names are dotted, the first part the area, so `action=auth.` filters by prefix:

    auth.login            outcome ok | failure (detail.reason: bad_credentials,
                          unknown_account, disabled; throttled: once a minute per
                          account and address, however many attempts)
    auth.refresh          outcome failure, detail.reason reused (a refresh token used twice
                          or after its revocation: the whole family is revoked)
    key.create | key.delete | key.use (at most once per key per `KEY_USE_INTERVAL`)
    user.create | user.update (detail: the fields changed, never a password)
    group.create (detail: name, models) | group.update (detail: the fields changed, as
                          set) | group.delete       target ("group", id)
    group.member.add | group.member.remove           detail: user_id
    group.policy.set (detail: server, tool, policy) | group.policy.remove (server, tool)
    group.server.share | group.server.unshare        detail: server
    secrets.rotate        target ("data_key", the new kid); detail: kid, resealed,
                          legacy_resealed, changed_meanwhile, unreadable (counts), retired
    secrets.rotate_master target ("master_key", its id); detail: rewrapped (kids)
    tool.call             detail: server, tool, arguments_digest, decision (auto,
                          approved, denied, always-allowed, policy-denied, invalid;
                          reason "approval_unavailable" when a call that needs approval
                          is denied where no one can give it: /v1/chat/completions);
                          outcome ok | error (the tool's own) | fault (its server) |
                          refused | interrupted (the run stopped while it ran)
    tool.approve | tool.deny | tool.allow_always   a user's answer to an approval
    tool.input            an elicitation answer (detail.action: accept, decline, cancel)
    tool.grant.revoke     an "always allow" taken back
    mcp.server.add | mcp.server.remove | mcp.tool.trust | mcp.tool.policy
    conversation.export | conversation.delete | file.delete | knowledge.delete
    audit.export          an admin downloaded the log as JSON lines

A change is recorded once it succeeded; a refused one (404, 409, 422) records nothing. The
CLI (`assistant users|groups|keys|secrets`) records the same actions with `actor_email`
"cli:<OS user>" and no `actor_id`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from orchestrator.domain.tools import ToolOutcome

__all__ = [
    "KEY_USE_INTERVAL",
    "Actor",
    "AuditEvent",
    "RequestOrigin",
    "arguments_digest",
    "by_user",
    "request_origin",
    "tool_call_event",
]

KEY_USE_INTERVAL = 300.0
"""Seconds between two `key.use` records of one API key (per process)."""


class Actor(Protocol):
    """Whoever acted: anything with a user id and an email (an authenticated principal)."""

    @property
    def user_id(self) -> str:
        """The user's id."""
        ...

    @property
    def email(self) -> str:
        """The user's email."""
        ...


@dataclass(frozen=True, slots=True)
class RequestOrigin:
    """Where the request being served came from: the client's address and its trace id."""

    address: str | None = None
    trace_id: str | None = None


request_origin: ContextVar[RequestOrigin | None] = ContextVar("request_origin", default=None)
"""The origin of the request in flight; tasks started while serving it inherit it."""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audit record; see the module for the action names.

    `address` and `trace_id` left None are taken from `request_origin` by the trail; an
    `actor_email` left None is looked up from `actor_id` when written, and the other way round.
    """

    action: str
    outcome: str = "ok"
    actor_id: str | None = None
    actor_email: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict[str, Any])
    address: str | None = None
    trace_id: str | None = None
    at: datetime | None = None

    @classmethod
    def by(
        cls,
        actor: Actor | None,
        action: str,
        *,
        outcome: str = "ok",
        target: tuple[str, str] | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        """An event done by `actor` (None: nobody known), to `target` (type, id)."""
        return cls(
            action=action,
            outcome=outcome,
            actor_id=actor.user_id if actor is not None else None,
            actor_email=actor.email if actor is not None else None,
            target_type=target[0] if target else None,
            target_id=target[1] if target else None,
            detail=detail or {},
        )

    def with_origin(self) -> AuditEvent:
        """This event, with the address and trace id of the request in flight where unset."""
        origin = request_origin.get()
        if origin is None:
            return self
        if (self.address or not origin.address) and (self.trace_id or not origin.trace_id):
            return self
        return AuditEvent(
            action=self.action,
            outcome=self.outcome,
            actor_id=self.actor_id,
            actor_email=self.actor_email,
            target_type=self.target_type,
            target_id=self.target_id,
            detail=self.detail,
            address=self.address or origin.address,
            trace_id=self.trace_id or origin.trace_id,
            at=self.at,
        )


def by_user(user_id: str, action: str, target: tuple[str, str], /, **detail: Any) -> AuditEvent:
    """An event done by the user `user_id` to `target` (type, id), with `detail`."""
    return AuditEvent(
        action, actor_id=user_id, target_type=target[0], target_id=target[1], detail=detail
    )


def arguments_digest(arguments: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of a tool call's arguments.

    Canonical: keys sorted, no spaces, UTF-8; so equal arguments give equal digests
    whatever the order the model wrote them in.
    """
    canonical = json.dumps(
        arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


_REFUSED = frozenset({"denied", "policy-denied"})


def tool_call_event(
    where: tuple[str, str, str, str],
    server: str,
    tool: str,
    arguments: Any,
    decision: str,
    outcome: ToolOutcome | None,
    reason: str | None = None,
) -> AuditEvent:
    """The `tool.call` record of one call in a run.

    `where` is (user id, conversation id, run id, call id); `outcome` None means the call
    was interrupted (the run cancelled or failed while it ran); `reason`, why a call was
    denied without asking anyone (`detail.reason`).
    """
    user_id, conversation_id, run_id, call_id = where
    if decision in _REFUSED:
        result = "refused"
    elif outcome is None:
        result = "interrupted"
    elif outcome.fault is not None:
        result = "fault"
    else:
        result = "error" if outcome.is_error else "ok"
    return AuditEvent(
        action="tool.call",
        outcome=result,
        actor_id=user_id,
        target_type="tool",
        target_id=f"{server}/{tool}" if server else tool,
        detail={
            "server": server,
            "tool": tool,
            "arguments_digest": arguments_digest(arguments) if arguments is not None else None,
            "decision": decision,
            "run_id": run_id,
            "conversation_id": conversation_id,
            "call_id": call_id,
        }
        | ({"reason": reason} if reason else {}),
    )
