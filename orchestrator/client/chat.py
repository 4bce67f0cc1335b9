"""The terminal chat: live Markdown, compact tool calls, approvals and forms asked inline.

`ChatSession` runs in the terminal's thread; HTTP runs on a background loop. Ctrl-C while a
run streams asks the server to cancel it (the partial answer is kept) and the session goes
on; a second Ctrl-C stops waiting. At the prompt, Ctrl-D or `/quit` leaves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from orchestrator.client.api import ApiError, AssistantClient, RunEvent
from orchestrator.client.connection import Background
from orchestrator.client.untrusted import clean, plain

__all__ = ["ChatSession"]

_HELP = """\
Commands: /new (a new conversation) · /list (recent conversations) · /open ID ·
/model [NAME] (show or choose the model) · /tools · /help · /quit (or Ctrl-D).
Ctrl-C while the assistant answers cancels that answer."""


def _short(value: Any, limit: int = 80) -> str:
    """Server-supplied `value` on one line, cleaned of control characters, cut to `limit`."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(clean(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _content_text(content: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for part in content:
        if part.get("type") == "text":
            parts.append(str(part.get("text", "")))
        else:
            parts.append(f"[{clean(part.get('type'))}]")
    return " ".join(parts)


class ChatSession:
    """One terminal conversation with the assistant."""

    def __init__(
        self,
        client: AssistantClient,
        background: Background,
        console: Console,
        *,
        conversation_id: str | None = None,
        model: str | None = None,
        json_mode: bool = False,
        approve_all: bool = False,
        ask: Callable[[str], str] | None = None,
    ) -> None:
        self.client = client
        self.background = background
        self.console = console
        self.conversation_id = conversation_id
        self.model = model
        self.json_mode = json_mode
        self.approve_all = approve_all
        self.always: set[str] = set()
        self.ask = ask or console.input

    # --- turns -----------------------------------------------------------------------------

    def send(self, text: str) -> bool:
        """Send one message and show the run; True when it completed without error."""
        call = self.background.call
        if self.conversation_id is None:
            self.conversation_id = call(self.client.create_conversation())
            if not self.json_mode:
                self.console.print(f"[dim]Conversation {plain(self.conversation_id)}[/dim]")
        events = self.background.stream(
            self.client.send(self.conversation_id, text, model=self.model)
        )
        view = _RunView(self)
        try:
            while True:
                # Ctrl-C can land anywhere in here, drawing included, not only in the wait.
                try:
                    event = events.next()
                    if event is None:
                        break
                    view.show(event)
                except KeyboardInterrupt:
                    if not view.cancel_requested():
                        events.close()
                        view.abandon()
                        return False
        except ApiError as error:
            view.stop()
            self.console.print(f"[red]{plain(error.message)}[/red]")
            return False
        finally:
            events.close()
            view.stop()
        return view.ok

    # --- the interactive loop -----------------------------------------------------------------

    def repl(self) -> int:
        """Read messages and slash commands until Ctrl-D or `/quit`.

        Returns:
            The exit status: 1 if the last message's run failed, else 0.
        """
        self.console.print(f"[dim]{_HELP}[/dim]")
        status = 0
        while True:
            try:
                line = self.ask("[bold cyan]you>[/bold cyan] ").strip()
            except EOFError:
                self.console.print()
                return status
            except KeyboardInterrupt:
                self.console.print("\n[dim](Ctrl-D or /quit leaves)[/dim]")
                continue
            if not line:
                continue
            if line.startswith("/"):
                if self.command(line) is False:
                    return status
                continue
            status = 0 if self.send(line) else 1

    def command(self, line: str) -> bool:
        """Run a slash command; False means leave."""
        name, _, argument = line[1:].partition(" ")
        argument = argument.strip()
        call = self.background.call
        try:
            if name in ("quit", "exit", "q"):
                return False
            if name == "help":
                self.console.print(_HELP)
            elif name == "new":
                self.conversation_id = None
                self.console.print("[dim]A new conversation starts with your next message.[/dim]")
            elif name == "list":
                self._list(call(self.client.conversations()))
            elif name == "open" and argument:
                conversation = call(self.client.conversation(argument))
                self.conversation_id = conversation["id"]
                self._history(conversation)
            elif name == "model":
                self._model(argument or None, call(self.client.models()))
            elif name == "tools":
                self._tools(call(self.client.tools()))
            else:
                self.console.print(f"[yellow]Unknown command /{plain(name)}.[/yellow] {_HELP}")
        except ApiError as error:
            self.console.print(f"[red]{plain(error.message)}[/red]")
        return True

    def _list(self, items: list[dict[str, Any]]) -> None:
        if not items:
            self.console.print("[dim]No conversations yet.[/dim]")
            return
        table = Table(box=None, show_header=True, header_style="bold")
        for column in ("id", "title", "messages", "updated"):
            table.add_column(column)
        for item in items:
            marker = " ←" if item["id"] == self.conversation_id else ""
            table.add_row(
                Text(clean(item["id"])),
                Text(_short(item["title"] or "(untitled)", 40) + marker),
                Text(clean(item["message_count"])),
                Text(clean(item["updated_at"])[:16].replace("T", " ")),
            )
        self.console.print(table)
        self.console.print("[dim]/open ID continues one.[/dim]")

    def _history(self, conversation: dict[str, Any]) -> None:
        for message in conversation.get("messages", [])[-10:]:
            role = message["role"]
            if role in ("user", "assistant") and message.get("content"):
                who = "you" if role == "user" else "assistant"
                self.console.print(
                    f"[dim]{who}:[/dim] {escape(_short(_content_text(message['content']), 200))}"
                )

    def _model(self, choice: str | None, models: dict[str, Any]) -> None:
        if choice is not None:
            self.model = choice
            self.console.print(f"Messages now ask for the model [bold]{plain(choice)}[/bold].")
            return
        if not models.get("configured"):
            self.console.print(f"[yellow]{plain(models.get('message'))}[/yellow]")
            return
        for item in models["items"]:
            current = self.model or (item["id"] if item.get("default") else None)
            mark = " (in use)" if item["id"] == current else ""
            self.console.print(
                f"[bold]{plain(item['id'])}[/bold] — {plain(item['provider'])}{mark}"
            )
        if models.get("message"):
            self.console.print(f"[dim]{plain(models['message'])}[/dim]")

    def _tools(self, tools: list[dict[str, Any]]) -> None:
        if not tools:
            self.console.print("[dim]No tools are available.[/dim]")
            return
        table = Table(box=None, show_header=True, header_style="bold")
        for column in ("tool", "policy", "description"):
            table.add_column(column)
        for tool in tools:
            table.add_row(
                Text(clean(tool["name"])),
                Text(clean(tool.get("policy", ""))),
                Text(_short(tool.get("description") or "", 60)),
            )
        self.console.print(table)


