"""Splitting a document into overlapping chunks that remember where they came from.

Chunks follow the text's own boundaries: paragraphs first, then sentences, and only a
sentence longer than a chunk is cut at a word. Consecutive chunks share about `overlap`
characters so that a passage cut in two is still found whole in one of them. Each chunk
keeps its character range in the document and, for Markdown, the heading path above it,
which is what a citation shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Chunk", "chunk_text"]

_PARAGRAPH = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Chunk:
    position: int
    start: int
    end: int
    text: str
    section: str | None = None


def _spans(text: str, pattern: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in pattern.finditer(text, start, end):
        if match.start() > cursor:
            spans.append((cursor, match.start()))
        cursor = match.end()
    if cursor < end:
        spans.append((cursor, end))
    return spans


def _units(text: str, size: int) -> list[tuple[int, int]]:
    """Pieces no longer than `size`: paragraphs, else sentences, else word-cut slices."""
    units: list[tuple[int, int]] = []
    for p_start, p_end in _spans(text, _PARAGRAPH, 0, len(text)):
        if p_end - p_start <= size:
            units.append((p_start, p_end))
            continue
        for s_start, s_end in _spans(text, _SENTENCE_END, p_start, p_end):
            while s_end - s_start > size:
                cut = text.rfind(" ", s_start + size // 2, s_start + size)
                cut = cut if cut > s_start else s_start + size
                units.append((s_start, cut))
                s_start = cut
                while s_start < s_end and text[s_start].isspace():
                    s_start += 1
            if s_end > s_start:
                units.append((s_start, s_end))
    return [(a, b) for a, b in units if text[a:b].strip()]


def _sections(text: str) -> list[tuple[int, str]]:
    """(offset, "Title > Sub") for every Markdown heading."""
    path: list[tuple[int, str]] = []
    found: list[tuple[int, str]] = []
    for match in _HEADING.finditer(text):
        level = len(match.group(1))
        path = [(lvl, title) for lvl, title in path if lvl < level]
        path.append((level, match.group(2).strip()))
        found.append((match.start(), " > ".join(title for _, title in path)))
    return found


def chunk_text(
    text: str, *, size: int = 1200, overlap: int = 200, markdown: bool = False
) -> list[Chunk]:
    """The chunks of `text`, each at most `size` characters, overlapping by ~`overlap`."""
    overlap = max(0, min(overlap, size // 2))
    units = _units(text, size)
    sections = _sections(text) if markdown else []
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j = i + 1
        while j < len(units) and units[j][1] - units[i][0] <= size:
            j += 1
        start, end = units[i][0], units[j - 1][1]
        section = None
        for offset, name in sections:
            if offset > start:
                break
            section = name
        chunks.append(Chunk(len(chunks), start, end, text[start:end].strip(), section))
        if j >= len(units):
            break
        k = j
        while k - 1 > i and end - units[k - 1][0] <= overlap:
            k -= 1
        i = k
    return chunks
