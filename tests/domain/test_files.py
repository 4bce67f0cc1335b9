"""Which files are taken, under which name and type, and how they are offered for download."""

from __future__ import annotations

import pytest

from orchestrator.domain import (
    FilePolicy,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedType,
    content_disposition,
    safe_filename,
)

POLICY = FilePolicy(
    max_bytes=1024, allowed_types=("text/*", "application/json", "application/pdf", "image/png")
)


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ('a"b<c>d|e?.txt', "a_b_c_d_e_.txt"),
        ("line\nbreak\x00.md", "line_break_.md"),
        ("  .hidden  ", "hidden"),
        ("x" * 300 + ".json", "x" * 195 + ".json"),
    ],
)
def test_a_file_name_loses_folders_and_unsafe_characters(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe


@pytest.mark.parametrize("raw", [None, "", "..", "/", " . "])
def test_a_file_without_a_usable_name_is_refused(raw: str | None) -> None:
    with pytest.raises(InvalidInput):
        safe_filename(raw)


def test_the_download_name_has_an_ascii_fallback_and_the_exact_utf8_name() -> None:
    header = content_disposition('Résumé "final".pdf')
    assert header == (
        'attachment; filename="Resume _final_.pdf"; '
        "filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.pdf"
    )


@pytest.mark.parametrize(
    ("name", "declared", "kind"),
    [
        ("main.py", "text/x-python", "text/plain"),
        ("app.ts", "video/mp2t", "text/plain"),
        ("data.json", "", "application/json"),
        ("notes", "text/plain; charset=utf-8", "text/plain"),
        ("photo.png", "application/octet-stream", "image/png"),
    ],
)
def test_the_type_comes_from_the_name_before_the_browsers_guess(
    name: str, declared: str, kind: str
) -> None:
    assert POLICY.content_type(declared, name) == kind


@pytest.mark.parametrize(
    ("name", "declared"),
    [("photo.jpg", "image/jpeg"), ("thing", "application/zip"), ("blob", None)],
)
def test_a_type_not_allowed_is_unsupported(name: str, declared: str | None) -> None:
    with pytest.raises(UnsupportedType, match="cannot be attached"):
        POLICY.content_type(declared, name)


@pytest.mark.parametrize(
    ("kind", "head", "good"),
    [
        ("image/png", b"\x89PNG\r\n\x1a\n....", True),
        ("image/png", b"<svg onload=alert(1)>", False),
        ("application/pdf", b"%PDF-1.7\n", True),
        ("application/pdf", b"MZ\x90\x00", False),
        ("text/plain", "héllo wörld\n".encode(), True),
        ("text/plain", b"\x00\x01\x02\x03", False),
        ("application/json", b'{"a": 1}', True),
    ],
)
def test_the_first_bytes_must_agree_with_the_type(kind: str, head: bytes, good: bool) -> None:
    if good:
        POLICY.check_start("f", kind, head)
    else:
        with pytest.raises(UnsupportedType, match="does not look like"):
            POLICY.check_start("f", kind, head)


def test_sizes_over_the_limit_or_empty_are_refused() -> None:
    POLICY.check_size("f", 1024)
    with pytest.raises(PayloadTooLarge, match=r"larger than the 1\.0 KB limit"):
        POLICY.check_size("f", 1025)
    with pytest.raises(InvalidInput, match="empty"):
        POLICY.check_size("f", 0)
