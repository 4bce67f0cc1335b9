"""The orchestrator's ASGI app: `create_app(settings)` and the module-level `app`.

`python -m uvicorn orchestrator.main:app --port 8000` serves it. Building the app connects
nothing; the lifespan opens the database, the model client and the tool hosts, and closes
them on shutdown.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI

from orchestrator.api import build_api
from orchestrator.auth import FirstAdmin, ensure_first_admin
from orchestrator.domain import ChatModel, ToolHost
from orchestrator.llm import NOT_CONFIGURED_MESSAGE, warm_up
from orchestrator.runtime.services import Services, open_services
from orchestrator.settings import ConfigError, FilesSettings, Settings

__all__ = ["StartupGuard", "app", "create_app"]

logger = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("assistant")
    except PackageNotFoundError:
        return "0.0.0"


async def _first_admin(settings: Settings, services: Services) -> FirstAdmin | None:
    """Create the first admin on a fresh database (see the README, "First login")."""
    password = settings.auth.admin_password
    if settings.production and password is None:
        if await services.auth.users.count() == 0:
            logger.warning(
                "There are no users. Create an admin with `assistant users create EMAIL --admin`, "
                "or set ASSISTANT_ADMIN_EMAIL and ASSISTANT_ADMIN_PASSWORD."
            )
        return None
    return await ensure_first_admin(
        services.auth,
        settings.data_dir,
        email=settings.auth.admin_email,
        password=password.get_secret_value() if password else None,
    )


def create_app(
    settings: Settings | None = None,
    *,
    model: ChatModel | None = None,
    tools: ToolHost | None = None,
    announce_model: bool = True,
    mcp_targets: dict[str, Any] | None = None,
) -> FastAPI:
    """The orchestrator app. Settings are read at startup when not given.

    `announce_model` logs which model runs use when it is not the configured OpenAI one
    (`assistant up` says it in its banner instead).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings or Settings()
        async with open_services(
            config, model=model, tools=tools, mcp_targets=mcp_targets
        ) as services:
            app.state.services = services
            app.state.first_admin = await _first_admin(config, services)
            # Loading the tokenizer's encodings takes about a second: do it now, in the
            # background, rather than in the first user's request.
            warming = asyncio.get_running_loop().run_in_executor(None, warm_up)
            # The hundreds of thousands of objects made by imports and startup live as long
            # as the process: keep them out of the collector's full passes, which otherwise
            # pause every stream for 100-200 ms.
            gc.collect()
            gc.freeze()
            info = services.models.info
            if model is None and announce_model:
                if not info.configured:
                    logger.warning(NOT_CONFIGURED_MESSAGE)
                elif info.local:
                    logger.info("%s", info.description)
            yield
            await warming

    limit = (
        settings.max_request_bytes
        if settings
        else Settings.model_fields["max_request_bytes"].default
    )
    file_limit = (settings.files if settings else FilesSettings()).files_max_bytes
    return build_api(
        lifespan,
        max_request_bytes=limit,
        version=_version(),
        # A backstop only: the route stops at the file limit with its own message.
        max_file_bytes=file_limit * 2 + 1024 * 1024,
    )


class StartupGuard:
    """The app as uvicorn should run it: a configuration error at startup kept, not logged.

    A `ConfigError` raised while the services open (a wrong MCP_TOKEN_KEY, a schema out of
    date) would otherwise end the start with uvicorn's traceback; here uvicorn is only told
    that startup failed, and `serve()` raises the error for the command to report on one line.
    """

    def __init__(self, app: Any) -> None:
        """Guard `app`, an ASGI application with a lifespan."""
        self.app = app
        self.error: ConfigError | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve `scope`; for the lifespan, hold a startup failure until its cause is known.

        Raises:
            BaseException: what the app raised, unless a `ConfigError` at startup.
        """
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        held: list[Any] = []

        async def hold(message: Any) -> None:
            if message["type"] == "lifespan.startup.failed":
                held.append(message)  # its message is a traceback
                return
            await send(message)

        try:
            await self.app(scope, receive, hold)
        except ConfigError as error:
            if not held:
                raise
            self.error = error
            logging.getLogger("uvicorn.error").addFilter(_NoStartupFailedLine())
            await send({"type": "lifespan.startup.failed", "message": ""})
        except BaseException:
            for message in held:
                await send(message)
            raise

    async def serve(self, server: Any) -> None:
        """Run `server` (a uvicorn server of this app) until it stops.

        Raises:
            ConfigError: the configuration stopped the startup (uvicorn's exit is dropped).
            SystemExit: uvicorn's, when startup failed for another reason.
        """
        try:
            await server.serve()
        except SystemExit:
            if self.error is None:
                raise
        if self.error is not None:
            raise self.error


class _NoStartupFailedLine(logging.Filter):
    """Drops uvicorn's "Application startup failed" line: the command says why instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Application startup failed")


app = create_app()
