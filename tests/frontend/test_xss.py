"""The XSS corpus: hostile markup through every channel that reaches the chat screen.

Each payload tries to run script (`__xss(n)` or `alert(n)`), to load something from another
origin (a beacon listener on 127.0.0.2 counts the contacts, and so do Playwright's request
events), or to plant a live `javascript:` or `data:` link. `n` says which payload came
through which channel (`channel * 100 + payload`).

The defended run (the page as shipped) must see none of it, with every payload's text still
there to read, and no Content-Security-Policy violation either: the sanitiser and the
text-only sinks stop everything before the CSP has to. The control run switches the
defences off in the test only: DOMPurify is routed to a pass-through stub, the text sinks
(`textContent`) become HTML sinks that run scripts, and the CSP is bypassed. Every payload
must then fire through every channel, so the defended run can fail.

A new screen that shows text from a model, a tool, a server or a user adds a row to
`CHANNELS` and delivers it in `_deliver_*` (or a new phase).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Request, Route, expect

from orchestrator.domain import ToolCallContext, ToolOutcome, ToolPolicy, ToolSpec
from tests.fakes.openai_server import FakeOpenAI, FakeToolCall, Reply
from tests.fakes.tools import text
from tests.frontend.conftest import Stack, log_in


@dataclass(frozen=True)
class Payload:
    """A hostile snippet; `{n}` is its id, `{b}` the beacon's base URL."""

    name: str
    source: str
    where: str = "all"  # "markdown": Markdown syntax; "text": markup Markdown keeps as text

    def fits(self, channel: Channel) -> bool:
        return self.where == "all" or (self.where == "markdown") == channel.markdown

    def render(self, n: int, beacon: str) -> str:
        schemeless = beacon.split(":", 1)[1]  # a URL Markdown does not turn into a link
        return (
            self.source.replace("{n}", str(n)).replace("{b}", beacon).replace("{//b}", schemeless)
        )


# No double quote or backslash in any payload: a JSON channel would escape them, and the
# text-sink check looks for the payload verbatim.
PAYLOADS = [
    Payload("img onerror", "<img src=x onerror=__xss({n})>"),
    Payload(
        "svg animate onbegin",
        "<svg><animate onbegin=__xss({n}) attributeName=x dur=1s></animate></svg>",
    ),
    Payload("script element", "<script>__xss({n})</script>"),
    Payload("alert dialog", "<img src=x onerror=alert({n})>"),
    Payload("iframe srcdoc", "<iframe srcdoc='<script>parent.__xss({n})</script>'></iframe>"),
    Payload("iframe javascript: src", "<iframe src=javascript:parent.__xss({n})></iframe>"),
    Payload("iframe data: src", "<iframe src=data:text/html,%3Cimg%20src%3D{b}{n}%3E></iframe>"),
    Payload("img beacon", "<img src={b}{n}>"),
    Payload("CSS style attribute", "<div style=background-image:url({b}{n})>css {n}</div>"),
    Payload("CSS style element", "<style>@import url({//b}{n});</style>"),
    Payload("HTML javascript: link", "<a href=javascript:__xss({n})>link {n}</a>"),
    Payload("entity-encoded handler", "<img src=x onerror=&#95;&#95;xss&#40;{n}&#41;>"),
    Payload("mixed-case tag", "<ImG sRc=x OnErRoR=__xss({n})>"),
    Payload("broken tag", "<<img/src='x'/onerror=__xss({n})>", "text"),
    Payload("misnested tags", "<b><i><img src=x onerror=__xss({n})></b>"),
    Payload("details ontoggle", "<details open ontoggle=__xss({n})>"),
    Payload("Markdown javascript: link", "[link {n}](javascript:__xss({n}))", "markdown"),
    Payload("Markdown entity link", "[link {n}](&#106;avascript:__xss({n}))", "markdown"),
    Payload("Markdown mixed-case link", "[link {n}](JaVaScRiPt:__xss({n}))", "markdown"),
    Payload("Markdown autolink", "<javascript:__xss({n})>", "markdown"),
    Payload(
        "Markdown data: link",
        "[link {n}](data:text/html,%3Cscript%3Ealert({n})%3C/script%3E)",
        "markdown",
    ),
    Payload("Markdown image beacon", "![beacon {n}]({b}{n})", "markdown"),
]


