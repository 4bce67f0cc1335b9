"""The composition root: settings in, connected services out, closed in reverse.

`open_services` is used by the app's lifespan and by the CLI; nothing connects at import.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from common.tls import MutualTLS
from orchestrator.auth import AuthService, LoginThrottle, TokenCodec
from orchestrator.auth.oidc_accounts import OIDCLogin
from orchestrator.domain import (
    Agent,
    AgentBudget,
    ChatModel,
    CompactionPolicy,
    Compactor,
    FilePolicy,
    ToolHost,
)
from orchestrator.events import InMemoryEventBus
from orchestrator.llm import UnconfiguredModel, local_model_available
from orchestrator.mcp import HubOptions, Limits, MasterKeys, MCPHub, Vault, protected_values
from orchestrator.runtime.attachments import AttachmentModel, FileService
from orchestrator.runtime.completions import CompletionService
from orchestrator.runtime.health import HealthChecks
from orchestrator.runtime.interactions import PendingInteractions
from orchestrator.runtime.knowledge import KnowledgeBase, open_knowledge_base
from orchestrator.runtime.runs import RunService
from orchestrator.runtime.tool_access import GovernedTools
from orchestrator.settings import ConfigError, Settings
from orchestrator.store import (
    EmbeddedPostgres,
    SqlAuditLog,
    SqlConversationStore,
    SqlFileStore,
    SqlGroupStore,
    SqlKeyStore,
    SqlMCPStore,
    SqlRunStore,
    SqlSummaryStore,
    SqlToolGrants,
    SqlUserStore,
    create_engine,
    current_revision,
    head_revision,
    upgrade,
)

if TYPE_CHECKING:
    import openai

__all__ = [
    "Database",
    "ModelInfo",
    "Models",
    "Services",
    "Tools",
    "hub_options",
    "open_database",
    "open_services",
    "open_vault",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    """Which model runs answer with: `provider` is "openai", a base URL, "local" or "none"."""

    name: str
    provider: str
    description: str = ""

    @property
    def configured(self) -> bool:
        """Whether runs have a model to answer with."""
        return self.provider != "none"

    @property
    def local(self) -> bool:
        """Whether the model runs in this process (llama.cpp on the CPU)."""
        return self.provider == "local"


@dataclass(frozen=True)
class Database:
    """The database, and the stores the routes read directly.

    A run's messages and events are written through `RunService`, never through these.
    """

    engine: AsyncEngine
    url: str
    conversations: SqlConversationStore
    runs: SqlRunStore
    summaries: SqlSummaryStore


@dataclass(frozen=True)
class Models:
    """The model runs answer with (`chat`), what it is, and the OpenAI-compatible API's runs."""

    chat: ChatModel
    info: ModelInfo
    completions: CompletionService


@dataclass(frozen=True)
class Tools:
    """The tools runs may call (`host`), and the MCP hub serving them (None: a given host)."""

    host: ToolHost
    hub: MCPHub | None = None


@dataclass(frozen=True)
class Services:
    """Everything the API and the CLI use, connected, in a few named parts.

    `auth` holds the accounts (`auth.users` their records); `groups` the groups and what
    they allow their members; `runs` starts and follows runs; `files` holds attached files;
    `knowledge` the documents users search; `health` answers readiness probes.
    """

    settings: Settings
    auth: AuthService
    groups: SqlGroupStore
    database: Database
    models: Models
    tools: Tools
    runs: RunService
    files: FileService
    knowledge: KnowledgeBase
    health: HealthChecks
    audit: SqlAuditLog
    oidc: OIDCLogin | None = None


@asynccontextmanager
async def open_database(
    settings: Settings, *, migrate: bool | None = None
) -> AsyncGenerator[tuple[AsyncEngine, str]]:
    """The engine (and URL) of the configured database, or of an embedded one.

    Migrates when `migrate` is true; by default a development setup migrates itself and a
    production one refuses to start on an out-of-date schema.

    Raises:
        ConfigError: production schema out of date.
    """
    embedded: EmbeddedPostgres | None = None
    url = settings.database.url
    if url is None:
        embedded = EmbeddedPostgres(settings.data_dir)
        url = await asyncio.to_thread(embedded.start)
    engine = create_engine(url, pool_size=settings.database.pool_size)
    try:
        should_migrate = (not settings.production) if migrate is None else migrate
        if should_migrate:
            if await upgrade(url, engine):
                logger.info("Database schema upgraded to %s", head_revision())
        elif await current_revision(engine) != head_revision():
            raise ConfigError("The database schema is out of date: run `assistant db upgrade`.")
        yield engine, url
    finally:
        await engine.dispose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


