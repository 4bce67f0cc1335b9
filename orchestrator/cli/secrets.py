"""`assistant secrets`: the keys that seal secrets at rest, their status and rotation.

Both commands run beside live orchestrators: a rotation makes a new data key current,
which every process picks up at its next seal, and re-seals rows one at a time, never over
a concurrent write. A rotation is audited (`secrets.rotate`, `secrets.rotate_master`) with
the operator as the actor; a refused one (a wrong master key, one already running) is not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from orchestrator.cli.console import console, load_settings, run
from orchestrator.cli.users import Audited, cli_event, recorded

__all__ = ["secrets_app"]

T = TypeVar("T")

secrets_app = typer.Typer(help="Secrets at rest: keys and rotation.", no_args_is_help=True)


def _with_vault(action: Callable[[Any, Any], Awaitable[T]], audited: Audited = None) -> T:
    """Run `action(vault, rows)` with every stored data key opened first.

    A master key that does not open them stops here, with exit code 2 and nothing changed.
    `audited(result)` is the action's audit record, stored once the action succeeded.
    """
    from orchestrator.runtime.services import open_database, open_vault
    from orchestrator.store import SqlSealedRows

    settings = load_settings()

    async def go() -> T:
        async with open_database(settings) as (engine, _):
            vault = open_vault(settings, engine)
            await vault.check()
            return await recorded(engine, await action(vault, SqlSealedRows(engine)), audited)

    return run(go)


@secrets_app.command("status")
def secrets_status() -> None:
    """Each data key (tab-separated): kid, state, master key, created, retired, blobs sealed."""
    from orchestrator.mcp import key_status

    statuses, legacy, unknown = _with_vault(key_status)
    for key in statuses:
        state = "current" if key.current else ("retired" if key.retired_at else "live")
        typer.echo(
            "\t".join(
                [key.kid, state, key.master, key.created_at, key.retired_at or "-", str(key.blobs)]
            )
        )
    if legacy:
        console.print(
            f"{legacy} secret(s) sealed before key rings: `assistant secrets rotate` re-seals them."
        )
    if unknown:
        console.print(f"[red]{unknown} secret(s) name a data key that does not exist.[/red]")


@secrets_app.command("rotate")
def secrets_rotate(
    master: Annotated[
        bool,
        typer.Option(
            "--master",
            help="Re-wrap the data keys with the first key of MCP_TOKEN_KEY instead, so "
            "that the others can be removed from it.",
        ),
    ] = False,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Rows re-sealed per query.")] = 100,
) -> None:
    """Seal every secret with a new data key, then retire the old keys; no restart needed."""
    from orchestrator.mcp import rewrap, rotate

    if master:

        async def wrap(vault: Any, _rows: Any) -> tuple[str, list[str]]:
            return vault.masters.current_id, await rewrap(vault)

        _, kids = _with_vault(
            wrap,
            lambda done: cli_event(
                "secrets.rotate_master", ("master_key", done[0]), rewrapped=done[1]
            ),
        )
        console.print(
            f"Re-wrapped {len(kids)} data key(s) with the current master key; the older "
            "master keys may now leave MCP_TOKEN_KEY."
        )
        return
    rotation = _with_vault(
        lambda vault, rows: rotate(vault, rows, batch=batch),
        lambda done: cli_event(
            "secrets.rotate",
            ("data_key", done.kid),
            kid=done.kid,
            resealed=done.resealed,
            legacy_resealed=done.legacy_resealed,
            changed_meanwhile=done.changed_meanwhile,
            unreadable=len(done.unreadable),
            retired=done.retired,
        ),
    )
    console.print(
        f"Data key {rotation.kid} is current: re-sealed {rotation.resealed} secret(s) and "
        f"{rotation.legacy_resealed} from before key rings; retired "
        f"{', '.join(rotation.retired) or 'no key'}."
    )
    if rotation.changed_meanwhile:
        console.print(
            f"{rotation.changed_meanwhile} secret(s) changed while being re-sealed and were "
            "left as written; `assistant secrets status` shows what each key still seals."
        )
    for row in rotation.unreadable:
        console.print(
            f"[yellow]A {row.kind} secret ({', '.join(row.row)}) does not open: left as is; "
            "its owner will be asked to authorize again.[/yellow]"
        )
    typer.echo(rotation.kid)
