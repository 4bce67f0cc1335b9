"""`assistant chat` driven in a pseudo-terminal against a running orchestrator (fake model)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

from orchestrator.domain import ToolPolicy
from orchestrator.main import create_app
from tests.api.conftest import make_settings, orchestrator_thread
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fakes.tools import FakeTools, deleted, spec

ASSISTANT = str(Path(sys.executable).parent / "assistant")


@dataclass
class Orchestrator:
    url: str
    api_key: str
    tools: FakeTools


@pytest.fixture
def orchestrator(
    database_url: str, data_dir: Path, fake_openai: FakeOpenAI
) -> Iterator[Orchestrator]:
    tools = FakeTools()
    tools.add(spec("files__delete", ToolPolicy.ASK, server="files"), deleted)
    tools.add(spec("clock__now", ToolPolicy.AUTO, server="clock"))
    settings = make_settings(database_url, data_dir, fake_openai.url)  # type: ignore[attr-defined]
    app = create_app(settings, tools=tools)
    with orchestrator_thread(app) as server:
        yield Orchestrator(server.url, server.started_with, tools)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]|\x1b\][^\x07]*\x07|\r")


class Terminal:
    """The child's screen as text without escape codes; `expect` waits for text in it."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.text = ""
        self.seen = 0

    def expect(self, wanted: str, timeout: float = 30) -> str:
        """Wait for `wanted` after what earlier calls matched; returns what came before it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.text.find(wanted, self.seen)
            if found >= 0:
                before = self.text[self.seen : found]
                self.seen = found + len(wanted)
                return before
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{wanted!r} did not appear; the screen:\n{self.text}")
            try:
                chunk = self.child.read_nonblocking(4096, timeout=min(remaining, 1))
            except pexpect.TIMEOUT:
                continue
            self.text += _ANSI.sub("", chunk)

    def send(self, line: str) -> None:
        self.child.sendline(line)

    def ended(self) -> int:
        self.child.expect(pexpect.EOF, timeout=30)
        self.child.close()
        return self.child.exitstatus


def _chat(orchestrator: Orchestrator, tmp_path: Path, *args: str) -> Terminal:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ASSISTANT_")}
    env.update(
        ASSISTANT_ENV_FILE="",
        ASSISTANT_CLIENT_CONFIG=str(tmp_path / "client.json"),
        ASSISTANT_URL=orchestrator.url,
        ASSISTANT_API_KEY=orchestrator.api_key,
        COLUMNS="100",
        LINES="40",
        TERM="xterm",
    )
    child = pexpect.spawn(
        ASSISTANT, ["chat", *args], env=env, encoding="utf-8", timeout=30, dimensions=(40, 100)
    )
    return Terminal(child)


def test_a_question_streams_an_answer_rendered_as_markdown(
    orchestrator: Orchestrator, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.script(Reply(text="Here is **bold** news:\n\n- one\n- two"))
    term = _chat(orchestrator, tmp_path)
    term.expect("you>")
    term.send("What's new?")
    term.expect("Here is bold news")  # Markdown rendered: no asterisks
    term.expect("• one")
    term.expect("you>")
    term.send("/list")
    term.expect("New conversation ←")  # the one this session is in
    term.expect("you>")
    term.send("/tools")
    term.expect("files__delete")
    term.expect("you>")
    term.child.sendeof()
    assert term.ended() == 0


def test_a_tool_call_is_approved_inline_and_always_approves_the_next(
    orchestrator: Orchestrator, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.script(
        Reply(tool_calls=[FakeToolCall("files__delete", json.dumps({"x": "old.txt"}))]),
        Reply(text="Deleted old.txt."),
        Reply(tool_calls=[FakeToolCall("files__delete", json.dumps({"x": "tmp.txt"}))]),
        Reply(text="Deleted tmp.txt too."),
    )
    term = _chat(orchestrator, tmp_path)
    term.expect("you>")
    term.send("Delete old.txt")
    term.expect("files.delete")
    term.expect("[a]lways")
    term.send("a")
    term.expect("deleted old.txt")
    term.expect("Deleted old.txt.")
    term.expect("you>")
    term.send("And tmp.txt")
    before = term.expect("Deleted tmp.txt too.")
    assert "Allow" not in before  # "always" answered this one
    term.expect("you>")
    term.send("/quit")
    assert term.ended() == 0
    assert list(orchestrator.tools.calls) == [
        ("files__delete", {"x": "old.txt"}),
        ("files__delete", {"x": "tmp.txt"}),
    ]


def test_ctrl_c_cancels_the_run_and_the_session_goes_on(
    orchestrator: Orchestrator, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.script(
        Reply(chunks=[f"word{i} " for i in range(400)], chunk_delay=0.05),
        Reply(text="Still here."),
    )
    term = _chat(orchestrator, tmp_path)
    term.expect("you>")
    term.send("Tell me a long story")
    term.expect("word3")
    term.child.sendintr()
    term.expect("Cancelling")
    term.expect("(cancelled)")
    term.expect("you>")
    term.send("Are you there?")
    term.expect("Still here.")
    term.expect("you>")
    term.child.sendeof()
    assert term.ended() == 0


def test_json_mode_prints_one_event_per_line_and_fails_on_error(
    orchestrator: Orchestrator, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ASSISTANT_")}
    env.update(
        ASSISTANT_ENV_FILE="",
        ASSISTANT_CLIENT_CONFIG=str(tmp_path / "client.json"),
        ASSISTANT_URL=orchestrator.url,
        ASSISTANT_API_KEY=orchestrator.api_key,
    )
    fake_openai.script(Reply(text="Hello script."))
    done = subprocess.run(
        [ASSISTANT, "chat", "--json", "hi"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0]["event"] == "run.started" and events[-1]["event"] == "run.completed"
    assert "".join(e["data"]["text"] for e in events if e["event"] == "message.delta") == (
        "Hello script."
    )
    conversation = events[0]["data"]["conversation_id"]
    fake_openai.script(Reply(status=500), Reply(status=500), Reply(status=500))
    failed = subprocess.run(
        [ASSISTANT, "chat", "--json", "--conversation", conversation, "again"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == 1
    assert json.loads(failed.stdout.splitlines()[-1])["event"] == "error"
    wrong = subprocess.run(
        [ASSISTANT, "chat", "hi"],
        env=env | {"ASSISTANT_API_KEY": "sk-asst-wrong"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 1 and "API key" in wrong.stderr
