"""Knowledge store: collections, documents, chunks, memories; vectors where pgvector is.

Revision ID: k0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision = "k0001"
down_revision = None
branch_labels = ("knowledge",)
depends_on = None

# Known embedding models and their dimensions: each gets a partial HNSW index.
INDEXED_MODELS = {"all-MiniLM-L6-v2": 384, "text-embedding-3-small": 1536}


def upgrade() -> None:
    # One statement per execute: asyncpg prepares each, and a prepared statement holds one.
    for statement in _TABLES.split(";"):
        if statement.strip():
            op.execute(statement)
    add_vectors()


_TABLES = """
        CREATE TABLE kb_collections (
            id uuid PRIMARY KEY,
            owner_id text,
            name text NOT NULL,
            description text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX kb_collections_owner_name ON kb_collections (owner_id, name)
            WHERE owner_id IS NOT NULL;
        CREATE UNIQUE INDEX kb_collections_shared_name ON kb_collections (name)
            WHERE owner_id IS NULL;

        CREATE TABLE kb_documents (
            id uuid PRIMARY KEY,
            collection_id uuid NOT NULL REFERENCES kb_collections (id) ON DELETE CASCADE,
            title text NOT NULL,
            source text,
            mime_type text,
            kind text NOT NULL,
            size_bytes bigint NOT NULL,
            sha256 text NOT NULL,
            content text NOT NULL,
            chunk_count integer NOT NULL DEFAULT 0,
            created_by text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX kb_documents_collection ON kb_documents (collection_id, created_at DESC);
        CREATE INDEX kb_documents_sha ON kb_documents (collection_id, sha256);

        CREATE TABLE kb_chunks (
            id bigserial PRIMARY KEY,
            document_id uuid NOT NULL REFERENCES kb_documents (id) ON DELETE CASCADE,
            collection_id uuid NOT NULL,
            position integer NOT NULL,
            char_start integer NOT NULL,
            char_end integer NOT NULL,
            page integer,
            section text,
            text text NOT NULL,
            tsv tsvector NOT NULL
        );
        CREATE INDEX kb_chunks_tsv ON kb_chunks USING gin (tsv);
        CREATE INDEX kb_chunks_collection ON kb_chunks (collection_id);
        CREATE INDEX kb_chunks_document ON kb_chunks (document_id, position);

        CREATE TABLE kb_memories (
            id uuid PRIMARY KEY,
            owner_id text NOT NULL,
            text text NOT NULL,
            tags text[] NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL DEFAULT now(),
            tsv tsvector NOT NULL
        );
        CREATE INDEX kb_memories_owner ON kb_memories (owner_id, created_at DESC);
        CREATE INDEX kb_memories_tsv ON kb_memories USING gin (tsv);
"""


def add_vectors() -> bool:
    """Vector columns and indexes, when the server has pgvector; False when it has not."""
    bind = op.get_bind()
    available = bind.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    ).scalar()
    if not available:
        return False
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    except DBAPIError as error:  # e.g. not allowed to create extensions on a managed server
        logging.getLogger("alembic").warning("pgvector not enabled: %s", error.orig)
        return False
    for table in ("kb_chunks", "kb_memories"):
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS embedding vector, "
            "ADD COLUMN IF NOT EXISTS embedding_model text"
        )
    for model, dimensions in INDEXED_MODELS.items():
        slug = model.lower().replace("-", "_").replace(".", "_")
        op.execute(
            f"CREATE INDEX IF NOT EXISTS kb_chunks_hnsw_{slug} ON kb_chunks "
            f"USING hnsw ((embedding::vector({dimensions})) vector_cosine_ops) "
            f"WHERE embedding_model = '{model}'"
        )
    return True


def downgrade() -> None:
    op.execute("DROP TABLE kb_memories, kb_chunks, kb_documents, kb_collections")
