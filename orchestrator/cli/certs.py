"""`assistant certs`: a local CA and per-service certificates for mutual TLS (`MTLS=true`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from common.certs import (
    SERVICES,
    CertificateAuthorityExists,
    ca_paths,
    describe,
    init_certificates,
    issue_certificates,
    service_paths,
)
from common.settings import SharedSettings
from orchestrator.cli.console import console

__all__ = ["certs_app"]

certs_app = typer.Typer(
    help="Certificates for mutual TLS between the services.", no_args_is_help=True
)


def _directory(given: Path | None) -> Path:
    if given is not None:
        return given
    settings = SharedSettings()
    return settings.tls.dir or settings.data_dir / "certs"


@certs_app.command("init")
def certs_init(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where to write them (default DATA_DIR/certs).")
    ] = None,
    days: Annotated[
        int, typer.Option("--days", min=1, help="How long the service certificates last.")
    ] = 825,
    hosts: Annotated[
        list[str] | None,
        typer.Option(
            "--hosts",
            help="Extra DNS names or IP addresses for every certificate (repeat the option).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing CA.")] = False,
) -> None:
    """Create a CA and a certificate and key for each service (orchestrator, frontend, mcp)."""
    folder = _directory(directory)
    extra = [name for value in hosts or [] for name in value.split(",") if name.strip()]
    try:
        issued = init_certificates(folder, days=days, hosts=extra, force=force)
    except CertificateAuthorityExists as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    console.print(
        f"CA: {issued.ca_cert}. Keep its key {issued.ca_key} private: whoever holds it can "
        "make certificates every service trusts."
    )
    for service, (cert, key) in issued.services.items():
        console.print(f"{service}: {cert}, key {key}")
    console.print("Turn mutual TLS on with MTLS=true (in .env or the environment).")


@certs_app.command("issue")
def certs_issue(
    services: Annotated[
        list[str] | None,
        typer.Argument(help=f"Which ({', '.join(SERVICES)}); default: all."),
    ] = None,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where the CA is (default DATA_DIR/certs).")
    ] = None,
    days: Annotated[
        int, typer.Option("--days", min=1, help="How long the certificates last.")
    ] = 825,
    hosts: Annotated[
        list[str] | None,
        typer.Option("--hosts", help="Extra DNS names or IP addresses (repeat the option)."),
    ] = None,
) -> None:
    """Renew service certificates (or add names) with the existing CA; restart the services."""
    folder = _directory(directory)
    chosen = services or list(SERVICES)
    unknown = sorted(set(chosen) - set(SERVICES))
    if unknown:
        console.print(f"[red]Unknown service {', '.join(unknown)}: one of {', '.join(SERVICES)}.")
        raise typer.Exit(2)
    extra = [name for value in hosts or [] for name in value.split(",") if name.strip()]
    try:
        issued = issue_certificates(folder, services=chosen, days=days, hosts=extra)
    except (FileNotFoundError, ValueError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    for service, (cert, key) in issued.items():
        console.print(f"{service}: {cert}, key {key}")
    console.print("Restart the services to use them.")


@certs_app.command("show")
def certs_show(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where they are (default DATA_DIR/certs).")
    ] = None,
) -> None:
    """Print each certificate's subject, issuer, names, usages and expiry."""
    folder = _directory(directory)
    paths = [ca_paths(folder)[0], *(service_paths(folder, s)[0] for s in SERVICES)]
    found = [path for path in paths if path.is_file()]
    if not found:
        console.print(f"No certificates in {folder}. Create them with: assistant certs init")
        raise typer.Exit(1)
    for path in found:
        try:
            info = describe(path)
        except ValueError as error:
            console.print(f"[red]{path}: {error}[/red]")
            continue
        state = "EXPIRED" if info.expired else "valid"
        typer.echo(f"{path.name}: {info.subject}")
        typer.echo(f"  issuer:   {info.issuer}")
        typer.echo(f"  expires:  {info.not_after:%Y-%m-%d %H:%M} UTC")
        if info.names:
            typer.echo(f"  names:    {', '.join(info.names)}")
        if info.usages:
            typer.echo(f"  usages:   {', '.join(info.usages)}")
        typer.echo(f"  state:    {state}")
