"""/readyz is open to anyone who reaches the port: it says what is wrong in its own words,
never with the text of an upstream's error (which can hold credentials or internal hosts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.api.conftest import in_process, make_settings
from tests.fakes.openai_server import FakeOpenAI, served

pytestmark = pytest.mark.anyio

SECRET = "sk-live-LEAKED-7f3a9c"
INTERNAL = "http://admin:hunter2@10.20.30.40:8443/internal"


class FailingModels(FakeOpenAI):
    """An OpenAI-compatible server whose model list fails, its error naming secrets."""

    status = 500

    async def _models(self, request: Request) -> Response:
        return JSONResponse(
            {
                "error": {
                    "message": f"upstream {INTERNAL} refused key {SECRET}",
                    "type": "server_error",
                    "code": SECRET,
                }
            },
            status_code=self.status,
        )


@pytest.fixture(scope="module")
def failing_models() -> Iterator[FailingModels]:
    with served(FailingModels()) as fake:
        yield fake


@pytest.mark.parametrize(
    ("status", "says"),
    [(500, "HTTP 500"), (401, "OPENAI_API_KEY"), (403, "OPENAI_API_KEY"), (404, "OPENAI_BASE_URL")],
)
async def test_readyz_names_the_failing_model_check_without_the_providers_text(
    database_url: str, data_dir: Path, failing_models: FailingModels, status: int, says: str
) -> None:
    failing_models.status = status
    settings = make_settings(database_url, data_dir, failing_models.url)  # type: ignore[attr-defined]
    async with in_process(settings) as api:
        ready = await api.client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not_ready" and body["checks"]["database"] == "ok"
    assert says in body["checks"]["model"]
    for leaked in (SECRET, "hunter2", "10.20.30.40", "upstream", "server_error"):
        assert leaked not in ready.text


async def test_readyz_says_the_model_api_cannot_be_reached_without_its_url(
    database_url: str, data_dir: Path, free_tcp_port: int
) -> None:
    settings = make_settings(database_url, data_dir, f"http://127.0.0.1:{free_tcp_port}/v1")
    async with in_process(settings) as api:
        ready = await api.client.get("/readyz")
    assert ready.status_code == 503
    assert "cannot reach the model API at OPENAI_BASE_URL" in ready.json()["checks"]["model"]
    assert str(free_tcp_port) not in ready.text
