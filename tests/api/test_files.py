"""Attached files over HTTP: upload, download, delete, limits, cleanup of failed uploads,
ownership, and what the model receives when a message attaches them."""

from __future__ import annotations

import base64
import socket
import struct
import tracemalloc
import uuid
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from orchestrator.main import create_app
from orchestrator.settings import FilesSettings
from orchestrator.store.schema import files
from tests.api.conftest import Api, in_process, make_settings
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.tools import FakeTools
from tests.fixtures.waiting import until

pytestmark = pytest.mark.anyio

LIMIT = 256 * 1024


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG image (red pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
async def app(
    database_url: str,
    data_dir: Path,
    fake_openai: FakeOpenAI,
    tools: FakeTools,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[FastAPI]:
    monkeypatch.setenv("KNOWLEDGE_EMBEDDINGS", "none")
    settings = make_settings(
        database_url,
        data_dir,
        fake_openai.url,  # type: ignore[attr-defined]
        files=FilesSettings(files_max_bytes=LIMIT),
    )
    application = create_app(settings, tools=tools if tools.specs else None)
    async with application.router.lifespan_context(application):
        yield application


def _storage(api: Api) -> Path:
    return api.services.settings.data_dir / "files"


def _leftovers(api: Api) -> list[Path]:
    """Every file in storage, drafts included."""
    return sorted(path for path in _storage(api).rglob("*") if path.is_file())


async def _rows(api: Api, user_id: str) -> int:
    async with api.services.database.engine.connect() as conn:
        return (
            await conn.execute(select(func.count()).where(files.c.user_id == user_id))
        ).scalar_one()


async def upload(
    api: Api, name: str, data: bytes, content_type: str = "text/plain"
) -> httpx.Response:
    return await api.client.post(
        "/api/v1/files", headers=api.headers, files={"file": (name, data, content_type)}
    )


async def test_an_uploaded_file_is_listed_downloaded_as_an_attachment_and_deleted(
    api: Api,
) -> None:
    text = b"# Shopping\n\n- apples\n- pears\n"
    response = await upload(api, "../../etc/Ünïcode notes.md", text, "application/octet-stream")
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["name"] == "Ünïcode notes.md"
    assert (created["size"], created["content_type"]) == (len(text), "text/markdown")
    file_id = created["id"]

    meta = await api.client.get(f"/api/v1/files/{file_id}", headers=api.headers)
    assert meta.json() == created
    listed = await api.client.get("/api/v1/files", headers=api.headers)
    assert [f["id"] for f in listed.json()] == [file_id]

    download = await api.client.get(f"/api/v1/files/{file_id}/content", headers=api.headers)
    assert download.status_code == 200
    assert download.content == text
    assert download.headers["content-type"].startswith("text/markdown")
    assert download.headers["x-content-type-options"] == "nosniff"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Unicode notes.md"')
    assert "filename*=UTF-8''%C3%9Cn%C3%AFcode%20notes.md" in disposition
    assert [p.name for p in _leftovers(api)] == [file_id]

    deleted = await api.client.delete(f"/api/v1/files/{file_id}", headers=api.headers)
    assert deleted.status_code == 204
    gone = await api.client.get(f"/api/v1/files/{file_id}/content", headers=api.headers)
    assert gone.status_code == 404
    assert gone.json()["error"]["type"] == "not_found"
    assert _leftovers(api) == []


async def test_a_file_over_the_limit_is_refused_with_413_and_nothing_is_kept(api: Api) -> None:
    big = b"x" * (LIMIT + 1)
    declared = await upload(api, "big.txt", big)
    assert declared.status_code == 413
    assert "256 KB limit" in declared.json()["error"]["message"]

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: found while reading
        boundary = b"b0undary"
        yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; '
        yield b'filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n'
        for _ in range(8):
            yield b"y" * (LIMIT // 4)
        yield b"\r\n--" + boundary + b"--\r\n"

    streamed = await api.client.post(
        "/api/v1/files",
        headers=api.headers | {"content-type": "multipart/form-data; boundary=b0undary"},
        content=chunked(),
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"] == {
        "type": "payload_too_large",
        "message": "big.txt is larger than the 256 KB limit for a file.",
        "detail": {"limit": LIMIT},
    }
    assert _leftovers(api) == []
    assert await _rows(api, api.user_id) == 0


@pytest.mark.parametrize(
    ("name", "data", "content_type", "status", "says"),
    [
        ("tool.exe", b"MZ\x90\x00", "application/x-msdownload", 415, "cannot be attached"),
        ("archive.zip", b"PK\x03\x04", "application/zip", 415, "cannot be attached"),
        ("cat.png", b"<html><script>alert(1)</script>", "image/png", 415, "does not look like"),
        ("notes.txt", b"\x00\x01\x02binary\x00" * 20, "text/plain", 415, "does not look like"),
        ("empty.txt", b"", "text/plain", 422, "is empty"),
        ("...", b"hello", "text/plain", 422, "needs a name"),
    ],
)
async def test_files_of_the_wrong_kind_get_a_clear_error_and_leave_nothing(
    api: Api, name: str, data: bytes, content_type: str, status: int, says: str
) -> None:
    response = await upload(api, name, data, content_type)
    assert response.status_code == status, response.text
    assert says in response.json()["error"]["message"]
    assert _leftovers(api) == []
    assert await _rows(api, api.user_id) == 0


async def test_a_body_that_is_not_a_file_upload_is_refused(api: Api) -> None:
    as_json = await api.client.post("/api/v1/files", headers=api.headers, json={"file": "x"})
    assert as_json.status_code == 415
    no_file = await api.client.post(
        "/api/v1/files", headers=api.headers, files={"other": (None, b"just a field")}
    )
    assert no_file.status_code == 422
    assert "no `file` field" in no_file.json()["error"]["message"]
    cut = await api.client.post(
        "/api/v1/files",
        headers=api.headers | {"content-type": "multipart/form-data; boundary=zz"},
        content=b'--zz\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nabc',
    )
    assert cut.status_code == 422
    assert "ended before the file did" in cut.json()["error"]["message"]
    assert _leftovers(api) == []


async def test_a_dropped_connection_mid_upload_leaves_nothing_behind(api: Api) -> None:
    url = httpx.URL(str(api.client.base_url))
    token = api.headers["authorization"]
    head = (
        b'--cut\r\nContent-Disposition: form-data; name="file"; filename="half.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
    )
    request = (
        f"POST /api/v1/files HTTP/1.1\r\nHost: {url.host}\r\nAuthorization: {token}\r\n"
        f"Content-Type: multipart/form-data; boundary=cut\r\nContent-Length: {LIMIT - 1}\r\n\r\n"
    ).encode()
    incoming = _storage(api) / ".incoming"
    with socket.create_connection((url.host, url.port)) as sock:
        sock.sendall(request + head + b"z" * (LIMIT // 2))
        await until(lambda: any(incoming.iterdir()))  # being written (no event to wait on)
    await until(lambda: not _leftovers(api))  # the server saw the drop and removed the draft
    assert await _rows(api, api.user_id) == 0


async def test_another_users_file_is_not_found_on_every_route(api: Api) -> None:
    created = (await upload(api, "mine.txt", b"A's secret plans")).json()
    other = await api.as_new_user()
    for method, path in [
        ("GET", f"/api/v1/files/{created['id']}"),
        ("GET", f"/api/v1/files/{created['id']}/content"),
        ("DELETE", f"/api/v1/files/{created['id']}"),
    ]:
        response = await other.client.request(method, path, headers=other.headers)
        assert response.status_code == 404, (method, path)
        assert "secret" not in response.text
    assert (await other.client.get("/api/v1/files", headers=other.headers)).json() == []
    conversation = await other.new_conversation()
    attached = await conversation.send("What does it say?", files=[created["id"]])
    assert attached.status_code == 404
    assert await conversation.messages() == []
    download = await api.client.get(f"/api/v1/files/{created['id']}/content", headers=api.headers)
    assert download.content == b"A's secret plans"


def _user_content(request: dict[str, Any]) -> list[dict[str, Any]]:
    [user] = [m for m in request["messages"] if m["role"] == "user"]
    content = user["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _text(parts: list[dict[str, Any]]) -> str:
    return "".join(part.get("text", "") for part in parts)


async def test_an_attached_text_file_is_shown_to_the_model_and_indexed_in_knowledge(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    notes = "Project Zephyr launches on the ninth of March.\nBudget: 42 marbles.\n"
    created = (await upload(api, "zephyr.md", notes.encode(), "text/markdown")).json()
    conversation = await api.new_conversation()
    fake_openai.script(Reply(text="Zephyr launches on 9 March (from zephyr.md)."))
    events = await conversation.stream("What's in this file?", files=[created["id"]])
    assert events[-1].data == {"status": "completed"}
    shown = _text(_user_content(fake_openai.last_request))
    assert shown.startswith("What's in this file?")
    assert f'"zephyr.md" (id {created["id"]}, text/markdown' in shown
    assert "cite it by its name" in shown
    assert notes in shown

    knowledge = api.app.state.services.knowledge
    hits = await knowledge.search(api.user_id, "Zephyr marbles")
    assert hits and hits[0].title == "zephyr.md"
    meta = (await api.client.get(f"/api/v1/files/{created['id']}", headers=api.headers)).json()
    assert meta["indexed"] is True

    question = (await conversation.messages())[0]
    assert question["attachments"] == [
        {
            "id": created["id"],
            "name": "zephyr.md",
            "content_type": "text/markdown",
            "size": len(notes),
        }
    ]
    assert question["content"] == [{"type": "text", "text": "What's in this file?"}]

    deleted = await api.client.delete(f"/api/v1/files/{created['id']}", headers=api.headers)
    assert deleted.status_code == 204
    assert await knowledge.search(api.user_id, "Zephyr marbles") == []
    assert (await conversation.messages())[0]["attachments"][0]["name"] == "zephyr.md"
    exported = await api.client.get(
        f"{conversation.url}/export",
        headers=api.headers,
        params={"format": "markdown"},
    )
    assert f"*Attached `zephyr.md`* (text/markdown, {len(notes)} bytes)" in exported.text


async def test_an_attached_image_goes_to_the_model_as_an_image_part(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    image = png()
    created = (await upload(api, "red.png", image, "image/png")).json()
    assert created["content_type"] == "image/png"
    conversation = await api.new_conversation()
    fake_openai.script(Reply(text="A red square."))
    events = await conversation.stream("What colour is it?", files=[created["id"]])
    assert events[-1].data == {"status": "completed"}
    parts = _user_content(fake_openai.last_request)
    images = [part for part in parts if part["type"] == "image_url"]
    assert images == [
        {
            "type": "image_url",
            "image_url": {"url": "data:image/png;base64," + base64.b64encode(image).decode()},
        }
    ]
    assert '"red.png"' in _text(parts)

    fake_openai.script(Reply(text="Still red."))
    await conversation.stream("And now?")
    later = fake_openai.last_request["messages"]
    first_question = next(m for m in later if m["role"] == "user")
    assert any(part["type"] == "image_url" for part in first_question["content"])


async def test_a_model_that_refuses_images_gives_a_clear_error(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    created = (await upload(api, "red.png", png(), "image/png")).json()
    conversation = await api.new_conversation()
    fake_openai.script(
        Reply(
            status=400,
            error_message="Invalid content type. image_url is only supported by certain models.",
        )
    )
    events = await conversation.stream("Describe it", files=[created["id"]])
    assert events[-1].name == "error"
    message = events[-1].data["message"]
    assert "did not accept the attached image" in message
    assert "MODEL_VISION=false" in message


async def test_files_alone_make_a_message_and_unknown_ids_are_refused(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    created = (await upload(api, "data.csv", b"name,qty\npears,3\n", "text/csv")).json()
    conversation = await api.new_conversation()
    url = f"{conversation.url}/messages"
    missing = str(uuid.uuid4())
    refused = await api.client.post(
        url, headers=api.headers, json={"files": [created["id"], missing]}
    )
    assert refused.status_code == 404
    assert missing in refused.json()["error"]["message"]
    not_an_id = await api.client.post(url, headers=api.headers, json={"files": ["../x"]})
    assert not_an_id.status_code == 404
    fake_openai.script(Reply(text="Three pears."))
    events = await conversation.stream(None, files=[created["id"]])
    assert events[-1].data == {"status": "completed"}
    assert "pears,3" in _text(_user_content(fake_openai.last_request))


async def test_an_attached_pdf_is_read_as_text_for_the_model(
    api: Api, fake_openai: FakeOpenAI
) -> None:
    from tests.mcp_servers.web.test_fetch import _pdf

    created = (await upload(api, "report.pdf", _pdf(), "application/pdf")).json()
    assert created["content_type"] == "application/pdf"
    conversation = await api.new_conversation()
    fake_openai.script(Reply(text="Revenue grew."))
    events = await conversation.stream("Summarise the report", files=[created["id"]])
    assert events[-1].data == {"status": "completed"}
    shown = _text(_user_content(fake_openai.last_request))
    assert '"report.pdf"' in shown
    assert "Quarterly revenue" in shown


async def test_a_large_upload_streams_through_without_being_held_in_memory(
    database_url: str, data_dir: Path, fake_openai: FakeOpenAI
) -> None:
    size = 40 * 1024 * 1024
    settings = make_settings(
        database_url,
        data_dir,
        fake_openai.url,  # type: ignore[attr-defined]
        files=FilesSettings(files_max_bytes=64 * 1024 * 1024),
    )
    async with in_process(settings, tools=FakeTools()) as base:
        api = await base.as_new_user()
        block = b"0123456789abcdef" * 4096  # 64 KiB

        async def body() -> AsyncIterator[bytes]:
            yield b'--big\r\nContent-Disposition: form-data; name="file"; filename="big.log"'
            yield b"\r\nContent-Type: text/plain\r\n\r\n"
            for _ in range(size // len(block)):
                yield block
            yield b"\r\n--big--\r\n"

        tracemalloc.start()
        try:
            response = await api.client.post(
                "/api/v1/files",
                headers=api.headers | {"content-type": "multipart/form-data; boundary=big"},
                content=body(),
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code == 201, response.text
    assert response.json()["size"] == size
    assert (data_dir / "files" / "files" / response.json()["id"]).stat().st_size == size
    assert peak < 8 * 1024 * 1024, f"{peak / 2**20:.1f} MiB held while uploading 40 MiB"
