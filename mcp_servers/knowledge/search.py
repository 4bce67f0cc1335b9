"""Hybrid retrieval: full-text and vector rankings fused into one.

Search runs two ranked lists, PostgreSQL full-text (`ts_rank_cd` over an OR of the query's
lexemes) and, where pgvector and an embedder are on, cosine distance, and fuses them with
reciprocal rank fusion (score = sum of 1 / (60 + rank)). The callers (`KnowledgeStore`)
decide which rows the user may read; these functions only rank among them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import BigInteger, Text

from mcp_servers.knowledge.records import Hit, MemoryInfo

__all__ = [
    "CANDIDATES",
    "MODEL_NAME",
    "RRF_K",
    "fuse",
    "recall_memories",
    "search_chunks",
    "vector_literal",
]

RRF_K = 60
CANDIDATES = 50
"""How many rows each ranking contributes before fusion."""
MODEL_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
"""An embedding model's name, checked before it is written into a statement."""


def vector_literal(vector: Sequence[float]) -> str:
    """A pgvector literal for a bound parameter (`CAST(:v AS vector)`)."""
    return "[" + ",".join(f"{value:.7g}" for value in vector) + "]"


def fuse(*rankings: list[Any]) -> dict[Any, float]:
    """Reciprocal rank fusion of ranked lists of keys."""
    scores: dict[Any, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
    return scores


async def search_chunks(
    conn: AsyncConnection,
    collection_ids: list[uuid.UUID],
    query: str,
    *,
    cfg: str,
    vectors: bool,
    query_vector: Sequence[float] | None,
    model: str | None,
    limit: int,
) -> list[Hit]:
    """The best chunks for `query` in the given collections, best first.

    `cfg` is the text search configuration (a checked identifier); the vector ranking
    runs only with `vectors` on and a query vector from a model of a valid name.
    """
    ids_param = bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))
    lexical = [
        row.id
        for row in await conn.execute(
            text(
                "SELECT c.id FROM kb_chunks c, "
                "CAST(replace(CAST(plainto_tsquery(CAST(:cfg AS regconfig), :q) AS text), "
                "'&', '|') AS tsquery) query "
                "WHERE c.collection_id = ANY(:ids) AND c.tsv @@ query "
                "ORDER BY ts_rank_cd(c.tsv, query) DESC, c.id LIMIT :k"
            ).bindparams(ids_param),
            {"cfg": cfg, "q": query, "ids": collection_ids, "k": CANDIDATES},
        )
    ]
    semantic: list[int] = []
    if vectors and query_vector is not None and model and MODEL_NAME.match(model):
        dims = len(query_vector)
        # Literal model and dimension, so the planner can use the partial HNSW index.
        await conn.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
        await conn.execute(text("SET LOCAL hnsw.ef_search = 100"))
        semantic = [
            row.id
            for row in await conn.execute(
                text(
                    f"SELECT c.id FROM kb_chunks c WHERE c.embedding_model = '{model}' "  # noqa: S608 - only checked identifiers
                    "AND c.collection_id = ANY(:ids) "
                    f"ORDER BY (c.embedding::vector({dims})) <=> "
                    f"CAST(:v AS vector({dims})) LIMIT :k"
                ).bindparams(ids_param),
                {
                    "v": vector_literal(query_vector),
                    "ids": collection_ids,
                    "k": CANDIDATES,
                },
            )
        ]
    scores = fuse(lexical, semantic)
    best = sorted(scores, key=lambda key: (-scores[key], key))[:limit]
    if not best:
        return []
    rows = await conn.execute(
        text(
            "SELECT c.id, c.document_id, d.title, d.source, k.name AS collection, "
            "c.position, c.char_start, c.char_end, c.page, c.section, c.text "
            "FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id "
            "JOIN kb_collections k ON k.id = c.collection_id WHERE c.id = ANY(:best)"
        ).bindparams(bindparam("best", type_=ARRAY(BigInteger()))),
        {"best": best},
    )
    by_id = {row.id: row for row in rows}
    lexical_set, semantic_set = set(lexical), set(semantic)
    hits: list[Hit] = []
    for key in best:
        row = by_id.get(key)
        if row is None:
            continue
        matched = [
            name for name, s in (("text", lexical_set), ("meaning", semantic_set)) if key in s
        ]
        hits.append(
            Hit(
                chunk_id=row.id,
                document_id=str(row.document_id),
                title=row.title,
                source=row.source,
                collection=row.collection,
                position=row.position,
                char_start=row.char_start,
                char_end=row.char_end,
                page=row.page,
                section=row.section,
                text=row.text,
                score=round(scores[key], 6),
                matched_by=matched,
            )
        )
    return hits


