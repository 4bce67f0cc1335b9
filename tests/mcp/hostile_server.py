"""An MCP server that does what a hostile one would, for the hub's limit tests; and one
that reports how it was launched, for the config-injection tests.

    python -m tests.mcp.hostile_server [ARG ...]          stdio
    python -m tests.mcp.hostile_server --http PORT         Streamable HTTP on 127.0.0.1

`flood` answers with as many megabytes of text as asked, and so do the resource
`flood://{megabytes}` and the prompt `flooded`; `described` has a description of 100,000
characters; `launched` says which arguments and PROBE_* variables it got.
"""

from __future__ import annotations

import json
import os
import sys

from mcp.server.mcpserver import MCPServer

__all__ = ["build"]


def build() -> MCPServer:
    server = MCPServer("hostile")

    @server.tool(structured_output=False)
    def flood(megabytes: int = 50) -> str:
        """Answer with `megabytes` MB of text."""
        return "x" * (megabytes * 1024 * 1024)

    @server.resource("flood://{megabytes}", mime_type="text/plain")
    def flood_resource(megabytes: str) -> str:
        """`megabytes` MB of text."""
        return "r" * (int(megabytes) * 1024 * 1024)

    @server.prompt()
    def flooded(megabytes: str = "6") -> str:
        """A prompt of `megabytes` MB."""
        return "p" * (int(megabytes) * 1024 * 1024)

    @server.tool(description="d" * 100_000)
    def described() -> str:
        return "ok"

    @server.tool(structured_output=False)
    def launched() -> str:
        """The command-line arguments and PROBE_* variables this server was started with."""
        args = [arg for arg in sys.argv[1:] if arg != "--http"]
        env = {key: value for key, value in sorted(os.environ.items()) if key.startswith("PROBE_")}
        return json.dumps({"argv": args, "env": env})

    return server


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        build().run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        build().run()


if __name__ == "__main__":
    main()
