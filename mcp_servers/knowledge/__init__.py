"""The knowledge MCP server: documents (RAG) and long-term memory in PostgreSQL."""

from mcp_servers.knowledge.server import NAME, KnowledgeServer, build_server
from mcp_servers.knowledge.service import Knowledge, TooLarge, knowledge_on, open_knowledge
from mcp_servers.knowledge.store import (
    CollectionInfo,
    DocumentInfo,
    Hit,
    KnowledgeStore,
    MemoryInfo,
    NotAllowed,
    NotFoundError,
)

__all__ = [
    "NAME",
    "CollectionInfo",
    "DocumentInfo",
    "Hit",
    "Knowledge",
    "KnowledgeServer",
    "KnowledgeStore",
    "MemoryInfo",
    "NotAllowed",
    "NotFoundError",
    "TooLarge",
    "build_server",
    "knowledge_on",
    "open_knowledge",
]
