"""`assistant certs init` and the TLS contexts made from its files.

The certificates are checked with `cryptography`'s own path validation (as a TLS peer would
check them), and the contexts with a real handshake between an `ssl` server and client on a
loopback socket: a client without a certificate, or with one from another CA, is refused.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store
from typer.testing import CliRunner

from common.certs import SERVICES, CertificateAuthorityExists, init_certificates
from common.settings import ConfigError, TLSSettings
from common.tls import MutualTLS
from orchestrator.cli import app


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tls") / "certs"
    init_certificates(folder, days=30, hosts=["orchestrator.assistant.svc", "10.1.2.3"])
    return folder


@pytest.fixture(scope="module")
def other_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("other-tls") / "certs"
    init_certificates(folder, days=30)
    return folder


def test_each_service_certificate_chains_to_the_ca_for_its_names_as_server_and_client(
    certs: Path,
) -> None:
    ca = _load(certs / "ca.pem")
    now = dt.datetime.now(dt.UTC)
    for service in SERVICES:
        cert = _load(certs / f"{service}.pem")
        policy = PolicyBuilder().store(Store([ca])).time(now)
        for name in ("localhost", service, "orchestrator.assistant.svc"):
            chain = policy.build_server_verifier(x509.DNSName(name)).verify(cert, [])
            assert chain[-1] == ca
        for address in ("127.0.0.1", "10.1.2.3"):
            verifier = policy.build_server_verifier(x509.IPAddress(ipaddress.ip_address(address)))
            verifier.verify(cert, [])
        client = policy.build_client_verifier().verify(cert, [])
        assert client.chain[-1] == ca
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        assert cert.subject.rfc4514_string() == f"CN={service},O=assistant"
        assert dt.timedelta(days=29) < cert.not_valid_after_utc - now <= dt.timedelta(days=30)


def test_a_name_the_certificates_were_not_made_for_does_not_verify(certs: Path) -> None:
    ca = _load(certs / "ca.pem")
    policy = PolicyBuilder().store(Store([ca])).time(dt.datetime.now(dt.UTC))
    with pytest.raises(x509.verification.VerificationError):
        policy.build_server_verifier(x509.DNSName("evil.example")).verify(
            _load(certs / "mcp.pem"), []
        )


def test_another_ca_does_not_vouch_for_our_certificates(certs: Path, other_certs: Path) -> None:
    other = _load(other_certs / "ca.pem")
    policy = PolicyBuilder().store(Store([other])).time(dt.datetime.now(dt.UTC))
    with pytest.raises(x509.verification.VerificationError):
        policy.build_client_verifier().verify(_load(certs / "frontend.pem"), [])


def test_keys_are_readable_by_their_owner_only(certs: Path) -> None:
    assert stat.S_IMODE(certs.stat().st_mode) == 0o700
    for name in ["ca", *SERVICES]:
        assert stat.S_IMODE((certs / f"{name}.key").stat().st_mode) == 0o600
        assert stat.S_IMODE((certs / f"{name}.pem").stat().st_mode) == 0o644


def test_an_existing_ca_is_replaced_only_with_force(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    runner = CliRunner()
    first = runner.invoke(app, ["certs", "init", "--dir", str(folder)])
    assert first.exit_code == 0, first.output
    ca = (folder / "ca.pem").read_bytes()
    again = runner.invoke(app, ["certs", "init", "--dir", str(folder)])
    assert again.exit_code == 1
    assert "--force" in again.output
    assert (folder / "ca.pem").read_bytes() == ca
    with pytest.raises(CertificateAuthorityExists):
        init_certificates(folder)
    forced = runner.invoke(app, ["certs", "init", "--dir", str(folder), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (folder / "ca.pem").read_bytes() != ca


def test_certs_show_prints_subjects_names_and_expiry(certs: Path) -> None:
    shown = CliRunner().invoke(app, ["certs", "show", "--dir", str(certs)])
    assert shown.exit_code == 0, shown.output
    assert "orchestrator.pem: CN=orchestrator,O=assistant" in shown.output
    assert "issuer:   CN=assistant local CA,O=assistant" in shown.output
    assert "orchestrator.assistant.svc" in shown.output and "10.1.2.3" in shown.output
    assert "usages:   serverAuth, clientAuth" in shown.output
    expiry = _load(certs / "mcp.pem").not_valid_after_utc
    assert f"expires:  {expiry:%Y-%m-%d %H:%M} UTC" in shown.output


def test_certs_show_says_how_to_make_them_when_there_are_none(tmp_path: Path) -> None:
    shown = CliRunner().invoke(app, ["certs", "show", "--dir", str(tmp_path)])
    assert shown.exit_code == 1 and "assistant certs init" in shown.output


def test_a_missing_file_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"TLS_CA_FILE .*assistant certs init"):
        MutualTLS.configured(True, TLSSettings(), tmp_path, "orchestrator")
    assert MutualTLS.configured(False, TLSSettings(), tmp_path, "orchestrator") is None


def test_each_service_finds_its_own_files_by_default_and_settings_override_them(
    certs: Path, tmp_path: Path
) -> None:
    found = MutualTLS.resolve(TLSSettings(dir=certs), tmp_path, "mcp")
    assert found == MutualTLS(certs / "ca.pem", certs / "mcp.pem", certs / "mcp.key")
    assert MutualTLS.resolve(TLSSettings(), certs.parent, "frontend").cert_file == (
        certs / "frontend.pem"
    )
    chosen = TLSSettings(cert_file=certs / "orchestrator.pem", key_file=certs / "orchestrator.key")
    assert MutualTLS.resolve(chosen, tmp_path, "mcp").cert_file == certs / "orchestrator.pem"


@pytest.fixture
def tls_server(certs: Path) -> Iterator[int]:
    """An `ssl` server with the orchestrator's server context that greets each client."""
    context = MutualTLS.resolve(TLSSettings(dir=certs), certs, "orchestrator").server_context()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue  # look at `stop` again
            except OSError:
                return
            raw.settimeout(10)
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    conn.sendall(b"hello " + conn.getpeercert()["subject"][1][0][1].encode())
            except (ssl.SSLError, OSError):
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(10)
        listener.close()