@dataclass(frozen=True)
class Channel:
    """Where text reaches the page; `phase` is when the test delivers and looks at it."""

    id: int
    name: str
    phase: str
    markdown: bool = False
    source: int | None = None  # a channel that shows again what channel `source` delivered
    no_slash: bool = False  # a channel whose values lose everything up to a `/`

    def takes(self, payload: Payload) -> bool:
        return not self.no_slash or "/" not in payload.render(0, "http://b")

    @property
    def ids_from(self) -> int:
        return self.source or self.id


CHANNELS = [
    Channel(1, "model output (Markdown, streamed)", "live", markdown=True),
    Channel(2, "tool arguments (card)", "live"),
    Channel(3, "tool result (card)", "live"),
    Channel(4, "MCP server and tool name (card)", "live"),
    Channel(5, "error message (model API error)", "live"),
    Channel(6, "the user's own message", "live"),
    Channel(11, "model output (Markdown, reopened)", "reopened", markdown=True, source=1),
    Channel(12, "tool arguments (reopened)", "reopened", source=2),
    Channel(13, "tool result (reopened)", "reopened", source=3),
    Channel(16, "the user's own message (reopened)", "reopened", source=6),
    Channel(7, "conversation titles (sidebar, header)", "titles"),
    Channel(8, "uploaded file name (composer chip)", "upload", no_slash=True),
    Channel(9, "user email (admin users screen)", "admin"),
    Channel(10, "API key name (keys screen)", "keys"),
]


def _pairs(channel: Channel) -> list[tuple[int, Payload]]:
    """The ids this channel must show, with their payloads."""
    return [
        (channel.ids_from * 100 + index, payload)
        for index, payload in enumerate(PAYLOADS, start=1)
        if payload.fits(channel) and channel.takes(payload)
    ]


class Beacon:
    """A listener on another loopback address: any contact is a request leaving our origin."""

    def __init__(self) -> None:
        hits: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(204)
                self.send_header("Cache-Control", "no-store")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.hits = hits
        self.server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self.url = f"http://127.0.0.2:{self.server.server_address[1]}/b/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ids(self) -> set[int]:
        return {int(m.group(1)) for path in self.hits if (m := re.search(r"/b/(\d+)", path))}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def beacon() -> Iterator[Beacon]:
    listener = Beacon()
    try:
        yield listener
    finally:
        listener.close()


# Runs before any page script, in every frame: the flag the payloads try to set.
DETECTORS = """
window.__fired = [];
window.__xss = (n) => { (window.top || window).__fired.push(n); };
"""

# The control: text sinks become HTML sinks, and HTML sinks run scripts (as
# createContextualFragment does), the way a careless renderer would.
UNSAFE_SINKS = """
(() => {
  const html = (element, value) => {
    const range = document.createRange();
    range.selectNodeContents(element);
    element.replaceChildren(range.createContextualFragment(String(value ?? "")));
  };
  const text = Object.getOwnPropertyDescriptor(Node.prototype, "textContent");
  Object.defineProperty(Node.prototype, "textContent", {
    get: text.get,
    set(value) {
      if (this.nodeType !== 1 || ["SCRIPT", "STYLE", "TITLE"].includes(this.tagName)) {
        text.set.call(this, value);
      } else {
        html(this, value);
      }
    },
    configurable: true,
  });
  const inner = Object.getOwnPropertyDescriptor(Element.prototype, "innerHTML");
  Object.defineProperty(Element.prototype, "innerHTML", {
    get: inner.get,
    set(value) { html(this, value); },
    configurable: true,
  });
})();
"""

PASS_THROUGH_PURIFIER = (
    "export default { isSupported: true, addHook() {}, removeHook() {},"
    " sanitize: (html) => String(html) };"
)