class _RunView:
    """What one run looks like in the terminal while its events arrive."""

    def __init__(self, session: ChatSession) -> None:
        self.session = session
        self.console = session.console
        self.run_id: str | None = None
        self.text = ""
        self.live: Live | None = None
        self.ok = True
        self._cancelling = False

    # Ctrl-C: the first asks the server to cancel; the second stops waiting.
    def cancel_requested(self) -> bool:
        if self._cancelling or self.run_id is None:
            return False
        self._cancelling = True
        self._pause()
        self.console.print("[yellow]Cancelling…[/yellow] (Ctrl-C again to stop waiting)")
        try:
            self.session.background.call(self.session.client.cancel(self.run_id))
        except ApiError as error:
            self.console.print(f"[red]{plain(error.message)}[/red]")
        return True

    def abandon(self) -> None:
        self.ok = False
        self._pause()
        self.console.print("[yellow]Stopped waiting; the run may still be going.[/yellow]")

    def stop(self) -> None:
        self._pause()

    def _pause(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
        elif self.text:  # not a terminal: the answer is printed once, whole
            self.console.print(Markdown(self.text))
        self.text = ""

    def _delta(self, text: str) -> None:
        self.text += clean(text)
        if not self.console.is_terminal:
            return
        if self.live is None:
            self.live = Live(
                Markdown(self.text), console=self.console, refresh_per_second=12, transient=False
            )
            self.live.start()
        else:
            self.live.update(Markdown(self.text))

    def show(self, event: RunEvent) -> None:
        session = self.session
        if session.json_mode:
            print(event.as_json(), flush=True)
        data = event.data
        name = event.name
        if name == "run.started":
            self.run_id = data["run_id"]
        elif name == "tool.approval_required":
            self._approval(data)
        elif name == "input.required":
            self._input(data)
        elif name == "error":
            self.ok = False
            if not session.json_mode:
                self._pause()
                self.console.print(
                    f"[red]Error ({plain(data.get('type'))}):[/red] {plain(data.get('message'))}"
                )
        elif name == "run.completed" and data.get("status") not in ("completed", None):
            self.ok = data.get("status") == "cancelled" and self._cancelling
            if not session.json_mode:
                self._pause()
                self.console.print(f"[yellow]({plain(data['status'])})[/yellow]")
        if session.json_mode:
            return
        if name == "message.delta":
            self._delta(data["text"])
        elif name == "tool.call":
            self._pause()
            self.console.print(
                Text.assemble(
                    ("⚙ ", "cyan"),
                    (clean(f"{data['server']}.{data['tool']}"), "bold cyan"),
                    (f"({_short(data.get('arguments'), 70)})", "dim"),
                )
            )
        elif name == "tool.progress":
            total = data.get("total")
            done = f"{data['progress']:g}" + (f"/{total:g}" if total else "")
            message = f" {_short(data['message'], 200)}" if data.get("message") else ""
            self.console.print(Text(f"  … {done}{message}", style="dim"))
        elif name == "tool.result":
            if data.get("fault"):  # the tool server failed: no answer from the tool itself
                mark = ("⚠ server failed: ", "yellow")
            elif data.get("is_error"):
                mark = ("✗ ", "red")
            else:
                mark = ("✓ ", "green")
            summary = _short(_content_text(data.get("content", [])), 100)
            self.console.print(Text.assemble("  ", mark, (summary, "dim")))
        elif name == "message.completed":
            self._pause()
        elif name == "context.compacted":
            self.console.print(
                Text(
                    f"  (the {plain(data.get('messages'))} earlier messages were summarised: "
                    f"{plain(data.get('tokens_before'))} → {plain(data.get('tokens_after'))} "
                    "tokens)",
                    style="dim",
                )
            )

    def _approval(self, data: dict[str, Any]) -> None:
        session = self.session
        tool = clean(f"{data['server']}.{data['tool']}")
        approve = session.approve_all or data["tool"] in session.always
        if not approve and session.json_mode:
            approve = False  # scripts approve with --yes; anything else is denied
        elif not approve:
            self._pause()
            while True:
                arguments = escape(_short(data.get("arguments"), 70))
                prompt = (
                    f"[bold yellow]Allow[/bold yellow] {escape(tool)}[dim]({arguments})[/dim]? "
                    "\\[y]es / \\[n]o / \\[a]lways: "
                )
                try:
                    answer = session.ask(prompt).strip().lower()
                except (EOFError, KeyboardInterrupt):
                    answer = "n"
                if answer in ("y", "yes", "n", "no", "a", "always"):
                    break
            if answer in ("a", "always"):
                session.always.add(data["tool"])
            approve = answer[0] in ("y", "a")
        try:
            session.background.call(session.client.decide(data["id"], approve))
        except ApiError as error:
            self.console.print(f"[red]{plain(error.message)}[/red]")

    def _input(self, data: dict[str, Any]) -> None:
        session = self.session
        if self.run_id is None:
            return
        if session.json_mode:
            action, content = "decline", None
        else:
            self._pause()
            action, content = _ask_form(self.console, session.ask, data)
        try:
            session.background.call(
                session.client.answer_input(self.run_id, data["id"], action, content)
            )
        except ApiError as error:
            self.console.print(f"[red]{plain(error.message)}[/red]")


def _ask_form(
    console: Console, ask: Callable[[str], str], data: dict[str, Any]
) -> tuple[str, dict[str, Any] | None]:
    """Ask a tool server's form field by field; an empty answer to the first declines."""
    console.print(f"[bold magenta]A tool asks:[/bold magenta] {plain(data.get('message') or '')}")
    if data.get("mode") == "url":
        console.print(f"Open {plain(data.get('url'))} in a browser.")
        answer = ask("Done? \\[y]es / \\[n]o: ").strip().lower()
        return ("accept" if answer.startswith("y") else "decline"), None
    schema = data.get("schema") or {}
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    content: dict[str, Any] = {}
    try:
        for key, field in properties.items():
            label = field.get("title") or key
            hint = field.get("description")
            kind = field.get("type", "string")
            choices = field.get("enum")
            suffix = plain(f" ({'/'.join(map(str, choices))})") if choices else ""
            if hint:
                console.print(f"[dim]{plain(hint)}[/dim]")
            while True:
                optional = "" if key in required else " \\[optional]"
                raw = ask(f"{plain(label)}{suffix}{optional}: ").strip()
                if not raw and key not in required:
                    break
                value = _coerce(raw, kind, choices)
                if value is not None:
                    content[key] = value
                    break
                console.print(f"[yellow]Please give a valid {plain(kind)}.[/yellow]")
    except (EOFError, KeyboardInterrupt):
        return "cancel", None
    return "accept", content


def _coerce(raw: str, kind: str, choices: list[Any] | None) -> Any:
    if choices and raw not in map(str, choices):
        return None
    if kind == "boolean":
        lowered = raw.lower()
        return (
            True
            if lowered in ("y", "yes", "true")
            else False
            if lowered in ("n", "no", "false")
            else None
        )
    if kind in ("number", "integer"):
        try:
            return int(raw) if kind == "integer" else float(raw)
        except ValueError:
            return None
    return raw or None