def _talk(port: int, context: ssl.SSLContext) -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as conn,
    ):
        # Only read: data the server never reads would turn its close into a reset, which
        # can overtake the TLS alert that says why.
        return conn.recv(100)


def test_a_client_with_our_certificate_is_answered_and_named(certs: Path, tls_server: int) -> None:
    client = MutualTLS.resolve(TLSSettings(dir=certs), certs, "frontend").client_context()
    assert _talk(tls_server, client) == b"hello frontend"


def test_a_client_without_a_certificate_is_refused_at_the_handshake(
    certs: Path, tls_server: int
) -> None:
    anonymous = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    with pytest.raises(ssl.SSLError, match="CERTIFICATE_REQUIRED"):
        _talk(tls_server, anonymous)


def test_a_client_with_a_certificate_from_another_ca_is_refused(
    certs: Path, other_certs: Path, tls_server: int
) -> None:
    stranger = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    stranger.load_cert_chain(other_certs / "frontend.pem", other_certs / "frontend.key")
    with pytest.raises(ssl.SSLError, match="UNKNOWN_CA"):
        _talk(tls_server, stranger)


def test_a_client_refuses_a_server_from_another_ca(other_certs: Path, tls_server: int) -> None:
    client = MutualTLS.resolve(TLSSettings(dir=other_certs), other_certs, "mcp").client_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        _talk(tls_server, client)


def test_certs_issue_renews_a_service_with_the_same_ca_and_new_names(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    init_certificates(folder, days=10)
    ca = (folder / "ca.pem").read_bytes()
    frontend = (folder / "frontend.pem").read_bytes()
    old_mcp = _load(folder / "mcp.pem")
    renewed = CliRunner().invoke(
        app,
        ["certs", "issue", "mcp", "--dir", str(folder), "--days", "90", "--hosts", "mcp.prod"],
    )
    assert renewed.exit_code == 0, renewed.output
    assert (folder / "ca.pem").read_bytes() == ca
    assert (folder / "frontend.pem").read_bytes() == frontend
    mcp = _load(folder / "mcp.pem")
    assert mcp.serial_number != old_mcp.serial_number
    assert mcp.not_valid_after_utc - old_mcp.not_valid_after_utc > dt.timedelta(days=79)
    policy = PolicyBuilder().store(Store([_load(folder / "ca.pem")])).time(dt.datetime.now(dt.UTC))
    policy.build_server_verifier(x509.DNSName("mcp.prod")).verify(mcp, [])
    assert stat.S_IMODE((folder / "mcp.key").stat().st_mode) == 0o600


def test_certs_issue_needs_an_existing_ca_and_a_known_service(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["certs", "issue", "--dir", str(tmp_path)])
    assert missing.exit_code == 1 and "assistant certs init" in missing.output
    init_certificates(tmp_path)
    unknown = runner.invoke(app, ["certs", "issue", "database", "--dir", str(tmp_path)])
    assert unknown.exit_code == 2 and "Unknown service database" in unknown.output