def _openai_model(settings: Settings) -> tuple[ChatModel, openai.AsyncOpenAI, ModelInfo]:
    from orchestrator.llm.openai_chat import OpenAIChatModel, create_client

    config = settings.openai
    client = create_client(
        api_key=config.api_key.get_secret_value() if config.api_key else None,
        base_url=config.base_url,
        timeout=config.timeout,
    )
    model = OpenAIChatModel(
        client,
        max_retries=config.max_retries,
        context_window=config.context_window,
        max_output_tokens=config.max_tokens,
        official=config.base_url is None or "api.openai.com" in config.base_url,
    )
    provider = "openai" if config.base_url is None else config.base_url
    return model, client, ModelInfo(config.model, provider)


def _local_info(model: Any) -> ModelInfo:
    """What a loaded local model is (anything with a `name` and a model file's `path`)."""
    description = (
        f"The local model {model.name} ({model.path.name}) runs on this machine's CPU with "
        "llama.cpp, because neither OPENAI_API_KEY nor OPENAI_BASE_URL is set."
    )
    return ModelInfo(model.name, "local", description)


async def _open_model(
    settings: Settings, stack: AsyncExitStack
) -> tuple[ChatModel, openai.AsyncOpenAI | None, ModelInfo]:
    """The configured model: OpenAI (or compatible), else the local one, else none.

    Raises:
        ConfigError: LOCAL_MODEL_PATH is set but cannot be loaded.
    """
    if settings.openai.configured:
        model, client, info = _openai_model(settings)
        stack.push_async_callback(client.close)
        return model, client, info
    local = settings.local_model
    if local.enabled and local_model_available(local.path):
        from orchestrator.llm.local_model import LocalChatModel, LocalModelUnavailable

        try:
            loaded = await LocalChatModel.load(
                local.path,
                context_window=local.context_window,
                threads=local.threads,
                max_output_tokens=local.max_tokens,
            )
        except LocalModelUnavailable as error:
            raise ConfigError(str(error)) from error
        stack.push_async_callback(loaded.aclose)
        return loaded, None, _local_info(loaded)
    if local.enabled and local.path is not None:
        raise ConfigError(
            "LOCAL_MODEL_PATH is set but llama.cpp is not installed: pip install -e '.[local]'"
        )
    return UnconfiguredModel(), None, ModelInfo(settings.openai.model, "none")


def _service_secret(settings: Settings) -> str | None:
    """The secret our MCP servers check the hub's user tokens with, if set."""
    try:
        return settings.mcp_service_token()
    except ConfigError:
        logger.warning(
            "MCP_SERVICE_TOKEN is not set: our MCP servers cannot learn who a call is for"
        )
        return None


def open_vault(settings: Settings, engine: AsyncEngine) -> Vault:
    """The vault of secrets at rest: master keys from the settings, data keys in the database.

    Raises:
        ConfigError: no master key is configured (production).
    """
    return Vault(
        MasterKeys(*settings.secrets_master_keys()),
        SqlKeyStore(engine),
        legacy=settings.legacy_secret_keys(),
    )


def hub_options(
    settings: Settings,
    vault: Vault | None,
    *,
    targets: dict[str, Any] | None = None,
    model_name: str | None = None,
) -> HubOptions:
    """The MCP hub's options from the settings (`targets`: in-process servers, for tests)."""
    mcp = settings.mcp
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    redirect = mcp.oauth_redirect_url or f"http://{host}:{settings.port}/mcp/oauth/callback"
    secret = _service_secret(settings)
    return HubOptions(
        data_dir=settings.data_dir,
        model_name=model_name or settings.openai.model,
        config_path=mcp.config,
        discovery_url=mcp.discovery_url,
        service_secret=secret,
        vault=vault,
        oauth_redirect_url=redirect,
        protected_values=(
            *protected_values(),
            settings.jwt_secret(),
            *settings.secrets_master_keys(),
            *filter(None, [secret]),
        ),
        targets=targets or {},
        allowed_internal_hosts=mcp.internal_hosts,
        limits=Limits(mcp.max_result_bytes, mcp.max_description_bytes),
        tls=tls.client_context() if (tls := MutualTLS.of(settings, "orchestrator")) else None,
    )


def _auth_service(settings: Settings, users: SqlUserStore, codec: TokenCodec) -> AuthService:
    auth = settings.auth
    throttle = LoginThrottle(
        max_failures=auth.login_max_failures,
        max_address_failures=auth.login_max_failures_per_address,
        window=auth.login_window_seconds,
        failure_delay=auth.login_failure_delay_seconds,
    )
    return AuthService(
        users,
        codec,
        throttle=throttle,
        verify_concurrency=auth.login_concurrency,
        verify_queue_seconds=auth.login_queue_seconds,
        recheck_seconds=auth.credential_recheck_seconds,
    )


