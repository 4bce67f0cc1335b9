"""Mutual TLS between the front end, the orchestrator and our MCP servers (`MTLS=true`).

With it on, every server among them speaks HTTPS and completes a handshake only with a
client that presents a certificate signed by our CA (`ssl.CERT_REQUIRED`), and every client
among them presents its own certificate and accepts only a server certificate signed by that
CA for the host it dialled. A client without a certificate, or with one from another CA, is
refused during the handshake, before any HTTP is read.

The one exception is the browser's leg: browsers have no client certificates, so the front
end's listening side stays as it was (plain HTTP behind a TLS-terminating proxy or ingress).

`MutualTLS` is what one service needs: the CA file and its own certificate and key (see
`common.settings.TLSSettings` for the defaults); it makes the `ssl` contexts for both roles
and the options uvicorn takes. `python -m common.tls URL` is a health probe that presents
the service's certificate (a Kubernetes exec probe: kubelet's own HTTP probes cannot).
"""

from __future__ import annotations

import argparse
import http.client
import ssl
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.certs import ca_paths, service_paths
from common.settings import ConfigError, SharedSettings, TLSSettings

__all__ = ["MutualTLS", "main", "probe", "scheme"]


def scheme(tls: MutualTLS | None) -> str:
    """The URL scheme between our services: `https` with mutual TLS, else `http`."""
    return "https" if tls is not None else "http"


@dataclass(frozen=True, slots=True)
class MutualTLS:
    """One service's side of mutual TLS: the CA it trusts and its own certificate and key."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    @classmethod
    def resolve(cls, tls: TLSSettings, data_dir: Path, service: str) -> MutualTLS:
        """The files for `service`: those configured, else `assistant certs init`'s defaults."""
        directory = tls.dir or data_dir / "certs"
        default_cert, default_key = service_paths(directory, service)
        return cls(
            ca_file=tls.ca_file or ca_paths(directory)[0],
            cert_file=tls.cert_file or default_cert,
            key_file=tls.key_file or default_key,
        )

    @classmethod
    def configured(
        cls, enabled: bool, tls: TLSSettings, data_dir: Path, service: str
    ) -> MutualTLS | None:
        """`resolve`d and checked when `enabled` (MTLS=true), else None.

        Raises:
            ConfigError: a file is missing or unreadable (the message says what to run).
        """
        if not enabled:
            return None
        found = cls.resolve(tls, data_dir, service)
        found.check()
        return found

    @classmethod
    def of(cls, settings: SharedSettings, service: str) -> MutualTLS | None:
        """`configured` from the shared settings (`MTLS`, `TLS_*`, `DATA_DIR`).

        Raises:
            ConfigError: MTLS is on and a file is missing or unreadable.
        """
        return cls.configured(settings.mtls, settings.tls, settings.data_dir, service)

    def check(self) -> None:
        """Fail fast, naming the file, when one cannot be read or they do not fit together.

        Raises:
            ConfigError: with what is wrong and what to do.
        """
        for label, path in (
            ("TLS_CA_FILE", self.ca_file),
            ("TLS_CERT_FILE", self.cert_file),
            ("TLS_KEY_FILE", self.key_file),
        ):
            if not path.is_file():
                raise ConfigError(
                    f"MTLS is on but {label} ({path}) does not exist. Create the certificates "
                    "with `assistant certs init`, or set MTLS=false."
                )
        try:
            self.server_context()
        except (OSError, ssl.SSLError) as error:
            raise ConfigError(
                f"MTLS is on but the certificate {self.cert_file}, its key {self.key_file} or "
                f"the CA {self.ca_file} cannot be used: {error}"
            ) from error

    def server_context(self) -> ssl.SSLContext:
        """A server's context: our certificate, and a client certificate from our CA required.

        Raises:
            OSError, ssl.SSLError: a file is missing or not a certificate or key.
        """
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.ca_file))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client's context: present our certificate, accept only servers from our CA.

        Raises:
            OSError, ssl.SSLError: a file is missing or not a certificate or key.
        """
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_file))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context

    def uvicorn_options(self) -> dict[str, Any]:
        """Keyword arguments for `uvicorn.Config` that serve HTTPS and require client certs."""
        return {
            "ssl_certfile": str(self.cert_file),
            "ssl_keyfile": str(self.key_file),
            "ssl_ca_certs": str(self.ca_file),
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
        }


def probe(url: str, tls: MutualTLS | None, *, timeout: float = 5.0) -> int:
    """GET `url` (presenting our certificate when it is https) and return the status.

    Standard library only, so that a probe run every few seconds starts quickly.

    Raises:
        OSError: no connection, or the handshake failed.
        ssl.SSLError: the handshake failed.
        http.client.HTTPException: the answer is not HTTP.
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if parts.scheme == "https":
        context = tls.client_context() if tls is not None else ssl.create_default_context()
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, parts.port or 443, timeout=timeout, context=context
        )
    else:
        connection = http.client.HTTPConnection(host, parts.port or 80, timeout=timeout)
    try:
        connection.request("GET", parts.path or "/")
        return connection.getresponse().status
    finally:
        connection.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m common.tls URL [--service NAME]`: 0 when URL answers 200, else 1."""
    parser = argparse.ArgumentParser(
        prog="python -m common.tls",
        description="Health probe over mutual TLS (MTLS, TLS_* and DATA_DIR as the service has).",
    )
    parser.add_argument("url", help="e.g. https://127.0.0.1:8000/healthz")
    parser.add_argument(
        "--service", default="orchestrator", help="whose default certificate to present"
    )
    args = parser.parse_args(argv)
    settings = SharedSettings()
    try:
        tls = MutualTLS.of(settings, args.service)
        status = probe(args.url, tls)
    except (ConfigError, OSError, ssl.SSLError, http.client.HTTPException) as error:
        print(f"{args.url}: {error}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"{args.url}: HTTP {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
