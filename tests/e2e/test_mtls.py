"""Mutual TLS between the services, as a user turns it on: `assistant certs init`, then
`assistant up` with MTLS=true. Real processes, real ports, real handshakes.

The orchestrator and our MCP servers speak HTTPS and refuse, during the handshake, a client
without a certificate or with one from another CA; the orchestrator lists our servers'
tools (it reached them over mutual TLS), and the front end logs a user in (it reached the
orchestrator over mutual TLS) while the browser's side stays plain HTTP.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from common.certs import init_certificates
from orchestrator.store import upgrade
from tests.conftest import SYSTEM_POSTGRES, PostgresServer
from tests.fakes.openai_server import FakeOpenAI
from tests.fixtures.accounts import ADMIN_EMAIL, ADMIN_PASSWORD, seed_admin
from tests.fixtures.processes import REPO, free_port

# The checkout's own code (the console script would import the installed one).
ASSISTANT = [sys.executable, "-c", "from orchestrator.cli import main; main()"]


@dataclass
class Stack:
    url: str
    mcp_url: str
    frontend_url: str
    certs: Path
    other_certs: Path
    output: list[str]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "DATABASE_", "MTLS", "TLS_", "MCP_", "FRONTEND_"))
    }
    env.update(ASSISTANT_ENV_FILE="", DATA_DIR=str(data_dir), **extra)
    return env


async def _migrate_and_seed(url: str) -> None:
    await upgrade(url)
    await seed_admin(url)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, openai_fake: FakeOpenAI) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("mtls-data")
    other = tmp_path_factory.mktemp("other-ca") / "certs"
    init_certificates(other)
    postgres = PostgresServer("system-pg15", SYSTEM_POSTGRES)
    port, mcp_port, frontend_port = free_port(), free_port(), free_port()
    env = _env(
        data_dir,
        OPENAI_BASE_URL=openai_fake.url,  # type: ignore[attr-defined]
        MTLS="true",
        PORT=str(port),
        MCP_PORT=str(mcp_port),
        MCP_CONFIG=str(data_dir / "no-mcp.json"),
        FRONTEND_PORT=str(frontend_port),
        KNOWLEDGE_EMBEDDINGS="none",
    )
    made = subprocess.run(
        [*ASSISTANT, "certs", "init"], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    with postgres.database(_migrate_and_seed) as database_url:
        process = subprocess.Popen(
            [*ASSISTANT, "up"],
            env=env | {"DATABASE_URL": database_url},
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        output: list[str] = []
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline:
                line = process.stderr.readline()
                if not line:
                    break
                output.append(line)
                if "Ctrl-C stops it." in line:
                    break
            else:
                raise AssertionError("assistant up did not get ready:\n" + "".join(output))
            assert "Ctrl-C stops it." in output[-1], "".join(output)
            if not any(line.startswith("✓ mcp servers") for line in output):
                log = data_dir / "logs" / "mcp-servers.log"
                raise AssertionError(
                    "".join(output) + (log.read_text() if log.exists() else "no log")
                )
            yield Stack(
                url=f"https://127.0.0.1:{port}",
                mcp_url=f"https://127.0.0.1:{mcp_port}",
                frontend_url=f"http://127.0.0.1:{frontend_port}",
                certs=data_dir / "certs",
                other_certs=other,
                output=output,
            )
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stderr.close()


def _ours(certs: Path, service: str = "frontend") -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    context.load_cert_chain(certs / f"{service}.pem", certs / f"{service}.key")
    return context


def _handshake(url: str, context: ssl.SSLContext) -> bytes:
    """A request to `/healthz` on a raw TLS socket: the start of the answer.

    A refused handshake ends with an alert (an `ssl.SSLError`) or, from asyncio's TLS, with
    the connection closed before any byte of HTTP (b"").
    """
    host, port = httpx.URL(url).host, httpx.URL(url).port
    assert port is not None
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as conn,
    ):
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        return conn.recv(200)


def _refused(url: str, context: ssl.SSLContext) -> bool:
    """Whether the server ends the connection in the handshake, before answering HTTP."""
    try:
        return _handshake(url, context) == b""
    except (ssl.SSLError, ConnectionResetError):
        return True


def test_up_announces_https_addresses_for_the_services(stack: Stack) -> None:
    banner = "".join(stack.output)
    assert f"API: {stack.url}" in banner, banner
    # `up` waited for each over https with the orchestrator's certificate.
    assert re.search(r"✓ mcp servers +https://", banner), banner
    assert re.search(r"✓ frontend +http://", banner), banner
    assert f"{stack.mcp_url}/mcp/<name>" in banner
    assert f"open {stack.frontend_url} in your browser" in banner


@pytest.mark.parametrize("service", ["orchestrator", "mcp"])
def test_a_client_with_our_certificate_is_served(stack: Stack, service: str) -> None:
    url = stack.url if service == "orchestrator" else stack.mcp_url
    assert _handshake(url, _ours(stack.certs)).startswith(b"HTTP/1.1 200")
    with httpx.Client(verify=_ours(stack.certs), timeout=10) as client:
        assert client.get(f"{url}/healthz").status_code == 200


@pytest.mark.parametrize("service", ["orchestrator", "mcp"])
def test_a_client_without_a_certificate_is_refused_at_the_handshake(
    stack: Stack, service: str
) -> None:
    url = stack.url if service == "orchestrator" else stack.mcp_url
    anonymous = ssl.create_default_context(cafile=str(stack.certs / "ca.pem"))
    assert _refused(url, anonymous)
    with (
        httpx.Client(verify=anonymous, timeout=10) as client,
        pytest.raises(httpx.TransportError),
    ):
        client.get(f"{url}/healthz")


@pytest.mark.parametrize("service", ["orchestrator", "mcp"])
def test_a_client_with_a_certificate_from_another_ca_is_refused(stack: Stack, service: str) -> None:
    url = stack.url if service == "orchestrator" else stack.mcp_url
    stranger = ssl.create_default_context(cafile=str(stack.certs / "ca.pem"))
    stranger.load_cert_chain(stack.other_certs / "frontend.pem", stack.other_certs / "frontend.key")
    assert _refused(url, stranger)


def test_plain_http_gets_no_answer_from_the_orchestrator(stack: Stack) -> None:
    with httpx.Client(timeout=10) as client, pytest.raises(httpx.TransportError):
        client.get(stack.url.replace("https://", "http://") + "/healthz")


def test_the_orchestrator_reaches_our_mcp_servers_over_mutual_tls(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url, verify=_ours(stack.certs, "orchestrator")) as client:
        token = client.post(
            "/api/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 60
        names: set[str] = set()
        while time.monotonic() < deadline:  # discovery and the connections take a moment
            listed = client.get("/api/v1/tools", headers=headers).json()["items"]
            names = {tool["name"] for tool in listed}
            if {"files__read_file", "web__fetch"} <= names:
                break
            time.sleep(0.5)
        assert {"files__read_file", "files__write_file", "web__fetch"} <= names, names


@pytest.mark.anyio
async def test_our_assistant_mcp_server_reaches_the_orchestrator_over_mutual_tls(
    stack: Stack,
) -> None:
    # The `assistant` server checks the caller's token with the orchestrator, then lists
    # their conversations through its API: both calls go out with the MCP servers' cert.
    async with httpx2.AsyncClient(base_url=stack.url, verify=_ours(stack.certs)) as api:
        login = await api.post(
            "/api/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        token = login.json()["access_token"]
        created = await api.post(
            "/api/v1/conversations",
            json={"title": "over mutual TLS"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201, created.text
    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, verify=_ours(stack.certs, "orchestrator")
    )
    with anyio.fail_after(60):
        async with (
            http,
            Client(
                streamable_http_client(f"{stack.mcp_url}/mcp/assistant", http_client=http)
            ) as client,
        ):
            listed = await client.call_tool("list_conversations", {"limit": 5})
    assert not listed.is_error, listed
    assert "over mutual TLS" in str(listed.structured_content or listed.content)


def test_the_front_end_logs_a_user_in_through_the_orchestrator_over_mutual_tls(
    stack: Stack,
) -> None:
    with httpx.Client(base_url=stack.frontend_url, timeout=30) as browser:
        form = browser.get("/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
        assert token is not None, form
        answer = browser.post(
            "/login",
            data={"csrf_token": token[1], "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        )
        assert answer.status_code == 302 and answer.headers["location"] == "/", answer.text
        assert browser.get("/api/me").json()["email"] == ADMIN_EMAIL


def _probe(url: str, certs: Path) -> subprocess.CompletedProcess[str]:
    env = _env(certs.parent, MTLS="true", TLS_DIR=str(certs))
    return subprocess.run(
        [sys.executable, "-m", "common.tls", f"{url}/healthz", "--service", "orchestrator"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_health_probe_passes_with_our_certificate_and_fails_with_another(
    stack: Stack,
) -> None:
    assert _probe(stack.url, stack.certs).returncode == 0
    assert _probe(stack.mcp_url, stack.certs).returncode == 0
    refused = _probe(stack.url, stack.other_certs)
    assert refused.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in refused.stderr
