"""Readiness checks: whether the database and the model API answer.

`/readyz` is open to anyone who can reach the port, so a check reports a fixed sentence per
kind of failure, never a driver's or a provider's error text (which can name hosts, users,
or URLs with credentials).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from orchestrator.llm import NOT_CONFIGURED_MESSAGE

if TYPE_CHECKING:
    import openai

__all__ = ["HealthChecks"]

logger = logging.getLogger(__name__)

_MODEL_CHECK_SECONDS = 30.0


class HealthChecks:
    """The readiness checks of one process.

    Args:
        engine: the database checked.
        openai_client: the model API checked (None: no API is configured).
        local_model: runs answer with a model in this process, so there is no API to check.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        openai_client: openai.AsyncOpenAI | None,
        *,
        local_model: bool = False,
    ) -> None:
        self._engine = engine
        self._client = openai_client
        self._local = local_model
        self._model_check: tuple[float, str | None] = (0.0, None)

    async def check_database(self) -> str | None:
        """None when the database answers, else what is wrong, in our own words."""
        try:
            async with asyncio.timeout(3):
                async with self._engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except TimeoutError:
            return "the database did not answer within 3 s"
        except ConnectionRefusedError:
            return "cannot reach the database at DATABASE_URL (connection refused)"
        except OSError:
            return "cannot reach the database at DATABASE_URL (network error)"
        except Exception as error:  # any driver failure means "not ready"
            logger.warning("Readiness: the database check failed: %s", type(error).__name__)
            return f"the database refused the check ({type(error).__name__})"
        return None

    async def check_model(self) -> str | None:
        """None when the model API answers (cached briefly), else what to fix."""
        if self._local:
            return None
        if self._client is None:
            return NOT_CONFIGURED_MESSAGE
        checked_at, problem = self._model_check
        if time.monotonic() - checked_at < _MODEL_CHECK_SECONDS:
            return problem
        try:
            async with asyncio.timeout(3):
                await self._client.models.list()
            problem = None
        except TimeoutError:
            problem = "the model API did not answer within 3 s"
        except Exception as error:  # the SDK raises many kinds; each means "not reachable"
            problem = _model_problem(error)
            logger.warning("Readiness: the model check failed: %s", type(error).__name__)
        self._model_check = (time.monotonic(), problem)
        return problem


def _model_problem(error: Exception) -> str:
    """A fixed description of a failed model API call, from its kind and status only."""
    import openai

    cause: BaseException | None = error
    while cause is not None:  # the aiohttp transport reports a refusal as a timeout
        if isinstance(cause, ConnectionRefusedError):
            return "cannot reach the model API at OPENAI_BASE_URL (connection refused)"
        cause = cause.__cause__ or cause.__context__
    if isinstance(error, openai.APITimeoutError):
        return "the model API did not answer in time"
    if isinstance(error, openai.APIConnectionError):
        return "cannot reach the model API at OPENAI_BASE_URL (connection failed)"
    if isinstance(error, openai.AuthenticationError):
        return "the model API refused the credentials (401): check OPENAI_API_KEY"
    if isinstance(error, openai.PermissionDeniedError):
        return "the model API denied access (403): check OPENAI_API_KEY"
    if isinstance(error, openai.NotFoundError):
        return "the model API has no /models (404): check OPENAI_BASE_URL"
    if isinstance(error, openai.RateLimitError):
        return "the model API is rate limiting this server (429)"
    if isinstance(error, openai.APIStatusError):
        return f"the model API answered HTTP {error.status_code}"
    return f"the model API check failed ({type(error).__name__})"
