"""`assistant db`: the database's schema, the orchestrator's tables and the knowledge tables."""

from __future__ import annotations

import typer

from orchestrator.cli.console import console, load_settings, run

__all__ = ["db_app"]

db_app = typer.Typer(help="The database.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (embedded server when DATABASE_URL is unset)."""
    from orchestrator.runtime.services import open_database
    from orchestrator.store import head_revision

    settings = load_settings()

    async def go() -> None:
        async with open_database(settings, migrate=True):
            pass

    run(go)
    console.print(f"Database at revision {head_revision()}.")
    from mcp_servers.cli import upgrade_knowledge

    console.print(f"Knowledge tables at revision {upgrade_knowledge(settings)}.")
