"""Uploading documents to the knowledge base through the orchestrator API."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from orchestrator.main import create_app
from orchestrator.settings import DatabaseSettings, OpenAISettings, Settings
from tests.mcp_servers.web.test_fetch import _pdf

pytestmark = pytest.mark.anyio


@pytest.fixture
async def api(
    database_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("KNOWLEDGE_EMBEDDINGS", "none")
    settings = Settings(
        data_dir=data_dir,
        database=DatabaseSettings(url=database_url),
        openai=OpenAISettings(api_key=None, base_url=None),
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def login(api: httpx.AsyncClient, *, admin: bool = False) -> dict[str, str]:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    services = api.app.state.services  # type: ignore[attr-defined]
    await services.auth.create_user(email, "correct horse battery", is_admin=admin)
    response = await api.post(
        "/api/v1/auth/token", json={"email": email, "password": "correct horse battery"}
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_an_uploaded_pdf_is_listed_and_searchable(api: httpx.AsyncClient) -> None:
    headers = await login(api)
    response = await api.post(
        "/api/v1/knowledge/documents",
        headers=headers,
        files={"file": ("report.pdf", _pdf(), "application/pdf")},
        data={"collection": "reports"},
    )
    assert response.status_code == 201, response.text
    document = response.json()
    assert (document["kind"], document["collection"], document["chunks"]) == ("pdf", "reports", 1)
    listed = await api.get("/api/v1/knowledge/documents", headers=headers)
    assert [d["id"] for d in listed.json()] == [document["id"]]
    knowledge = api.app.state.services.knowledge
    user = (await api.get("/api/v1/auth/me", headers=headers)).json()["id"]
    hits = await knowledge.search(user, "quarterly revenue")
    assert hits[0].document_id == document["id"] and hits[0].page == 1


async def test_uploads_larger_than_a_message_are_accepted_up_to_their_own_limit(
    api: httpx.AsyncClient,
) -> None:
    headers = await login(api)
    text = ("A long line of words about nothing in particular. " * 40 + "\n\n") * 700
    assert len(text) > 1_048_576
    response = await api.post(
        "/api/v1/knowledge/documents",
        headers=headers,
        files={"file": ("long.md", text.encode(), "text/markdown")},
    )
    assert response.status_code == 201, response.text


async def test_other_users_documents_are_invisible_and_untouchable(api: httpx.AsyncClient) -> None:
    alice, bob = await login(api), await login(api)
    created = await api.post(
        "/api/v1/knowledge/documents",
        headers=alice,
        files={"file": ("notes.txt", b"private notes", "text/plain")},
    )
    document_id = created.json()["id"]
    assert document_id not in str(
        (await api.get("/api/v1/knowledge/documents", headers=bob)).json()
    )
    deleted = await api.delete(f"/api/v1/knowledge/documents/{document_id}", headers=bob)
    assert deleted.status_code == 404
    assert (
        await api.delete(f"/api/v1/knowledge/documents/{document_id}", headers=alice)
    ).status_code == 204


async def test_only_admins_create_and_fill_shared_collections(api: httpx.AsyncClient) -> None:
    admin, user = await login(api, admin=True), await login(api)
    name = f"handbook-{uuid.uuid4().hex[:8]}"
    refused = await api.post(
        "/api/v1/knowledge/collections", headers=user, json={"name": name, "shared": True}
    )
    assert refused.status_code == 403
    created = await api.post(
        "/api/v1/knowledge/collections", headers=admin, json={"name": name, "shared": True}
    )
    assert created.status_code == 201 and created.json()["shared"] is True
    upload = {"file": ("h.md", b"# Handbook\n\nHolidays are 25 days.", "text/markdown")}
    assert (
        await api.post(
            "/api/v1/knowledge/documents", headers=user, files=upload, data={"collection": name}
        )
    ).status_code == 403
    assert (
        await api.post(
            "/api/v1/knowledge/documents", headers=admin, files=upload, data={"collection": name}
        )
    ).status_code == 201
    collections = (await api.get("/api/v1/knowledge/collections", headers=user)).json()
    assert {"name": name, "description": "", "shared": True, "documents": 1} in collections


async def test_unreadable_or_missing_files_are_client_errors(api: httpx.AsyncClient) -> None:
    headers = await login(api)
    image = await api.post(
        "/api/v1/knowledge/documents",
        headers=headers,
        files={"file": ("x.png", b"\x89PNG\r\n\x1a\n" + bytes(10), "image/png")},
    )
    assert image.status_code == 422
    assert (await api.post("/api/v1/knowledge/documents", headers=headers)).status_code == 422
    no_token = await api.post(
        "/api/v1/knowledge/documents", files={"file": ("a.txt", b"x", "text/plain")}
    )
    assert no_token.status_code == 401
