"""schemathesis over the whole OpenAPI document, as user B, with A's ids where ids go.

The orchestrator serves `/openapi.json` from a thread of its own (schemathesis calls it
synchronously). Every operation gets generated requests, valid and invalid, signed in as
B: once with generated path parameters and once with A's objects' ids in them. Each
answer must not be a 5xx, must have a status, content type and body that the document
declares for the operation, and a call naming A's objects must not succeed. Hypothesis
runs with a fixed seed (the same requests every run) and a bound per operation, so the
whole sweep takes about two minutes here.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok

from orchestrator.store import upgrade
from tests.conftest import PostgresServer
from tests.fakes.openai_server import FakeOpenAI
from tests.security.conftest import Count, Tally, World, open_world
from tests.security.test_idor_matrix import PATH_KINDS

pytestmark = pytest.mark.postgres

MAX_EXAMPLES = 8
"""Per operation and mode (and again with A's ids): about two minutes on 2 busy cores."""

SEED = 9

SKIPPED = {
    # Ends B's sessions: every later call would be a 401.
    ("POST", "/api/v1/auth/logout"),
    # The WebSocket's documentation entry (its attacks are in test_websocket_attacks.py).
    ("GET", "/api/v1/ws"),
}

SUPPRESSED = [
    HealthCheck.too_slow,
    HealthCheck.filter_too_much,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
]
"""Slow or filtered generation is expected here: a few requests per operation are enough."""

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def own_database_url(embedded_server: PostgresServer) -> Iterator[str]:
    """A database of its own: no servers left by other modules' worlds to reconnect to."""
    with embedded_server.database(upgrade) as url:
        yield url


@pytest.fixture(scope="module")
def live_world(
    own_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    openai_fake: FakeOpenAI,
) -> Iterator[World]:
    """The attack suite's world, served from its own thread and event loop."""
    data_dir = tmp_path_factory.mktemp("schemathesis")
    started = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        try:
            async with open_world(own_database_url, data_dir, openai_fake) as world:
                box["stop"] = asyncio.Event()
                box["loop"] = asyncio.get_running_loop()
                box["world"] = world
                started.set()
                await box["stop"].wait()
        except BaseException as error:
            box["error"] = error
            raise
        finally:
            started.set()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(120), "the world did not start"
    if "error" in box:
        raise box["error"]
    try:
        yield box["world"]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(60)
        assert not thread.is_alive()


def _a_ids(world: World, path: str) -> dict[str, str]:
    ids = {}
    for segment_parameter, kind in PATH_KINDS.items():
        parameter = segment_parameter.partition("/")[2].strip("{}")
        if f"{{{parameter}}}" in path:
            ids[parameter] = world.objects[kind][0]
    return ids


def _sweep(
    strategy: Any,
    label: str,
    a_ids: dict[str, str] | None,
    world: World,
    session: requests.Session,
    count: Count,
    findings: dict[str, str],
) -> Any:
    """A Hypothesis test of one operation: its first finding per label is kept."""

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=SUPPRESSED,
    )
    @hypothesis.seed(SEED)
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        count.attempts += 1
        key = f"{case.method} {case.path} ({label})"
        response = case.call(base_url=world.url, session=session, timeout=30)
        count.refusals += response.status_code >= 400
        problem = None
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            problem = "; ".join(f"{f.title}: {f.message[:300]}" for f in group.exceptions)
        except AssertionError as error:
            problem = str(error)[:400]
        if a_ids and response.status_code < 300:
            problem = f"B got {response.status_code} naming A's objects"
        if problem is not None and key not in findings:
            findings[key] = (
                f"{key} -> {response.status_code} {problem} "
                f"[{case.path_parameters} {case.query} {str(case.body)[:200]}]"
            )

    return run


@pytest.mark.timeout(400)
# The orchestrator's thread draws from `random` (reconnection jitter) while Hypothesis
# generates here, which Hypothesis would take for a strategy using `random`.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_schemathesis_finds_no_server_error_and_no_answer_off_the_schema(
    live_world: World, tally: Tally
) -> None:
    world = live_world
    count = tally.attack("schemathesis")
    schema = schemathesis.openapi.from_url(f"{world.url}/openapi.json")
    session = requests.Session()
    session.headers["authorization"] = world.b.headers["authorization"]
    findings: dict[str, str] = {}
    operations = 0
    started = time.perf_counter()

    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        operations += 1
        a_ids = _a_ids(world, operation.path)
        variants: list[tuple[str, GenerationMode, dict[str, str] | None]] = [
            ("valid", GenerationMode.POSITIVE, None),
            ("invalid", GenerationMode.NEGATIVE, None),
        ]
        if a_ids:
            variants.append(("valid, A's ids", GenerationMode.POSITIVE, a_ids))
        for label, mode, path_parameters in variants:
            strategy = operation.as_strategy(mode, path_parameters=path_parameters)

            try:
                _sweep(strategy, label, path_parameters, world, session, count, findings)()
            except Unsatisfiable:
                # Nothing about this operation can be made invalid (no parameters, no body).
                assert mode is GenerationMode.NEGATIVE, (operation.path, label)
    count.findings += findings.values()
    count.note = (
        f"{operations} operations, {count.attempts} generated requests (seed {SEED}) "
        f"in {time.perf_counter() - started:.0f} s"
    )
    assert operations >= 40
    assert list(findings.values()) == []


def test_every_operation_declares_the_errors_its_body_and_credential_can_cause() -> None:
    """What a few generated examples may miss: a body that is not JSON (400), too large
    (413) or invalid (422), and a missing credential (401), on every operation they apply
    to (a deep schemathesis run found a POST without 400 and 413)."""
    from orchestrator.api.app import build_api

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield

    document = build_api(lifespan, max_request_bytes=1024, version="test").openapi()
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            needed = {"400", "413", "422"} if "requestBody" in operation else set()
            if operation.get("security"):
                needed.add("401")
            if lacking := sorted(needed - statuses):
                missing.append(f"{method.upper()} {path}: {lacking}")
    assert missing == []
