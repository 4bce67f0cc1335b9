"""The relay resumes the orchestrator's stream after a drop, with no text lost or doubled."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.frontend.conftest import Stack, log_in, start_frontend


class CuttableProxy:
    """A TCP proxy to the orchestrator whose open connections can all be cut at once."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._target))
            with self._lock:
                self._open += [client, upstream]
                self.accepted += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        with self._lock:
            cutting, self._open = self._open, []
        for end in cutting:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()

    def close(self) -> None:
        self._listener.close()
        self.cut()


@pytest.fixture
def cut_stack(stack: Stack, tmp_path: Path) -> Iterator[tuple[str, CuttableProxy]]:
    proxy = CuttableProxy(int(stack.orchestrator_url.rsplit(":", 1)[1]))
    frontend = start_frontend(f"http://127.0.0.1:{proxy.port}", tmp_path / "data")
    try:
        yield frontend.url, proxy
    finally:
        frontend.stop()
        proxy.close()


def test_the_relay_resumes_after_the_orchestrator_connection_drops(
    cut_stack: tuple[str, CuttableProxy], browser: Browser, fake_openai: FakeOpenAI
) -> None:
    url, proxy = cut_stack
    context = browser.new_context(base_url=url)
    page = context.new_page()
    log_in(page)
    words = [f"r{i} " for i in range(90)]
    fake_openai.script(Reply(chunks=words, chunk_delay=0.03))
    page.fill("#prompt", "Keep going")
    page.keyboard.press("Enter")
    answer = page.locator(".message.assistant").last
    expect(answer).to_contain_text("r10 ")
    before = proxy.accepted
    proxy.cut()
    expect(answer).to_contain_text("r40 ")
    proxy.cut()
    expect(answer).to_contain_text("r89", timeout=20_000)
    expect(answer).not_to_have_class("message assistant streaming")
    assert answer.locator(".markdown").inner_text().split() == [w.strip() for w in words]
    assert proxy.accepted > before, "the relay should have reconnected"
    context.close()


@pytest.fixture
def two_frontends(stack: Stack, tmp_path: Path) -> Iterator[tuple[str, str]]:
    shared = {"REDIS_URL": "redis://127.0.0.1:6379/0", "FRONTEND_SECRET_KEY": "s" * 48}
    first = start_frontend(stack.orchestrator_url, tmp_path / "one", **shared)
    try:
        second = start_frontend(stack.orchestrator_url, tmp_path / "two", **shared)
        try:
            yield first.url, second.url
        finally:
            second.stop()
    finally:
        first.stop()


def test_two_frontend_processes_sharing_redis_keep_two_tabs_in_step(
    two_frontends: tuple[str, str], browser: Browser, fake_openai: FakeOpenAI
) -> None:
    first, second = two_frontends
    context = browser.new_context(base_url=first)
    one = context.new_page()
    log_in(one)
    fake_openai.script(Reply(text="Ready."))
    one.fill("#prompt", "Start")
    one.keyboard.press("Enter")
    expect(one.locator(".message.assistant")).to_contain_text("Ready.")
    two = context.new_page()  # the same session, served by the other process
    two.goto(one.url.replace(first, second))
    two.wait_for_selector("body[data-ready]")
    expect(two.locator(".message.assistant")).to_contain_text("Ready.")
    words = [f"q{i} " for i in range(60)]
    fake_openai.script(Reply(chunks=words, chunk_delay=0.03))
    one.fill("#prompt", "Again")
    one.keyboard.press("Enter")
    for tab in (one, two):
        answer = tab.locator(".message.assistant").nth(1)
        expect(answer).to_contain_text("q59", timeout=20_000)
        expect(answer).not_to_have_class("message assistant streaming")
        assert answer.locator(".markdown").inner_text().split() == [w.strip() for w in words]
    context.close()