# Ids found in the current document: flags set, and live links with a hostile scheme.
EVIDENCE = """() => {
  const ids = new Set(window.__fired);
  for (const link of document.querySelectorAll("a")) {
    const href = (link.getAttribute("href") || link.getAttribute("xlink:href") || "").trim();
    if (/^(javascript|data|vbscript):/i.test(href)) {
      const match = decodeURIComponent(href).match(/(?:xss|alert)\\W*(\\d+)/);
      if (match) ids.add(Number(match[1]));
    }
  }
  return [...ids];
}"""

# Every image and frame has loaded or failed, then two frames have been drawn.
SETTLED = """async () => {
  const pending = [...document.images].filter((img) => !img.complete).map((img) =>
    new Promise((done) => {
      img.addEventListener("load", done);
      img.addEventListener("error", done);
    }));
  await Promise.all(pending);
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
}"""

NEW_CONVERSATIONS = """async (titles) => {
  const token = document.querySelector("meta[name=csrf-token]").content;
  const ids = [];
  for (const title of titles) {
    const response = await fetch("/api/conversations", {method: "POST",
      body: JSON.stringify({title}),
      headers: {"Content-Type": "application/json", "X-CSRFToken": token}});
    ids.push((await response.json()).id);
  }
  return ids;
}"""


DELETE_CONVERSATIONS = """async (ids) => {
  const token = document.querySelector("meta[name=csrf-token]").content;
  for (const id of ids) {
    await fetch(`/api/conversations/${id}`, {method: "DELETE", headers: {"X-CSRFToken": token}});
  }
}"""


NEW_USERS = """async (emails) => {
  const token = document.querySelector("meta[name=csrf-token]").content;
  const known = new Set((await (await fetch("/api/admin/users")).json()).items.map((u) => u.email));
  for (const email of emails) {
    if (known.has(email.toLowerCase())) continue;
    const response = await fetch("/api/admin/users", {method: "POST",
      body: JSON.stringify({email, is_admin: false}),
      headers: {"Content-Type": "application/json", "X-CSRFToken": token}});
    if (!response.ok) throw new Error(`user ${email}: ${response.status}`);
  }
}"""


NEW_KEYS = """async (names) => {
  const token = document.querySelector("meta[name=csrf-token]").content;
  const ids = [];
  for (const name of names) {
    const response = await fetch("/api/keys", {method: "POST", body: JSON.stringify({name}),
      headers: {"Content-Type": "application/json", "X-CSRFToken": token}});
    if (!response.ok) throw new Error(`key ${name}: ${response.status}`);
    ids.push((await response.json()).id);
  }
  return ids;
}"""


DELETE_KEYS = """async (ids) => {
  const token = document.querySelector("meta[name=csrf-token]").content;
  for (const id of ids) {
    await fetch(`/api/keys/${id}`, {method: "DELETE", headers: {"X-CSRFToken": token}});
  }
}"""


@dataclass
class Watch:
    """What left the page: dialogs, and requests to other origins."""

    origin: str
    beacon: Beacon
    dialogs: list[str] = field(default_factory=list[str])
    outside: list[str] = field(default_factory=list[str])

    def attach(self, page: Page) -> None:
        def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        def on_request(request: Request) -> None:
            url = request.url
            if re.match(r"(?:https?|wss?)://", url) and not url.startswith(self.origin):
                self.outside.append(url)

        page.on("dialog", on_dialog)
        page.on("request", on_request)

    def reset(self) -> None:
        self.dialogs.clear()
        self.outside.clear()
        self.beacon.hits.clear()

    def ids(self, page: Page) -> set[int]:
        """The payload ids that fired in this document since the last reset."""
        ids = set(page.evaluate(EVIDENCE)) | self.beacon.ids()
        ids |= {int(message) for message in self.dialogs if message.isdigit()}
        for url in self.outside:
            if match := re.search(r"/b/(\d+)", url):
                ids.add(int(match.group(1)))
        return ids


CHANNELS_BY_ID = {channel.id: channel for channel in CHANNELS}