async def recall_memories(
    conn: AsyncConnection,
    user_id: str,
    query: str | None,
    *,
    tags: Sequence[str],
    cfg: str,
    vectors: bool,
    query_vector: Sequence[float] | None,
    model: str | None,
    limit: int,
) -> list[MemoryInfo]:
    """The user's memories best matching `query` (the newest ones without a query)."""
    tag_filter = "AND m.tags @> :tags" if tags else ""
    params: dict[str, Any] = {"user": user_id, "k": CANDIDATES, "cfg": cfg}
    if tags:
        params["tags"] = list(tags)
    tag_param = [bindparam("tags", type_=ARRAY(Text()))] if tags else []
    if not query:
        rows = await conn.execute(
            text(
                "SELECT m.id, m.text, m.tags, m.created_at FROM kb_memories m "  # noqa: S608 - only checked identifiers
                f"WHERE m.owner_id = :user {tag_filter} "
                "ORDER BY m.created_at DESC LIMIT :limit"
            ).bindparams(*tag_param),
            {**params, "limit": limit},
        )
        return [MemoryInfo(str(r.id), r.text, list(r.tags), r.created_at) for r in rows]
    lexical = [
        row.id
        for row in await conn.execute(
            text(
                "SELECT m.id FROM kb_memories m, "  # noqa: S608 - only checked identifiers
                "CAST(replace(CAST(plainto_tsquery(CAST(:cfg AS regconfig), :q) AS text), "
                "'&', '|') AS tsquery) query "
                f"WHERE m.owner_id = :user {tag_filter} AND m.tsv @@ query "
                "ORDER BY ts_rank_cd(m.tsv, query) DESC LIMIT :k"
            ).bindparams(*tag_param),
            {**params, "q": query},
        )
    ]
    semantic: list[Any] = []
    if vectors and query_vector is not None and model and MODEL_NAME.match(model):
        dims = len(query_vector)
        semantic = [
            row.id
            for row in await conn.execute(
                text(
                    f"SELECT m.id FROM kb_memories m WHERE m.owner_id = :user {tag_filter} "  # noqa: S608 - only checked identifiers
                    f"AND m.embedding_model = '{model}' "
                    f"ORDER BY (m.embedding::vector({dims})) <=> "
                    f"CAST(:v AS vector({dims})) LIMIT :k"
                ).bindparams(*tag_param),
                {**params, "v": vector_literal(query_vector)},
            )
        ]
    scores = fuse(lexical, semantic)
    best = sorted(scores, key=lambda key: -scores[key])[:limit]
    if not best:
        return []
    rows = await conn.execute(
        text(
            "SELECT id, text, tags, created_at FROM kb_memories "
            "WHERE id = ANY(:ids) AND owner_id = :user"
        ).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))),
        {"ids": best, "user": user_id},
    )
    by_id = {row.id: row for row in rows}
    return [
        MemoryInfo(
            str(k), by_id[k].text, list(by_id[k].tags), by_id[k].created_at, round(scores[k], 6)
        )
        for k in best
        if k in by_id
    ]
