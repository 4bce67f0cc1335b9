"""The `assistant` command: run the services, manage the database, users, keys and MCP servers.

One module per command group (`serve` with `up`, `chat` with `login`, `db`, `users`,
`groups`, `keys`, `mcp`, `secrets`, `certs`); this package assembles them into one Typer
app, in the order `--help` lists them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from orchestrator.cli.certs import certs_app
from orchestrator.cli.chat import chat, login
from orchestrator.cli.db import db_app
from orchestrator.cli.groups import groups_app
from orchestrator.cli.keys import keys_app
from orchestrator.cli.mcp import mcp_app
from orchestrator.cli.secrets import secrets_app
from orchestrator.cli.serve import serve_app, up
from orchestrator.cli.users import users_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="A self-hosted AI assistant. `assistant up` runs it locally.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(groups_app, name="groups")
app.add_typer(keys_app, name="keys")
app.add_typer(serve_app, name="serve")
app.add_typer(mcp_app, name="mcp")
app.add_typer(secrets_app, name="secrets")
app.add_typer(certs_app, name="certs")
app.command()(up)
app.command()(chat)
app.command()(login)


def main() -> None:
    """Run the `assistant` command (the console script's entry point).

    The working directory goes first on the import path, as `python -m` would put it (a
    console script alone does not), so that modules of the checkout it runs in import.
    """
    sys.path.insert(0, str(Path.cwd()))
    app()
