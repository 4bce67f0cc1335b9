"""Rotating the vault's keys while every process keeps running.

`rotate` makes a new data key current (processes seal with it from their next seal on and
load it when they first meet it), re-seals every blob under it in batches, each row
replaced only if nobody changed it since it was read, and then retires the older keys.
Retired keys are kept: a blob a slower process sealed meanwhile still opens, and the next
rotation picks it up. `rewrap` moves the data keys to the current master key, after which
the old master key can leave `MCP_TOKEN_KEY`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from orchestrator.domain.secrets import SealedKind, SealedRow
from orchestrator.mcp.governance.vault import (
    LEGACY,
    Vault,
    credential_binding,
    kid_of,
    server_binding,
)

__all__ = [
    "KeyStatus",
    "Rotation",
    "SealedRow",
    "SealedRows",
    "binding_of",
    "key_status",
    "rewrap",
    "rotate",
]


def binding_of(row: SealedRow) -> bytes:
    """What the row's blob is bound to (see `vault`)."""
    if row.kind == "server":
        return server_binding(row.row[0], row.owner_id)
    return credential_binding(row.row[0], row.row[1])


class SealedRows(Protocol):
    """The rows that hold sealed blobs; `orchestrator.store.SqlSealedRows` implements it."""

    async def not_sealed_with(
        self,
        kind: SealedKind,
        kid: str,
        *,
        after: tuple[str, ...] | None,
        limit: int,
    ) -> list[SealedRow]:
        """Up to `limit` rows of `kind` not sealed under `kid`, by primary key after `after`."""
        ...

    async def replace(self, row: SealedRow, sealed: str) -> bool:
        """Store `sealed` in the row if it still holds `row.sealed`; whether it did."""
        ...

    async def count_by_kid(self) -> dict[str, int]:
        """How many blobs each data key seals (`LEGACY` for blobs from before key rings)."""
        ...


_KINDS: tuple[SealedKind, ...] = ("server", "credential")


@dataclass
class Rotation:
    """What a rotation did."""

    kid: str
    resealed: int = 0
    legacy_resealed: int = 0
    changed_meanwhile: int = 0
    unreadable: list[SealedRow] = field(default_factory=list[SealedRow])
    retired: list[str] = field(default_factory=list[str])


async def rotate(vault: Vault, rows: SealedRows, *, batch: int = 100, passes: int = 5) -> Rotation:
    """Make a new data key current, re-seal every blob under it, retire the older keys.

    A row written meanwhile is left as written (under the new key, or read again on the
    next pass); a blob that does not open is left alone and reported.

    Raises:
        Conflict: another rotation is running (in any process).
    """
    async with vault.keys.rotating():
        return await _rotate(vault, rows, batch=batch, passes=passes)


async def _rotate(vault: Vault, rows: SealedRows, *, batch: int, passes: int) -> Rotation:
    rotation = Rotation(await vault.add_key())
    unreadable: dict[tuple[str, tuple[str, ...]], SealedRow] = {}
    for _ in range(passes):
        # A pass that finds nothing left to do ends it; a row written meanwhile under the
        # old key (by a process that had not yet seen the new one) is caught by the next.
        touched = 0
        for kind in _KINDS:
            after: tuple[str, ...] | None = None
            while found := await rows.not_sealed_with(kind, rotation.kid, after=after, limit=batch):
                after = found[-1].row
                for row in found:
                    value = await vault.open(row.sealed, binding_of(row))
                    if value is None:
                        unreadable[kind, row.row] = row
                        continue
                    touched += 1
                    fresh = await vault.seal(value, binding_of(row), kid=rotation.kid)
                    if not await rows.replace(row, fresh):
                        rotation.changed_meanwhile += 1
                    elif kid_of(row.sealed) == LEGACY:
                        rotation.legacy_resealed += 1
                    else:
                        rotation.resealed += 1
        if not touched:
            break
    rotation.unreadable = list(unreadable.values())
    rotation.retired = await vault.keys.retire_all_but(rotation.kid)
    return rotation


async def rewrap(vault: Vault) -> list[str]:
    """Wrap every data key with the current master key; returns the kids re-wrapped.

    Raises:
        MasterKeyError: a data key's master key is not in the ring; nothing was changed.
        Conflict: another rotation is running (in any process).
    """
    async with vault.keys.rotating():
        return await _rewrap(vault)


async def _rewrap(vault: Vault) -> list[str]:
    keys = await vault.keys.all_keys()
    stale = [key for key in keys if key.master_id != vault.masters.current_id]
    secrets = {key.kid: vault.masters.unwrap(key) for key in stale}
    done: list[str] = []
    for key in stale:
        master_id, wrapped = vault.masters.wrap(key.kid, secrets[key.kid])
        if await vault.keys.rewrap(key.kid, key.wrapped, master_id, wrapped):
            done.append(key.kid)
    return done


@dataclass(frozen=True)
class KeyStatus:
    """One data key as `assistant secrets status` shows it."""

    kid: str
    master: str
    current: bool
    created_at: str
    retired_at: str | None
    blobs: int


async def key_status(vault: Vault, rows: SealedRows) -> tuple[list[KeyStatus], int, int]:
    """Every data key with how many blobs it seals; blobs from before; blobs under no key."""
    counts = Counter(await rows.count_by_kid())
    current = await vault.keys.current()
    masters = vault.masters.ids
    statuses: list[KeyStatus] = []
    for key in await vault.keys.all_keys():
        if key.master_id == vault.masters.current_id:
            master = f"{key.master_id} (current)"
        elif key.master_id in masters:
            master = f"{key.master_id} (old, in the ring)"
        else:
            master = f"{key.master_id} (MISSING from MCP_TOKEN_KEY)"
        statuses.append(
            KeyStatus(
                kid=key.kid,
                master=master,
                current=current is not None and key.kid == current.kid,
                created_at=key.created_at.isoformat(timespec="seconds"),
                retired_at=key.retired_at.isoformat(timespec="seconds") if key.retired_at else None,
                blobs=counts.pop(key.kid, 0),
            )
        )
    return statuses, counts.pop(LEGACY, 0), sum(counts.values())
