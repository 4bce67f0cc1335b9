"""The web server: `fetch` a URL and get its readable content as Markdown."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from common.addresses import AddressPolicy
from common.extraction import UnsupportedContent, extract
from mcp_servers.server import READ_ONLY_OPEN_WORLD, OurServer, resolver_for
from mcp_servers.settings import ServersSettings
from mcp_servers.web.fetcher import Fetcher, FetchFailed, Refused, Resolver, system_resolver

__all__ = ["NAME", "build_server"]

NAME = "web"
_INSTRUCTIONS = (
    "Fetch web pages and documents as readable Markdown. Long pages come in parts: call "
    "fetch again with start_index to read on."
)


def build_server(
    settings: ServersSettings | None = None,
    *,
    resolver: Resolver = system_resolver,
    verify_tls: bool = True,
) -> OurServer:
    """The web server. `resolver` replaces DNS (tests); WEB_ALLOW_HOSTS opens private hosts."""
    settings = settings or ServersSettings()
    config = settings.web
    server = OurServer(NAME, resolver=resolver_for(NAME, settings), instructions=_INSTRUCTIONS)
    fetcher = Fetcher(
        AddressPolicy.build(config.allow_hosts),
        max_bytes=config.max_bytes,
        timeout=config.timeout,
        max_redirects=config.max_redirects,
        user_agent=config.user_agent,
        resolver=resolver,
        verify=verify_tls,
    )

    @server.tool(annotations=READ_ONLY_OPEN_WORLD)
    async def fetch(
        url: Annotated[str, Field(min_length=1, max_length=4096, description="http(s) URL")],
        max_length: Annotated[int, Field(ge=100, le=200_000)] = 20_000,
        start_index: Annotated[int, Field(ge=0)] = 0,
        raw: bool = False,
    ) -> str:
        """Fetch a URL and return its main content as Markdown (HTML), or its text (PDF,
        plain text, JSON). `raw` returns HTML untouched. Private and local addresses are
        refused."""
        try:
            fetched = await fetcher.fetch(url)
        except (Refused, FetchFailed) as error:
            raise ToolError(f"Cannot fetch {url}: {error}") from error
        if fetched.status >= 400:
            raise ToolError(f"{fetched.url} answered HTTP {fetched.status}.")
        if raw:
            text = fetched.body.decode("utf-8", errors="replace")
            title = None
        else:
            try:
                document = await anyio.to_thread.run_sync(
                    lambda: extract(fetched.body, mime_type=fetched.content_type, url=fetched.url)
                )
            except UnsupportedContent as error:
                raise ToolError(f"{fetched.url}: {error}") from error
            text, title = document.text, document.title
        total = len(text)
        if start_index >= total and total:
            raise ToolError(f"start_index {start_index} is past the end ({total} characters).")
        part = text[start_index : start_index + max_length]
        header = [f"URL: {fetched.url}"]
        if title:
            header.insert(0, f"Title: {title}")
        if fetched.truncated:
            header.append(f"(the page is larger than {config.max_bytes} bytes; cut there)")
        end = start_index + len(part)
        if end < total:
            header.append(
                f"(characters {start_index}-{end} of {total}; call fetch with "
                f"start_index={end} for more)"
            )
        return "\n".join(header) + "\n\n" + part

    return server