def _text_of(channel_id: int, beacon: str, joiner: str = "\n") -> str:
    """The channel's payloads, each after a visible label `P<n>:`."""
    return joiner.join(
        f"P{n}: {payload.render(n, beacon)}" for n, payload in _pairs(CHANNELS_BY_ID[channel_id])
    )


def _hostile_tools(stack: Stack, beacon: str) -> list[ToolSpec]:
    """One tool per payload: hostile server and tool names and description; hostile result."""
    added = []
    for (name_id, payload), (result_id, _) in zip(
        _pairs(CHANNELS_BY_ID[4]), _pairs(CHANNELS_BY_ID[3]), strict=True
    ):
        hostile = payload.render(name_id, beacon)

        async def handler(
            arguments: dict[str, Any],
            context: ToolCallContext,
            result: str = payload.render(result_id, beacon),
        ) -> ToolOutcome:
            return text(result)

        tool = ToolSpec(
            name=f"xss__p{name_id % 100}",
            server=hostile,
            tool=hostile,
            description=hostile,
            parameters={"type": "object", "properties": {"x": {"type": "string"}}},
            policy=ToolPolicy.AUTO,
        )
        stack.tools.add(tool, handler)
        added.append(tool)
    return added


@dataclass
class Outcome:
    fired: dict[int, set[int]] = field(default_factory=dict[int, set[int]])
    """Channel id: the payload ids that fired through it."""
    unreadable: dict[int, list[int]] = field(default_factory=dict[int, list[int]])
    """Channel id: the payload ids whose text the page does not show."""
    outside: list[str] = field(default_factory=list[str])
    dialogs: list[str] = field(default_factory=list[str])


