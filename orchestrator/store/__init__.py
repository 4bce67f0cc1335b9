"""PostgreSQL adapters: conversations, runs, summaries, users; the embedded server; migrations."""

from orchestrator.store.audit import AuditFilter, AuditRecord, SqlAuditLog
from orchestrator.store.conversations import SqlConversationStore
from orchestrator.store.database import EmbeddedPostgres, create_engine, to_async_url
from orchestrator.store.files import SqlFileStore
from orchestrator.store.groups import UNCHANGED, GroupMember, GroupRecord, SqlGroupStore
from orchestrator.store.history import HistoryCache
from orchestrator.store.mcp import SqlMCPStore
from orchestrator.store.migrations import current_revision, head_revision, upgrade
from orchestrator.store.runs import RECOVERY_SEQ_GAP, SqlRunStore
from orchestrator.store.secret_keys import SqlKeyStore, SqlSealedRows
from orchestrator.store.summaries import SqlSummaryStore
from orchestrator.store.tool_grants import SqlToolGrants, ToolGrant
from orchestrator.store.users import ApiKeyRecord, SqlUserStore, UserRecord

__all__ = [
    "RECOVERY_SEQ_GAP",
    "UNCHANGED",
    "ApiKeyRecord",
    "AuditFilter",
    "AuditRecord",
    "EmbeddedPostgres",
    "GroupMember",
    "GroupRecord",
    "HistoryCache",
    "SqlAuditLog",
    "SqlConversationStore",
    "SqlFileStore",
    "SqlGroupStore",
    "SqlKeyStore",
    "SqlMCPStore",
    "SqlRunStore",
    "SqlSealedRows",
    "SqlSummaryStore",
    "SqlToolGrants",
    "SqlUserStore",
    "ToolGrant",
    "UserRecord",
    "create_engine",
    "current_revision",
    "head_revision",
    "to_async_url",
    "upgrade",
]