async def _file_service(settings: Settings, engine: AsyncEngine) -> FileService:
    """Attached files, on the configured storage (S3 when S3_ENDPOINT_URL is set)."""
    from orchestrator.storage import open_storage

    config = settings.files
    storage = await open_storage(config, str(settings.data_dir / "files"))
    policy = FilePolicy(max_bytes=config.files_max_bytes, allowed_types=config.allowed_types)
    return FileService(
        SqlFileStore(engine), storage, policy, inline_chars=config.files_inline_chars
    )


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    model: ChatModel | None = None,
    tools: ToolHost | None = None,
    migrate: bool | None = None,
    mcp_targets: dict[str, Any] | None = None,
) -> AsyncGenerator[Services]:
    """Everything the API and the CLI need, connected; closed in reverse on exit.

    `model` and `tools` replace the configured ones (tests pass fakes); without `tools`
    the MCP hub serves them, its servers connecting in the background.
    """
    settings.check()
    async with AsyncExitStack() as stack:
        engine, url = await stack.enter_async_context(open_database(settings, migrate=migrate))
        knowledge = await stack.enter_async_context(
            open_knowledge_base(
                settings,
                engine,
                url,
                migrate=(not settings.production) if migrate is None else migrate,
            )
        )
        users = SqlUserStore(engine)
        groups = SqlGroupStore(engine, recheck_seconds=settings.auth.credential_recheck_seconds)
        codec = TokenCodec(
            settings.jwt_secret(),
            access_minutes=settings.auth.access_token_minutes,
            refresh_days=settings.auth.refresh_token_days,
        )
        client: openai.AsyncOpenAI | None = None
        model_given = model is not None
        if model is None:
            model, client, model_info = await _open_model(settings, stack)
        elif isinstance(getattr(model, "path", None), Path):  # a loaded local model
            model_info = _local_info(model)
        else:
            model_info = ModelInfo(settings.openai.model, "none")
        hub: MCPHub | None = None
        if tools is None:
            # Sampling requests are served by the model runs use, when there is one.
            sampling_model = model if (model_given or model_info.configured) else None
            vault = open_vault(settings, engine)
            await vault.check()  # a wrong master key stops the start here, changing nothing
            hub = MCPHub(
                SqlMCPStore(engine),
                hub_options(settings, vault, targets=mcp_targets, model_name=model_info.name),
                model=sampling_model,
                tokenizer=model.tokenizer(model_info.name or settings.openai.model),
                access=groups,
            )
            await stack.enter_async_context(hub)
            tools = hub
        tools = GovernedTools(tools, groups)
        audit = SqlAuditLog(engine)
        conversations = SqlConversationStore(engine)
        runs_store = SqlRunStore(engine, conversations)
        bus = InMemoryEventBus()
        interactions = PendingInteractions(set_status=runs_store.set_status)
        budget = AgentBudget(
            max_steps=settings.agent.max_steps,
            max_run_tokens=settings.agent.max_run_tokens,
            max_output_tokens=settings.openai.max_tokens,
            tool_result_max_tokens=settings.agent.tool_result_max_tokens,
            approval_timeout=settings.agent.approval_timeout,
            input_timeout=settings.agent.approval_timeout,
            system_prompt=settings.agent.system_prompt or None,
        )
        files = await _file_service(settings, engine)
        vision = settings.files.model_vision
        seeing = AttachmentModel(
            model, files, vision=(not model_info.local) if vision is None else vision
        )
        summaries = SqlSummaryStore(engine)
        compactor = Compactor(
            model,
            summaries,
            policy=CompactionPolicy(
                threshold=settings.agent.compaction_threshold,
                keep=settings.agent.compaction_keep,
                summary_max_tokens=settings.agent.compaction_summary_max_tokens,
            ),
            new_id=lambda: str(uuid.uuid4()),
        )
        agent = Agent(
            seeing,
            tools,
            interactions,
            new_id=lambda: str(uuid.uuid4()),
            budget=budget,
            compactor=compactor,
            audit=audit,
        )
        completions = await stack.enter_async_context(
            CompletionService(model=model, tools=tools, budget=budget, access=groups, audit=audit)
        )
        # RunService takes the domain's ports: pyright checks the SQL stores implement them.
        run_service = RunService(
            agent=agent,
            model=model,
            tools=tools,
            conversations=conversations,
            runs=runs_store,
            steps=runs_store,
            bus=bus,
            interactions=interactions,
            default_model=model_info.name,
            grants=SqlToolGrants(engine),
            audit=audit,
            access=groups,
        )
        if settings.redis_url is None:
            recovered = await runs_store.recover_unfinished()
            if recovered:
                logger.warning("Marked %d runs interrupted by an earlier stop as failed", recovered)
        auth = _auth_service(settings, users, codec)
        services = Services(
            settings=settings,
            auth=auth,
            groups=groups,
            database=Database(engine, url, conversations, runs_store, summaries),
            models=Models(model, model_info, completions),
            tools=Tools(tools, hub),
            runs=run_service,
            files=files,
            knowledge=knowledge,
            health=HealthChecks(engine, client, local_model=model_info.local),
            audit=audit,
            oidc=OIDCLogin.configured(settings, auth, engine),
        )
        try:
            yield services
        finally:
            await run_service.shutdown()
