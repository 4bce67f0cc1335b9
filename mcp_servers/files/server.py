"""The files server: a private workspace per user, for the model to read and write."""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict
from typing import Annotated, Any

import anyio.to_thread
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from mcp_servers.files.workspace import Workspace, WorkspaceError, as_text_or_base64
from mcp_servers.identity import require_user
from mcp_servers.server import DESTRUCTIVE, READ_ONLY, OurServer, resolver_for
from mcp_servers.settings import ServersSettings

__all__ = ["build_server"]

NAME = "files"
_INSTRUCTIONS = (
    "A private workspace of files for the current user. Paths are relative to the "
    "workspace root ('notes/todo.md'); '..', absolute paths and symlinks are refused."
)

RelPath = Annotated[str, Field(max_length=1024, description="A path relative to the workspace.")]


def build_server(settings: ServersSettings | None = None) -> OurServer:
    """The files server; each user's workspace is a folder under FILES_ROOT."""
    settings = settings or ServersSettings()
    server = OurServer(NAME, resolver=resolver_for(NAME, settings), instructions=_INSTRUCTIONS)
    root = settings.files_root()

    def workspace() -> Workspace:
        return Workspace(
            root,
            require_user(),
            max_file_bytes=settings.files.max_file_bytes,
            quota_bytes=settings.files.quota_bytes,
            quota_entries=settings.files.quota_entries,
        )

    async def run(function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await anyio.to_thread.run_sync(lambda: function(*args, **kwargs))
        except WorkspaceError as error:
            raise ToolError(str(error)) from error

    @server.tool(annotations=READ_ONLY)
    async def list_files(path: RelPath = ".", recursive: bool = False) -> dict[str, Any]:
        """List the files and folders at `path` in the workspace (recursively if asked)."""
        entries = await run(workspace().list, path, recursive=recursive)
        return {"path": path, "entries": [asdict(entry) for entry in entries]}

    @server.tool(annotations=READ_ONLY)
    async def read_file(
        path: RelPath,
        max_bytes: Annotated[int, Field(ge=1, le=10 * 1024 * 1024)] = 1024 * 1024,
    ) -> dict[str, Any]:
        """Read a file. Text comes back as text; binary files as base64."""
        data, size = await run(workspace().read, path, max_bytes=max_bytes)
        truncated = size > len(data)
        content, binary = as_text_or_base64(data)
        if binary and truncated:
            # A cut in the middle of a multibyte character is not binary data.
            text = data.decode("utf-8", errors="ignore")
            if "\x00" not in text and len(text.encode()) >= len(data) - 3:
                content, binary = text, False
        return {
            "path": path,
            "size": size,
            "truncated": truncated,
            "encoding": "base64" if binary else "utf-8",
            "content": content,
        }

    @server.tool(annotations=DESTRUCTIVE)
    async def write_file(
        path: RelPath,
        content: str,
        encoding: Annotated[str, Field(pattern="^(utf-8|base64)$")] = "utf-8",
        overwrite: bool = True,
        append: bool = False,
    ) -> dict[str, Any]:
        """Write a file (creating folders on the way). `encoding="base64"` for binary data."""
        if encoding == "base64":
            try:
                data = base64.b64decode(content, validate=True)
            except binascii.Error as error:
                raise ToolError("content is not valid base64") from error
        else:
            data = content.encode()
        size = await run(workspace().write, path, data, overwrite=overwrite, append=append)
        return {"path": path, "size": size}

    @server.tool()
    async def make_directory(path: RelPath) -> dict[str, Any]:
        """Create a folder (and its parents)."""
        await run(workspace().make_directory, path)
        return {"path": path, "created": True}

    @server.tool(annotations=DESTRUCTIVE)
    async def move_file(source: RelPath, destination: RelPath, overwrite: bool = False) -> dict:
        """Move or rename a file or folder inside the workspace."""
        await run(workspace().move, source, destination, overwrite=overwrite)
        return {"source": source, "destination": destination}

    @server.tool(annotations=DESTRUCTIVE)
    async def delete_file(path: RelPath, recursive: bool = False) -> dict[str, Any]:
        """Delete a file, or a folder (`recursive` for a non-empty one)."""
        await run(workspace().delete, path, recursive=recursive)
        return {"path": path, "deleted": True}

    @server.tool(annotations=READ_ONLY)
    async def search_files(
        query: Annotated[str, Field(min_length=1, max_length=200)],
        path: RelPath = ".",
        glob: Annotated[str | None, Field(max_length=100)] = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
    ) -> dict[str, Any]:
        """Find files whose name or content contains `query` (case-insensitive)."""
        matches = await run(workspace().search, query, path=path, glob=glob, limit=limit)
        return {"query": query, "matches": [asdict(match) for match in matches]}

    return server
