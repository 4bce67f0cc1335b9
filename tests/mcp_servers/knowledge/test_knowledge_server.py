"""The knowledge server on both PostgreSQL servers: full-text everywhere, hybrid where the
server has pgvector (embedded 18) with OpenAI embeddings from the fake server."""

import base64
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from mcp import Client

from mcp_servers.knowledge import Knowledge, build_server, open_knowledge
from mcp_servers.knowledge.embeddings import OpenAIEmbedder
from mcp_servers.settings import KnowledgeSettings, ServersSettings
from tests.fakes.openai_server import FakeOpenAI
from tests.mcp_servers.conftest import make_settings, new_user
from tests.mcp_servers.web.test_fetch import _pdf

pytestmark = pytest.mark.anyio

POLICY = (
    "# Refund policy\n\nEnterprise customers get a full refund within thirty days.\n\n"
    "## Shipping\n\nParcels ship worldwide with tracking."
)


@pytest.fixture
async def hybrid(
    knowledge_url: str, data_dir: Path, fake_openai: FakeOpenAI
) -> AsyncIterator[Knowledge]:
    client = openai.AsyncOpenAI(api_key="test-key", base_url=fake_openai.url)
    config = make_settings(data_dir, knowledge=KnowledgeSettings(database_url=knowledge_url))
    async with open_knowledge(config, embedder=OpenAIEmbedder(client)) as service:
        yield service


def _meta(settings: ServersSettings, user: str) -> dict[str, Any]:
    from mcp_servers.identity import USER_TOKEN_META_KEY, sign_user_token

    return {USER_TOKEN_META_KEY: sign_user_token(settings.service_token(), "knowledge", user)}


async def test_a_document_added_by_a_tool_is_found_with_a_citation(
    knowledge: Knowledge, settings: ServersSettings
) -> None:
    user = new_user()
    async with Client(build_server(settings, knowledge=knowledge)) as client:
        added = await client.call_tool(
            "add_document", {"content": POLICY, "title": "Policy"}, meta=_meta(settings, user)
        )
        assert not added.is_error
        result = await client.call_tool(
            "search_knowledge",
            {"query": "how do refunds work for enterprise customers?"},
            meta=_meta(settings, user),
        )
    hit = result.structured_content["results"][0]
    assert hit["citation"].startswith("[1] Policy (default), section 'Refund policy', chunk 0")
    assert hit["document"]["uri"].endswith("#chunk=0")
    assert hit["position"]["char_start"] == 0
    assert "thirty days" in hit["text"]


async def test_search_never_returns_another_users_chunks(
    knowledge: Knowledge, settings: ServersSettings
) -> None:
    alice, bob = new_user(), new_user()
    secret = (POLICY + f"\n\nCode word {alice}.").encode()
    document = await knowledge.ingest(alice, secret, mime_type="text/markdown")
    async with Client(build_server(settings, knowledge=knowledge)) as client:
        found = await client.call_tool(
            "search_knowledge",
            {"query": f"refund enterprise code word {alice}"},
            meta=_meta(settings, bob),
        )
        assert document.id not in str(found.structured_content)
        listed = await client.call_tool("list_documents", {}, meta=_meta(settings, bob))
        assert document.id not in str(listed.structured_content)
        delete = await client.call_tool(
            "delete_document", {"document_id": document.id}, meta=_meta(settings, bob)
        )
        assert delete.is_error
        resources = await client.list_resources(meta=_meta(settings, bob))
        assert document.id not in str([r.uri for r in resources.resources])
    assert len(await knowledge.store.documents(alice)) == 1


async def test_shared_collections_are_read_by_all_and_changed_by_admins_only(
    knowledge: Knowledge, settings: ServersSettings
) -> None:
    from mcp_servers.knowledge import NotAllowed

    admin, user = new_user(), new_user()
    name = f"handbook-{new_user()}"
    await knowledge.store.create_collection(None, name, "for everyone")
    shared = await knowledge.ingest(
        admin, b"Holidays: 25 days per year.", collection=name, as_admin=True
    )
    with pytest.raises(NotAllowed):
        await knowledge.ingest(user, b"Holidays: 99 days", collection=name)
    hits = await knowledge.search(user, "holidays per year", collections=[name])
    assert [h.document_id for h in hits] == [shared.id]
    with pytest.raises(NotAllowed):
        await knowledge.store.delete_document(user, shared.id)


async def test_documents_are_resources_of_their_owner(
    knowledge: Knowledge, settings: ServersSettings
) -> None:
    user = new_user()
    document = await knowledge.ingest(user, POLICY.encode(), mime_type="text/markdown")
    async with Client(build_server(settings, knowledge=knowledge)) as client:
        listed = await client.list_resources(meta=_meta(settings, user))
        uri = f"knowledge://documents/{document.id}"
        mine = [str(r.uri) for r in listed.resources if "(shared)" not in (r.description or "")]
        assert mine == [uri]
        read = await client.read_resource(uri, meta=_meta(settings, user))
        assert read.contents[0].text.startswith("# Refund policy")
        from mcp import MCPError

        with pytest.raises(MCPError):
            await client.read_resource(uri, meta=_meta(settings, new_user()))


