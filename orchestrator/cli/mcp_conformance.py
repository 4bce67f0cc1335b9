"""The hub as the client of the official MCP conformance suite.

`@modelcontextprotocol/conformance client` starts a scenario server and runs
`assistant mcp conformance-client URL` with `MCP_CONFORMANCE_SCENARIO`,
`MCP_CONFORMANCE_PROTOCOL_VERSION` and, for some scenarios, `MCP_CONFORMANCE_CONTEXT`
(JSON) set. Everything goes through the hub's own code: `ServerConnection` for the
connection (2026-07-28, or 2025-11-25 when asked for an older revision), the hub's OAuth
client for `auth/*` scenarios (with a browser that follows the authorization redirect
itself), `ServerRequests` for elicitation, sampling and roots, and `content` for results.

The generic body lists the tools and calls what the scenario wants (its `toolCalls`,
`add_numbers`, `json_schema_echo` with another tool's schema, or every tool with minimal
arguments), then reads a resource and gets a prompt when the server offers them.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx2
import mcp_types as types
from mcp import Client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull
from pydantic import AnyUrl

from orchestrator.cli.mcp_probe import HeadlessUser, connect_once
from orchestrator.domain import (
    ModelEvent,
    ModelFinished,
    ModelLimits,
    ModelRequest,
    TextDelta,
    Tokenizer,
    ToolServerError,
)
from orchestrator.mcp import ServerConfig, parse_server
from orchestrator.mcp.client import Call, Meta, ServerConnection, describe, outcome_of
from orchestrator.mcp.governance import MemoryTokenStorage, oauth_provider

__all__ = ["Scenario", "run_scenario"]

logger = logging.getLogger(__name__)

_REDIRECT = "http://localhost:3000/callback"
_CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"
_TIMEOUT = 60.0


@dataclass(frozen=True)
class Scenario:
    """The scenario the suite runs, from the environment it sets."""

    name: str
    version: str
    context: dict[str, Any] = field(default_factory=dict[str, Any])

    @classmethod
    def from_environment(cls) -> Scenario:
        """The scenario named by `MCP_CONFORMANCE_*`, the latest revision by default."""
        return cls(
            name=os.environ.get("MCP_CONFORMANCE_SCENARIO", ""),
            version=os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION", "2026-07-28"),
            context=json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}"),
        )


class _CannedModel:
    """A model that answers every sampling request the same way."""

    def limits(self, model: str) -> ModelLimits:
        return ModelLimits(context_window=8_192, max_output_tokens=256)

    def tokenizer(self, model: str) -> Tokenizer:
        raise NotImplementedError

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        yield TextDelta("ok")
        yield ModelFinished("stop")


class _HeadlessBrowser:
    """Follows the authorization URL without a person, as the suite's servers allow."""

    def __init__(self) -> None:
        self._result: AuthorizationCodeResult | None = None

    async def redirect(self, authorization_url: str) -> None:
        async with httpx2.AsyncClient() as http:
            response = await http.get(authorization_url, follow_redirects=False)
        location = response.headers.get("location")
        if response.status_code not in (301, 302, 303, 307, 308) or not location:
            raise RuntimeError(f"the authorization endpoint answered {response.status_code}")
        query = parse_qs(urlparse(location).query)
        if "code" not in query:
            raise RuntimeError(f"no code in the redirect to {location}")
        self._result = AuthorizationCodeResult(
            code=query["code"][0],
            state=(query.get("state") or [None])[0],
            iss=(query.get("iss") or [None])[0],
        )

    async def callback(self) -> AuthorizationCodeResult:
        if self._result is None:
            raise RuntimeError("the authorization redirect did not happen")
        result, self._result = self._result, None
        return result