def _run_corpus(
    context: BrowserContext, stack: Stack, fake: FakeOpenAI, beacon: Beacon, *, control: bool
) -> Outcome:
    """Deliver every payload through every channel, phase by phase; what fired where."""
    # Pages are awaited until the app is ready, not until every subresource (hostile ones
    # included, in the control) has loaded.
    watch = Watch(stack.url, beacon)
    page = context.new_page()
    watch.attach(page)
    log_in(page)
    outcome = Outcome()

    def settle(phase: str) -> None:
        channels = [channel for channel in CHANNELS if channel.phase == phase]
        # Open the tool cards: what a user would see inside them is drawn and loaded.
        page.evaluate("() => document.querySelectorAll('details').forEach((d) => (d.open = true))")
        if control:  # everything must fire: wait for it, within a bound
            expected = {n for channel in channels for n, _ in _pairs(channel)}
            _until(page, lambda: expected <= watch.ids(page), seconds=15)
        page.evaluate(SETTLED)
        ids = watch.ids(page)
        for channel in channels:
            outcome.fired[channel.id] = ids & {n for n, _ in _pairs(channel)}
        outcome.outside.extend(watch.outside)
        outcome.dialogs.extend(watch.dialogs)
        watch.reset()
        page.evaluate("() => { window.__fired.length = 0; }")  # the next phase starts clean

    def readable(
        channel_id: int, region: str, shown: str | None = None, *, fold: bool = False
    ) -> None:
        """Text sinks show each payload verbatim (`fold`: in lower case, as emails are stored);
        Markdown shows at least its label."""
        channel = CHANNELS_BY_ID[channel_id]
        if shown is None:
            shown = " ".join(page.locator(region).all_text_contents())
        missing = outcome.unreadable.setdefault(channel_id, [])
        for n, payload in _pairs(channel):
            wanted = f"P{n}:" if channel.markdown else payload.render(n, beacon.url)
            if fold:
                wanted, shown = wanted.lower(), shown.lower()
            if wanted not in shown:
                missing.append(n)

    # Live: the user's message, a streamed answer, tool cards, an error.
    tools = _hostile_tools(stack, beacon.url)
    try:
        (conversation,) = page.evaluate(NEW_CONVERSATIONS, ["XSS corpus"])
        page.goto(f"/c/{conversation}", wait_until="domcontentloaded")
        page.wait_for_selector("body[data-ready]")
        calls = [
            FakeToolCall(f"xss__p{n % 100}", json.dumps({"x": payload.render(n, beacon.url)}))
            for n, payload in _pairs(CHANNELS_BY_ID[2])
        ]
        fake.script(
            Reply(text=_text_of(1, beacon.url, "\n\n") + "\n\nEnd of answer."),
            Reply(tool_calls=calls),
            Reply(text="Tools done."),
            Reply(status=400, error_message=_text_of(5, beacon.url)),
        )
        for prompt, done in (
            (_text_of(6, beacon.url), "End of answer."),
            ("Run the tools", "Tools done."),
        ):
            page.fill("#prompt", prompt)
            page.keyboard.press("Enter")
            expect(page.locator(".message.assistant").last).to_contain_text(done, timeout=15_000)
            expect(page.locator("#send")).to_be_visible(timeout=15_000)
        page.fill("#prompt", "Fail")
        page.keyboard.press("Enter")
        expect(page.locator(".answer-status.failed")).to_have_count(1, timeout=15_000)
        settle("live")
        if not control:
            readable(1, ".message.assistant .markdown")
            readable(2, ".tool-args")
            readable(3, ".tool-result")
            readable(4, ".tool-name")
            readable(5, ".answer-status.failed")
            readable(6, ".message.user .bubble")

        # Reopened: the same conversation drawn from the stored messages.
        page.reload(wait_until="domcontentloaded")
        page.wait_for_selector("body[data-ready]")
        expect(page.locator(".tool-card")).to_have_count(len(calls), timeout=15_000)
        settle("reopened")
        if not control:
            readable(11, ".message.assistant .markdown")
            readable(12, ".tool-args")
            readable(13, ".tool-result")
            readable(16, ".message.user .bubble")
    finally:
        for tool in tools:
            stack.tools.specs.remove(tool)
            stack.tools.handlers.pop(tool.name, None)

    # Titles: in the sidebar, and in the header of each conversation opened from it.
    titles = [payload.render(n, beacon.url) for n, payload in _pairs(CHANNELS_BY_ID[7])]
    created = [conversation, *page.evaluate(NEW_CONVERSATIONS, titles)]
    page.goto("/", wait_until="domcontentloaded")
    page.wait_for_selector("body[data-ready]")
    links = page.locator(".conversation-link")
    expect(links.nth(len(titles))).to_be_attached()  # ours are the newest
    headers = []
    for index in range(len(titles)):
        links.nth(index).click()
        page.wait_for_function("() => document.getElementById('title').childNodes.length > 0")
        headers.append(page.locator("#title").inner_text())
    settle("titles")
    if not control:
        readable(7, ".conversation-link")
        readable(7, "", shown=" ".join(headers))
    # Gone again, so that no later page (this file's control included) lists them.
    page.evaluate(DELETE_CONVERSATIONS, created)

    # Upload: hostile file names on the chips in the composer (the browser's own names; the
    # server keeps none of `<>:/` in the names it stores, so the sent chips show them defused).
    page.goto("/", wait_until="domcontentloaded")
    page.wait_for_selector("body[data-ready]")
    files = [
        {
            "name": f"P{n}: {payload.render(n, beacon.url)}.md",
            "mimeType": "text/markdown",
            "buffer": b"# Notes\n",
        }
        for n, payload in _pairs(CHANNELS_BY_ID[8])
    ]
    page.set_input_files("#file-input", files=files)  # type: ignore[arg-type]
    expect(page.locator("#attachments .attachment-chip")).to_have_count(len(files))
    settle("upload")
    if not control:
        readable(8, "#attachments .attachment-chip")

    # Admin: hostile emails in the users table (created once; emails cannot be deleted).
    emails = [
        f"P{n}: {payload.render(n, beacon.url)} @xss.test"
        for n, payload in _pairs(CHANNELS_BY_ID[9])
    ]
    page.evaluate(NEW_USERS, emails)
    page.goto("/admin/users", wait_until="domcontentloaded")
    expect(page.locator("#users tr", has_text="@xss.test")).to_have_count(len(emails))
    settle("admin")
    if not control:
        readable(9, "#users", fold=True)

    # Keys: hostile key names in the keys table, revoked again afterwards.
    names = [payload.render(n, beacon.url) for n, payload in _pairs(CHANNELS_BY_ID[10])]
    keys = page.evaluate(
        NEW_KEYS,
        [f"P{n}: {name}" for (n, _), name in zip(_pairs(CHANNELS_BY_ID[10]), names, strict=True)],
    )
    page.goto("/settings/keys", wait_until="domcontentloaded")
    expect(page.locator("#keys tr", has_text="P10")).to_have_count(len(keys))
    settle("keys")
    if not control:
        readable(10, "#keys")
    page.evaluate(DELETE_KEYS, keys)
    page.close()
    return outcome


