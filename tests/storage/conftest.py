"""A real S3-compatible server: moto's server mode, as its own process on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.fixtures.processes import free_port, listening


@pytest.fixture(scope="session")
def s3_url() -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with listening(command, port, graceful=True):
        yield f"http://127.0.0.1:{port}"