def _auth(url: str, scenario: Scenario) -> httpx2.Auth:
    client_info = None
    if scenario.context.get("client_id"):
        secret = scenario.context.get("client_secret")
        client_info = OAuthClientInformationFull(
            client_id=scenario.context["client_id"],
            client_secret=secret,
            redirect_uris=[AnyUrl(_REDIRECT)],
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
        )
    browser = _HeadlessBrowser()
    return oauth_provider(
        url,
        MemoryTokenStorage(client_info),
        redirect_url=_REDIRECT,
        redirect_handler=browser.redirect,
        callback_handler=browser.callback,
        client_metadata_url=_CLIENT_METADATA_URL,
        client_name="assistant-conformance",
    )


def _minimal(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments that satisfy a tool's required properties."""
    properties = schema.get("properties") or {}
    samples: dict[str, Any] = {
        "string": "us-west1",
        "integer": 1,
        "number": 1,
        "boolean": True,
        "object": {},
        "array": [],
    }
    arguments: dict[str, Any] = {}
    for name in schema.get("required") or []:
        prop = properties.get(name) or {}
        kind = prop.get("type")
        sample = samples.get(kind, "x") if isinstance(kind, str) else "x"
        arguments[name] = prop.get("default", sample)
    return arguments


def _calls(scenario: Scenario, tools: list[types.Tool]) -> list[tuple[str, dict[str, Any]]]:
    wanted = scenario.context.get("toolCalls")
    if wanted:
        return [(call["name"], call.get("arguments") or {}) for call in wanted]
    names = {tool.name for tool in tools}
    if "add_numbers" in names:
        return [("add_numbers", {"a": 5, "b": 3})]
    if "json_schema_echo" in names:
        focal = next(tool for tool in tools if tool.name != "json_schema_echo")
        return [("json_schema_echo", {"schema": focal.input_schema})]
    return [(tool.name, _minimal(tool.input_schema)) for tool in tools]


async def _call_tool(
    client: Client, meta: Meta, *, name: str, arguments: dict[str, Any]
) -> types.CallToolResult:
    return await client.call_tool(name, arguments, meta=meta)


async def _exercise(connection: ServerConnection, scenario: Scenario, user: HeadlessUser) -> None:
    listing = connection.listing
    logger.info(
        "protocol %s, tools %s", connection.protocol_version, [t.name for t in listing.tools]
    )
    for name, arguments in _calls(scenario, listing.tools):
        try:
            result = await connection.request(
                user.call(_TIMEOUT), partial(_call_tool, name=name, arguments=arguments)
            )
            logger.info("%s -> %s", name, outcome_of(result).model_dump(mode="json"))
        except ToolServerError as error:  # a failing tool does not end the scenario
            logger.warning("%s -> %s", name, error.message)
    if listing.resources:
        uri = str(listing.resources[0].uri)
        await connection.request(
            Call(user_id=user.user_id, timeout=_TIMEOUT),
            lambda client, meta: client.read_resource(uri, meta=meta),
        )
    if listing.prompts:
        prompt = listing.prompts[0]
        arguments = {a.name: "x" for a in prompt.arguments or [] if a.required} or None
        await connection.request(
            Call(user_id=user.user_id, timeout=_TIMEOUT),
            lambda client, meta: client.get_prompt(prompt.name, arguments, meta=meta),
        )


async def run_scenario(url: str, scenario: Scenario) -> None:
    """Do what the scenario asks of a client.

    Raises:
        ToolServerError: the connection failed (some scenarios expect exactly that).
    """
    protocol = "auto" if scenario.version >= "2026" else "2025-11-25"
    config: ServerConfig = parse_server(
        "conformance",
        {
            "url": url,
            "protocol": protocol,
            "roots": [tempfile.gettempdir()],
            "connect_timeout": _TIMEOUT,
        },
    )
    auth = _auth(url, scenario) if scenario.name.startswith("auth/") else None
    user = HeadlessUser("conformance")
    with tempfile.TemporaryDirectory() as data, open(os.devnull, "w") as errlog:  # noqa: ASYNC230
        async with connect_once(
            config, errlog=errlog, data_dir=Path(data), auth=auth, model=_CannedModel()
        ) as connection:
            await _exercise(connection, scenario, user)


def describe_failure(error: BaseException) -> str:
    """A one-line account of why a scenario failed, for the suite's log."""
    return describe(error)
