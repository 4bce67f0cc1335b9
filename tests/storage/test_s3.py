"""Attached files in an S3-compatible bucket, against a real S3 server process (moto's)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from orchestrator.domain import NotFound
from orchestrator.main import create_app
from orchestrator.settings import ConfigError, FilesSettings
from orchestrator.storage import S3Storage, open_storage
from orchestrator.storage.s3 import PART_BYTES
from tests.api.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAI, Reply

pytestmark = pytest.mark.anyio


def _connect(url: str, bucket: str) -> S3Storage:
    return S3Storage.connect(
        endpoint_url=url,
        bucket=bucket,
        access_key_id="test-key",
        secret_access_key="test-secret",
        region="us-east-1",
    )


@pytest.fixture
async def storage(s3_url: str) -> S3Storage:
    storage = _connect(s3_url, f"files-{uuid.uuid4().hex[:12]}")
    await storage.open()
    return storage


def _objects(storage: S3Storage) -> list[str]:
    listed = storage.client.list_objects_v2(Bucket=storage.bucket)
    return [item["Key"] for item in listed.get("Contents", [])]


def _pending_uploads(storage: S3Storage) -> list[dict[str, Any]]:
    return storage.client.list_multipart_uploads(Bucket=storage.bucket).get("Uploads", [])


async def _read(storage: S3Storage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key)])


async def test_small_and_multipart_uploads_appear_only_when_committed(storage: S3Storage) -> None:
    small = await storage.begin("files/small", "text/plain")
    await small.write(b"hello ")
    await small.write(b"bucket")
    assert _objects(storage) == []
    await small.commit()
    assert await _read(storage, "files/small") == b"hello bucket"

    big_data = bytes(range(256)) * ((PART_BYTES * 2 + 12345) // 256)
    big = await storage.begin("files/big", "application/pdf")
    for start in range(0, len(big_data), 1 << 20):
        await big.write(big_data[start : start + (1 << 20)])
    assert len(_pending_uploads(storage)) == 1
    assert _objects(storage) == ["files/small"]
    await big.commit()
    assert _pending_uploads(storage) == []
    assert await _read(storage, "files/big") == big_data
    head = storage.client.head_object(Bucket=storage.bucket, Key="files/big")
    assert head["ContentType"] == "application/pdf"

    await storage.delete("files/big")
    with pytest.raises(NotFound):
        await _read(storage, "files/big")


async def test_an_aborted_multipart_upload_leaves_no_parts_or_object(storage: S3Storage) -> None:
    upload = await storage.begin("files/half", "text/plain")
    await upload.write(b"a" * (PART_BYTES + 1))
    assert len(_pending_uploads(storage)) == 1
    await upload.abort()
    assert _pending_uploads(storage) == []
    assert _objects(storage) == []


@pytest.fixture
async def api_on_s3(
    s3_url: str,
    database_url: str,
    data_dir: Path,
    fake_openai: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], S3Storage]]:
    monkeypatch.setenv("KNOWLEDGE_EMBEDDINGS", "none")
    bucket = f"assistant-{uuid.uuid4().hex[:12]}"
    files = FilesSettings(
        s3_endpoint_url=s3_url,
        s3_bucket=bucket,
        s3_access_key_id="test-key",
        s3_secret_access_key=SecretStr("test-secret"),
        files_max_bytes=PART_BYTES + PART_BYTES // 2,
    )
    settings = make_settings(database_url, data_dir, fake_openai.url, files=files)  # type: ignore[attr-defined]
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services = app.state.services
        email = f"{uuid.uuid4().hex[:10]}@test.example"
        await services.auth.create_user(email, "password-123", is_admin=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            token = await client.post(
                "/api/v1/auth/token", json={"email": email, "password": "password-123"}
            )
            headers = {"authorization": f"Bearer {token.json()['access_token']}"}
            yield client, headers, services.files.storage


async def test_the_files_api_stores_in_the_bucket_when_s3_is_configured(
    api_on_s3: tuple[httpx.AsyncClient, dict[str, str], S3Storage], fake_openai: FakeOpenAI
) -> None:
    client, headers, storage = api_on_s3
    assert isinstance(storage, S3Storage)
    data = b"Rows of pears: 3\n" * 1000
    created = await client.post(
        "/api/v1/files", headers=headers, files={"file": ("pears.txt", data, "text/plain")}
    )
    assert created.status_code == 201, created.text
    file_id = created.json()["id"]
    assert _objects(storage) == [f"files/{file_id}"]
    download = await client.get(f"/api/v1/files/{file_id}/content", headers=headers)
    assert download.content == data
    assert download.headers["content-type"].startswith("text/plain")

    conversation = (await client.post("/api/v1/conversations", headers=headers, json={})).json()
    fake_openai.script(Reply(text="Three pears per row."))
    sent = await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        headers=headers,
        json={"content": "How many pears?", "files": [file_id]},
    )
    assert sent.status_code == 202

    deleted = await client.delete(f"/api/v1/files/{file_id}", headers=headers)
    assert deleted.status_code == 204
    assert _objects(storage) == []


async def test_an_upload_over_the_limit_leaves_nothing_in_the_bucket(
    api_on_s3: tuple[httpx.AsyncClient, dict[str, str], S3Storage],
) -> None:
    client, headers, storage = api_on_s3

    async def body() -> AsyncIterator[bytes]:  # chunked: the limit is found while reading
        yield b'--zz\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        for _ in range(4):
            yield b"1,2,3\n" * (PART_BYTES // 6 // 2)
        yield b"\r\n--zz--\r\n"

    response = await client.post(
        "/api/v1/files",
        headers=headers | {"content-type": "multipart/form-data; boundary=zz"},
        content=body(),
    )
    assert response.status_code == 413
    assert "big.csv is larger than" in response.json()["error"]["message"]
    assert _objects(storage) == []
    assert _pending_uploads(storage) == []


async def test_an_unreachable_bucket_stops_startup_with_a_clear_message() -> None:
    files = FilesSettings(
        s3_endpoint_url="http://127.0.0.1:9",
        s3_access_key_id="test-key",
        s3_secret_access_key=SecretStr("test-secret"),
    )
    with pytest.raises(ConfigError, match="Cannot use the bucket assistant-files at S3_"):
        await open_storage(files, "unused")
