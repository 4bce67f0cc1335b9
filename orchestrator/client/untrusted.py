"""Text the server sent, made safe to print in a terminal.

Tool names, arguments and results, server names, error messages and elicitation forms come
from the orchestrator and, through it, from MCP servers anyone may have written. Printed as
they are, Rich would read `[bold]…[/bold]` in them as markup and the terminal would obey
escape sequences and carriage returns: a tool result could draw a fake approval prompt or
rewrite the line above. So every such string goes through `clean` (control characters
removed, newline and tab kept) and, where it is placed inside markup, `plain` (also
escaped), or into a `rich.text.Text`, which never reads markup.
"""

from __future__ import annotations

import re

from rich.markup import escape

__all__ = ["clean", "plain"]

# C0 controls but tab and newline, DEL, C1 controls (8-bit CSI among them), and the Unicode
# bidirectional overrides and isolates that reorder what is shown.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(value: object) -> str:
    """`value` as text without control characters (newline and tab kept)."""
    return _CONTROL.sub("", value if isinstance(value, str) else str(value))


def plain(value: object) -> str:
    """`value` cleaned and escaped, to put inside a Rich markup string as literal text."""
    return escape(clean(value))