def _until(page: Page, condition: Callable[[], bool], seconds: float) -> None:
    """Check `condition` every 50 ms (letting the page's events in) until true or timed out."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        page.wait_for_timeout(50)


def _summary(label: str, outcome: Outcome, capsys: pytest.CaptureFixture[str]) -> None:
    pairs = sum(len(_pairs(channel)) for channel in CHANNELS)
    fired = sum(len(ids) for ids in outcome.fired.values())
    with capsys.disabled():
        print(f"\nXSS corpus, {label}: {len(PAYLOADS)} payloads x {len(CHANNELS)} channels")
        for channel in CHANNELS:
            count = f"{len(outcome.fired[channel.id])}/{len(_pairs(channel))}"
            print(f"  {channel.name:<42} fired {count:>5}")
        print(f"  fired {fired}/{pairs}, blocked {pairs - fired}/{pairs}")


def _context(browser: Browser, stack: Stack, *, csp: bool) -> BrowserContext:
    context = browser.new_context(
        base_url=stack.url, viewport={"width": 1280, "height": 800}, bypass_csp=not csp
    )
    context.set_default_timeout(15_000)
    return context


@pytest.mark.parametrize("csp", [True, False], ids=["as-shipped", "sanitiser-alone"])
def test_no_payload_runs_or_calls_out_through_any_channel_and_its_text_stays_readable(
    browser: Browser,
    stack: Stack,
    fake_openai: FakeOpenAI,
    beacon: Beacon,
    capsys: pytest.CaptureFixture[str],
    csp: bool,
) -> None:
    """As shipped, and with the CSP bypassed: the sanitiser and the text sinks alone hold."""
    context = _context(browser, stack, csp=csp)
    try:
        context.add_init_script(DETECTORS)
        outcome = _run_corpus(context, stack, fake_openai, beacon, control=False)
    finally:
        context.close()
    _summary("as shipped" if csp else "the CSP bypassed", outcome, capsys)
    assert {channel: ids for channel, ids in outcome.fired.items() if ids} == {}
    assert outcome.dialogs == []
    assert outcome.outside == []
    assert beacon.hits == []
    assert {channel: ids for channel, ids in outcome.unreadable.items() if ids} == {}


def test_every_payload_fires_through_every_channel_with_the_defences_off(
    browser: Browser,
    stack: Stack,
    fake_openai: FakeOpenAI,
    beacon: Beacon,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The negative control: the same corpus with the sanitiser, text sinks and CSP off."""
    context = _context(browser, stack, csp=False)

    def pass_through(route: Route) -> None:
        route.fulfill(body=PASS_THROUGH_PURIFIER, content_type="text/javascript")

    try:
        context.route("**/vendor/purify.es.js", pass_through)
        context.add_init_script(DETECTORS + UNSAFE_SINKS)
        outcome = _run_corpus(context, stack, fake_openai, beacon, control=True)
    finally:
        context.close()
    _summary("control (sanitiser, text sinks and CSP off)", outcome, capsys)
    missing = {
        channel.name: sorted({n for n, _ in _pairs(channel)} - outcome.fired[channel.id])
        for channel in CHANNELS
    }
    assert {name: ids for name, ids in missing.items() if ids} == {}
