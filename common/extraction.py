"""Readable text out of documents: HTML to Markdown, PDF to text, bytes to str.

HTML goes through trafilatura (main content, boilerplate removed, Markdown with links and
tables); PDF through pypdf, page by page. Shared by the web server's `fetch`, the
knowledge server's ingestion and the orchestrator's attached files. Synchronous and
CPU-bound: call it from a worker thread.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field

__all__ = [
    "Extracted",
    "UnsupportedContent",
    "decode_text",
    "extract",
    "html_to_markdown",
    "kind_of",
    "pdf_pages",
]

logger = logging.getLogger(__name__)

_TEXT_TYPES = {
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/json": "text",
    "text/csv": "text",
    "application/xml": "text",
    "text/xml": "text",
}
_SUFFIXES = {
    ".txt": "text",
    ".text": "text",
    ".log": "text",
    ".csv": "text",
    ".json": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}


class UnsupportedContent(Exception):
    """Content this module cannot turn into text (images, archives, ...)."""


@dataclass
class Extracted:
    """A document as text. `pages` maps character offsets to PDF page numbers."""

    text: str
    kind: str
    title: str | None = None
    pages: list[tuple[int, int]] = field(default_factory=list)

    def page_at(self, offset: int) -> int | None:
        """The PDF page the character at `offset` is on (None for a document without pages)."""
        page = None
        for start, number in self.pages:
            if start > offset:
                break
            page = number
        return page


def kind_of(mime_type: str | None, filename: str | None = None, data: bytes = b"") -> str:
    """One of text, markdown, html, pdf.

    Raises:
        UnsupportedContent: for anything else.
    """
    base = (mime_type or "").split(";", 1)[0].strip().lower()
    if base in _TEXT_TYPES:
        return _TEXT_TYPES[base]
    if filename:
        suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        if suffix in _SUFFIXES:
            return _SUFFIXES[suffix]
    head = data[:1024].lstrip().lower()
    if head.startswith(b"%pdf-"):
        return "pdf"
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if base.startswith("text/") or (not base and b"\x00" not in data[:4096]):
        return "text"
    raise UnsupportedContent(f"Cannot read {base or 'this content'} as text.")


def decode_text(data: bytes, charset: str | None = None) -> str:
    """Bytes as text: the declared charset, else UTF-8, else the best guess."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    return str(best) if best is not None else data.decode("utf-8", errors="replace")


def _charset_of(mime_type: str | None) -> str | None:
    match = re.search(r"charset=([\w.:-]+)", mime_type or "", re.IGNORECASE)
    return match.group(1).strip("\"'") if match else None


def html_to_markdown(html: str, url: str | None = None) -> tuple[str | None, str]:
    """The page's title and its main content as Markdown."""
    import trafilatura

    markdown = trafilatura.extract(
        html,
        url=url,
        output_format="markdown",
        include_links=True,
        include_tables=True,
        include_formatting=True,
        include_comments=False,
        favor_recall=True,
    )
    metadata = trafilatura.extract_metadata(html, default_url=url)
    title = metadata.title if metadata is not None else None
    if not markdown:
        markdown = _plain_text(html)
    return title, markdown.strip()


def _plain_text(html: str) -> str:
    """Every visible text node, for pages trafilatura finds no main content in."""
    import lxml.html
    from lxml.etree import ParserError

    try:
        root = lxml.html.fromstring(html)
    except (ValueError, ParserError):
        return ""
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    return re.sub(r"\n\s*\n+", "\n\n", root.text_content()).strip()


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page.

    Raises:
        UnsupportedContent: not a readable PDF (damaged, or encrypted with a password).
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnsupportedContent("The PDF is encrypted.")
        return [(page.extract_text() or "").strip() for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise UnsupportedContent(f"Not a readable PDF: {error}") from error


def extract(
    data: bytes,
    *,
    mime_type: str | None = None,
    filename: str | None = None,
    url: str | None = None,
) -> Extracted:
    """The text of a document of any kind we read.

    Raises:
        UnsupportedContent: a kind we do not read, or a damaged PDF.
    """
    kind = kind_of(mime_type, filename, data)
    if kind == "pdf":
        texts = pdf_pages(data)
        pages: list[tuple[int, int]] = []
        parts: list[str] = []
        offset = 0
        for number, page_text in enumerate(texts, start=1):
            pages.append((offset, number))
            parts.append(page_text)
            offset += len(page_text) + 2
        return Extracted("\n\n".join(parts), "pdf", None, pages)
    text = decode_text(data, _charset_of(mime_type))
    if kind == "html":
        title, markdown = html_to_markdown(text, url)
        return Extracted(markdown, "html", title)
    title = None
    if kind == "markdown":
        heading = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
        title = heading.group(1).strip() if heading else None
    return Extracted(text, kind, title)
