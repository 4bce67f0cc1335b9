"""Reading a pasted `mcpServers` document (Claude Desktop, Cursor) for the admin screen."""

from __future__ import annotations

import json

import pytest

from frontend.admin import server_entries


def test_the_claude_desktop_document_and_its_inner_object_both_read() -> None:
    servers = {"memory": {"command": "npx", "args": ["-y", "server-memory"]}, "docs": {"url": "u"}}
    assert server_entries(json.dumps({"mcpServers": servers})) == list(servers.items())
    assert server_entries(servers) == list(servers.items())


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "This is not JSON (line 1, column 2"),
        ("[1, 2]", "Paste an object"),
        ('{"mcpServers": {}}', "No servers found"),
        ('{"mcpServers": []}', "No servers found"),
        (None, "Paste an object"),
        (json.dumps({f"s{i}": {} for i in range(51)}), "At most 50"),
    ],
)
def test_a_document_of_another_shape_gets_a_message_for_the_user(
    document: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        server_entries(document)
