"""Attaching files in a real browser: choose, drop or paste; ask about them; see them on the
message; too big or of the wrong kind gets a clear error."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import httpx
import psutil
from playwright.sync_api import Page, expect

from tests.api.test_files import png
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.frontend.conftest import ARTIFACTS, Stack, screenshot

NOTES = "Project Zephyr launches on the ninth of March.\nBudget: 42 marbles.\n"


def _chip(page: Page, name: str) -> Any:
    return page.locator("#attachments .attachment-chip", has_text=name)


def _uploaded(page: Page, name: str) -> Any:
    chip = _chip(page, name)
    expect(chip).to_be_visible()
    expect(chip).not_to_have_class("attachment-chip composing uploading")
    expect(chip).not_to_have_class("attachment-chip composing failed")
    return chip


def test_a_chosen_file_is_asked_about_and_stays_on_the_message(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    image = png(24, 16)
    page.set_input_files(
        "#file-input",
        files=[
            {"name": "zephyr.md", "mimeType": "text/markdown", "buffer": NOTES.encode()},
            {"name": "red.png", "mimeType": "image/png", "buffer": image},
        ],
    )
    expect(_uploaded(page, "zephyr.md")).to_contain_text(f"{len(NOTES)} B")
    _uploaded(page, "red.png")
    page.fill("#prompt", "what's in this file?")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".composer-wrap").screenshot(path=str(ARTIFACTS / "uploads-composer.png"))
    screenshot(page, "uploads-composer-page")
    page.click("#theme")
    page.locator(".composer-wrap").screenshot(path=str(ARTIFACTS / "uploads-composer-dark.png"))
    page.click("#theme")
    page.set_viewport_size({"width": 390, "height": 800})
    page.wait_for_function(
        "() => document.getElementById('sidebar').getBoundingClientRect().right <= 0"
    )
    screenshot(page, "uploads-composer-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    fake_openai.script(
        Reply(text="zephyr.md says Project Zephyr launches on 9 March.", chunk_delay=0.02)
    )
    page.focus("#prompt")
    page.keyboard.press("Enter")
    answer = page.locator(".message.assistant").last
    expect(answer).to_contain_text("launches on 9 March")
    expect(answer).not_to_have_class("message assistant streaming")
    expect(page.locator("#attachments")).to_be_hidden()

    question = page.locator(".message.user").last
    expect(question.locator(".bubble")).to_have_text("what's in this file?")
    chip = question.locator("a.attachment-chip")
    expect(chip).to_contain_text("zephyr.md")
    thumbnail = question.locator("a.attachment-thumb img")
    expect(thumbnail).to_have_attribute("alt", "red.png")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 24", arg=thumbnail.element_handle()
    )

    sent = fake_openai.last_request["messages"]
    parts = next(m for m in sent if m["role"] == "user")["content"]
    text = "".join(part.get("text", "") for part in parts)
    assert "what's in this file?" in text and '"zephyr.md"' in text and NOTES in text
    url = "data:image/png;base64," + base64.b64encode(image).decode()
    assert {"type": "image_url", "image_url": {"url": url}} in parts

    with page.expect_download() as download:
        chip.click()
    assert download.value.suggested_filename == "zephyr.md"
    assert Path(download.value.path()).read_text() == NOTES

    page.reload()
    page.wait_for_selector("body[data-ready]")
    again = page.locator(".message.user").last
    expect(again.locator("a.attachment-chip")).to_contain_text("zephyr.md")
    expect(again.locator("a.attachment-thumb img")).to_have_attribute("alt", "red.png")
    screenshot(page, "uploads-message")


def test_a_dropped_file_and_a_pasted_image_become_chips_that_can_be_removed(
    page: Page, fake_openai: FakeOpenAI
) -> None:
    page.dispatch_event(
        ".main",
        "drop",
        {
            "dataTransfer": page.evaluate_handle(
                """() => {
                    const data = new DataTransfer();
                    data.items.add(new File(["name,qty\\npears,3\\n"], "dropped.csv",
                                            {type: "text/csv"}));
                    return data;
                }"""
            )
        },
    )
    _uploaded(page, "dropped.csv")
    page.evaluate(
        """bytes => {
            const data = new DataTransfer();
            data.items.add(new File([new Uint8Array(bytes)], "pasted.png", {type: "image/png"}));
            const event = new ClipboardEvent("paste", {clipboardData: data, bubbles: true,
                                                       cancelable: true});
            document.getElementById("prompt").dispatchEvent(event);
        }""",
        list(png()),
    )
    pasted = _uploaded(page, "pasted.png")
    preview = pasted.locator(".attachment-preview img")
    expect(preview).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    page.get_by_role("button", name="Remove dropped.csv").click()
    expect(_chip(page, "dropped.csv")).to_have_count(0)
    expect(page.locator("#attachments .attachment-chip")).to_have_count(1)

    fake_openai.script(Reply(text="A small red image."))
    page.focus("#prompt")
    page.keyboard.press("Enter")  # the image alone is the message
    expect(page.locator(".message.assistant").last).to_contain_text("A small red image.")
    question = page.locator(".message.user").last
    expect(question.locator("a.attachment-thumb img")).to_have_attribute("alt", "pasted.png")
    expect(question.locator(".bubble")).to_have_count(0)
    expect(page.locator("#title")).to_have_text("pasted.png")


def test_a_file_too_big_or_of_the_wrong_kind_shows_a_clear_error(
    page: Page, tmp_path: Path
) -> None:
    big = tmp_path / "huge.log"
    with big.open("wb") as file:
        file.truncate(51 * 1024 * 1024)
    page.set_input_files("#file-input", files=[str(big)])
    too_big = _chip(page, "huge.log")
    expect(too_big).to_have_class("attachment-chip composing failed")
    expect(too_big.locator(".attachment-size")).to_have_text("Too large")
    expect(page.locator("#alert")).to_have_text("huge.log is 51 MB, over the 50 MB limit.")

    page.set_input_files(
        "#file-input",
        files=[{"name": "tool.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ\x90"}],
    )
    wrong = _chip(page, "tool.exe")
    expect(wrong).to_have_class("attachment-chip composing failed")
    expect(wrong.locator(".attachment-size")).to_have_text("Type not allowed")
    expect(page.locator("#alert")).to_contain_text(
        "tool.exe is application/x-msdownload, which cannot be attached."
    )
    screenshot(page, "uploads-errors")

    refused = page.request.post(
        "/api/files",
        multipart={"file": {"name": "a.txt", "mimeType": "text/plain", "buffer": b"x"}},
    )
    assert refused.status == 400
    assert refused.json()["error"]["type"] == "csrf"


def _frontend_pid(url: str) -> int:
    port = int(url.rsplit(":", 1)[1])
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
            assert connection.pid is not None
            return connection.pid
    raise AssertionError(f"nothing listens on {port}")


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


def test_a_large_upload_streams_through_the_front_end_without_being_buffered(
    page: Page, stack: Stack
) -> None:
    pid = _frontend_pid(stack.url)
    size = 45 * 1024 * 1024
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # restart the peak (VmHWM) from now
    before = _memory_kb(pid, "VmRSS")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    response = httpx.post(
        f"{stack.url}/api/files",
        headers={"X-CSRFToken": token},
        cookies=cookies,
        files={"file": ("big.log", b"a" * size, "text/plain")},
        timeout=120,
    )
    assert response.status_code == 201, response.text
    assert response.json()["size"] == size
    grew = (_memory_kb(pid, "VmHWM") - before) / 1024
    assert grew < 20, f"the front end's memory peaked {grew:.0f} MB higher for a 45 MB upload"
