"""A local certificate authority for mutual TLS between our services (`assistant certs init`).

One CA, and one certificate with its key per service (`orchestrator`, `frontend`, `mcp`),
each usable both as a server and as a client certificate (extended key usages serverAuth and
clientAuth), naming the service, `localhost`, `127.0.0.1` and `::1`, plus any host names or
addresses given. Made with the `cryptography` package: no openssl command is run. Keys are
ECDSA P-256, written readable by their owner only.

`issue_certificates` renews service certificates (or adds names) with the existing CA.
The layout of the folder (default `DATA_DIR/certs`) is what `common.tls` reads by default:
`ca.pem`, `ca.key`, and `<service>.pem` / `<service>.key`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "SERVICES",
    "CertificateAuthorityExists",
    "CertificateInfo",
    "IssuedFiles",
    "ca_paths",
    "describe",
    "init_certificates",
    "issue_certificates",
    "service_paths",
]

SERVICES = ("orchestrator", "frontend", "mcp")
"""The services that get a certificate: the front end, the orchestrator, our MCP servers."""

_CA_DAYS = 3650
_DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
_USAGE_NAMES: dict[x509.ObjectIdentifier, str] = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
}


class CertificateAuthorityExists(Exception):
    """A CA is already in the folder; replacing it would invalidate every certificate."""


@dataclass(frozen=True, slots=True)
class IssuedFiles:
    """What `init_certificates` wrote: the CA certificate and each service's cert and key."""

    ca_cert: Path
    ca_key: Path
    services: dict[str, tuple[Path, Path]]


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What `assistant certs show` prints about one certificate."""

    path: Path
    subject: str
    issuer: str
    not_after: dt.datetime
    names: tuple[str, ...]
    usages: tuple[str, ...]

    @property
    def expired(self) -> bool:
        """Whether the certificate's validity has ended."""
        return self.not_after <= dt.datetime.now(dt.UTC)


def ca_paths(directory: Path) -> tuple[Path, Path]:
    """Where the CA's certificate and key live in `directory`."""
    return directory / "ca.pem", directory / "ca.key"


def service_paths(directory: Path, service: str) -> tuple[Path, Path]:
    """Where a service's certificate and key live in `directory`."""
    return directory / f"{service}.pem", directory / f"{service}.key"


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write `data` aside and move it into place, created with `mode` (never wider)."""
    draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as file:
        file.write(data)
    os.chmod(draft, mode)
    os.replace(draft, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _alternative_names(names: Iterable[str]) -> list[x509.GeneralName]:
    found: list[x509.GeneralName] = []
    for name in dict.fromkeys(n.strip() for n in names if n.strip()):
        try:
            found.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            found.append(x509.DNSName(name))
    return found


def _new_ca(days: int, now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "assistant"),
            x509.NameAttribute(NameOID.COMMON_NAME, "assistant local CA"),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _issue(
    service: str,
    hosts: Sequence[str],
    days: int,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    now: dt.datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "assistant"),
            x509.NameAttribute(NameOID.COMMON_NAME, service),
        ]
    )
    ca_identifier = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName(_alternative_names([service, *_DEFAULT_HOSTS, *hosts])),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_identifier),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def init_certificates(
    directory: Path,
    *,
    days: int = 825,
    hosts: Sequence[str] = (),
    services: Sequence[str] = SERVICES,
    force: bool = False,
) -> IssuedFiles:
    """Create a CA in `directory` and issue a certificate for each service with it.

    `days` is how long the service certificates last (the CA lasts ten years, or `days` if
    longer); `hosts` are extra names or addresses every service certificate is valid for
    (the names the services reach each other by, e.g. Kubernetes service names).

    Raises:
        CertificateAuthorityExists: the folder already holds a CA and `force` is not set.
        ValueError: `days` is not positive.
    """
    if days <= 0:
        raise ValueError("days must be positive")
    ca_cert_path, ca_key_path = ca_paths(directory)
    if (ca_cert_path.exists() or ca_key_path.exists()) and not force:
        raise CertificateAuthorityExists(
            f"{ca_cert_path} already exists: replacing the CA invalidates every certificate it "
            "signed. Use --force to replace it."
        )
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    now = dt.datetime.now(dt.UTC)
    ca_cert, ca_key = _new_ca(max(days, _CA_DAYS), now)
    _write(ca_key_path, _key_pem(ca_key), 0o600)
    _write(ca_cert_path, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    issued = issue_certificates(directory, services=services, days=days, hosts=hosts)
    return IssuedFiles(ca_cert_path, ca_key_path, issued)


def issue_certificates(
    directory: Path,
    *,
    services: Sequence[str] = SERVICES,
    days: int = 825,
    hosts: Sequence[str] = (),
) -> dict[str, tuple[Path, Path]]:
    """Issue new certificates and keys for `services` with the CA already in `directory`.

    For renewing them, or adding host names, without replacing the CA (which every
    service trusts). The old files are replaced.

    Raises:
        FileNotFoundError: there is no CA in the folder (run `init_certificates` first).
        ValueError: `days` is not positive, or the CA files are not a certificate and key.
    """
    if days <= 0:
        raise ValueError("days must be positive")
    ca_cert_path, ca_key_path = ca_paths(directory)
    if not (ca_cert_path.is_file() and ca_key_path.is_file()):
        raise FileNotFoundError(f"No CA in {directory}: create one with `assistant certs init`.")
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca_key_path} is not the EC key `assistant certs init` writes")
    now = dt.datetime.now(dt.UTC)
    issued: dict[str, tuple[Path, Path]] = {}
    for service in services:
        cert, key = _issue(service, hosts, days, ca_cert, ca_key, now)
        cert_path, key_path = service_paths(directory, service)
        _write(key_path, _key_pem(key), 0o600)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        issued[service] = (cert_path, key_path)
    return issued


def describe(path: Path) -> CertificateInfo:
    """Subject, issuer, expiry, names and usages of the PEM certificate at `path`.

    Raises:
        OSError: the file cannot be read.
        ValueError: it holds no PEM certificate.
    """
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    names: tuple[str, ...] = ()
    usages: tuple[str, ...] = ()
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(
            [*san.get_values_for_type(x509.DNSName)]
            + [str(a) for a in san.get_values_for_type(x509.IPAddress)]
        )
    except x509.ExtensionNotFound:
        pass
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        usages = tuple(_USAGE_NAMES.get(oid) or oid.dotted_string for oid in eku)
    except x509.ExtensionNotFound:
        pass
    return CertificateInfo(
        path=path,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
        names=names,
        usages=usages,
    )
