"""The web MCP server: SSRF-safe `fetch` of a URL as readable Markdown."""

from common.addresses import AddressPolicy, Refused, parse_ip_literal
from mcp_servers.web.fetcher import Fetched, Fetcher, FetchFailed
from mcp_servers.web.server import NAME, build_server

__all__ = [
    "NAME",
    "AddressPolicy",
    "FetchFailed",
    "Fetched",
    "Fetcher",
    "Refused",
    "build_server",
    "parse_ip_literal",
]