async def test_html_and_pdf_are_ingested_as_text(knowledge: Knowledge) -> None:
    user = new_user()
    html = (
        "<html><head><title>Guide</title></head><body><article><h1>Setup</h1>"
        + "<p>Connect the router to the modem and wait for the green light. </p>" * 5
        + "</article></body></html>"
    )
    page = await knowledge.ingest(user, html.encode(), filename="guide.html")
    pdf = await knowledge.ingest(user, _pdf(), filename="report.pdf")
    assert (page.kind, pdf.kind) == ("html", "pdf")
    hits = await knowledge.search(user, "quarterly revenue")
    assert hits[0].document_id == pdf.id and hits[0].page == 1
    hits = await knowledge.search(user, "router modem green light")
    assert hits[0].document_id == page.id


async def test_the_same_content_twice_is_stored_once(knowledge: Knowledge) -> None:
    user = new_user()
    first = await knowledge.ingest(user, POLICY.encode(), mime_type="text/markdown")
    second = await knowledge.ingest(user, POLICY.encode(), mime_type="text/markdown")
    assert second.duplicate and second.id == first.id


async def test_pdf_through_the_tool_and_unreadable_content_is_a_tool_error(
    knowledge: Knowledge, settings: ServersSettings
) -> None:
    user = new_user()
    async with Client(build_server(settings, knowledge=knowledge)) as client:
        ok = await client.call_tool(
            "add_document",
            {"content": base64.b64encode(_pdf()).decode(), "format": "pdf_base64"},
            meta=_meta(settings, user),
        )
        broken = await client.call_tool(
            "add_document",
            {"content": base64.b64encode(b"%PDF-1.4 junk").decode(), "format": "pdf_base64"},
            meta=_meta(settings, user),
        )
    assert not ok.is_error and ok.structured_content["kind"] == "pdf"
    assert broken.is_error and "PDF" in broken.content[0].text


async def test_memories_are_per_user(knowledge: Knowledge, settings: ServersSettings) -> None:
    alice, bob = new_user(), new_user()
    async with Client(build_server(settings, knowledge=knowledge)) as client:
        kept = await client.call_tool(
            "remember",
            {"text": "Alice prefers metric units", "tags": ["prefs"]},
            meta=_meta(settings, alice),
        )
        memory_id = kept.structured_content["id"]
        found = await client.call_tool(
            "recall", {"query": "which units?"}, meta=_meta(settings, alice)
        )
        assert [m["id"] for m in found.structured_content["memories"]] == [memory_id]
        other = await client.call_tool("recall", {"query": "units"}, meta=_meta(settings, bob))
        assert other.structured_content["memories"] == []
        stolen = await client.call_tool(
            "forget", {"memory_id": memory_id}, meta=_meta(settings, bob)
        )
        assert stolen.is_error
        gone = await client.call_tool(
            "forget", {"memory_id": memory_id}, meta=_meta(settings, alice)
        )
        assert not gone.is_error
        assert (
            await client.call_tool("recall", {}, meta=_meta(settings, alice))
        ).structured_content == {"memories": []}


async def test_hybrid_search_uses_pgvector_where_the_server_has_it(
    hybrid: Knowledge, fake_openai: FakeOpenAI, postgres: Any
) -> None:
    user = new_user()
    await hybrid.ingest(user, POLICY.encode(), mime_type="text/markdown")
    hits = await hybrid.search(user, "refund enterprise")
    if postgres.name == "embedded-pg18":
        assert hybrid.mode == "hybrid (text-embedding-3-small)"
        assert set(hits[0].matched_by) == {"text", "meaning"}
        assert fake_openai.embedding_requests[0]["model"] == "text-embedding-3-small"
    else:
        assert hybrid.mode == "full-text"
        assert hits[0].matched_by == ["text"]
        assert fake_openai.embedding_requests == [], "no embeddings without pgvector"


async def test_meaning_finds_what_words_alone_miss(hybrid: Knowledge, postgres: Any) -> None:
    user = new_user()
    await hybrid.ingest(user, b"Parcels ship worldwide, tracked", filename="a.txt")
    hits = await hybrid.search(user, "tracked parcels worldwide ship")
    assert hits
    if postgres.name == "embedded-pg18":
        assert "meaning" in hits[0].matched_by
    else:  # no pgvector: the same question is answered by its words alone
        assert all(hit.matched_by == ["text"] for hit in hits)


async def test_a_failing_embedding_api_falls_back_to_full_text(
    hybrid: Knowledge, fake_openai: FakeOpenAI
) -> None:
    user = new_user()
    fake_openai.embeddings_status = 500
    await hybrid.ingest(user, POLICY.encode(), mime_type="text/markdown")
    hits = await hybrid.search(user, "refund enterprise")
    assert hits and hits[0].matched_by == ["text"]


async def test_search_respects_the_named_collections(knowledge: Knowledge) -> None:
    user = new_user()
    await knowledge.ingest(user, b"Apples are red", collection="fruit")
    await knowledge.ingest(user, b"Apples of the eye", collection="idioms")
    hits = await knowledge.search(user, "apples", collections=["fruit"])
    assert [h.collection for h in hits] == ["fruit"]
    from mcp_servers.knowledge import NotFoundError

    with pytest.raises(NotFoundError):
        await knowledge.search(user, "apples", collections=["someone-elses"])


@pytest.fixture
def meta_factory(settings: ServersSettings) -> Callable[[str], dict[str, Any]]:
    return lambda user: _meta(settings, user)
