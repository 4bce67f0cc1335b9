"""Files users attach: what a stored file is and which files the server takes.

The port to the bytes (a local folder, or an S3-compatible bucket) is here too.

A file's kind is decided here once, from its name and what the browser declared, and then
checked against its first bytes: an image must start like one, a text file must not hold
NUL bytes, a PDF must say `%PDF-`. So a page renamed `cat.png` is refused, and what is
stored is what its type says.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import quote

from orchestrator.domain.errors import InvalidInput, PayloadTooLarge, UnsupportedType

__all__ = [
    "BlobStorage",
    "BlobUpload",
    "FilePolicy",
    "StoredFile",
    "content_disposition",
    "is_image",
    "is_text_like",
    "safe_filename",
]

# What a name's suffix says, trusted over the browser's guess (which calls a .ts file
# video/mp2t and a .py file anything from text/x-python to nothing at all).
_SUFFIX_TYPES = {
    "txt": "text/plain",
    "text": "text/plain",
    "log": "text/plain",
    "md": "text/markdown",
    "markdown": "text/markdown",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "json": "application/json",
    "xml": "application/xml",
    "yaml": "text/yaml",
    "yml": "text/yaml",
    "toml": "text/plain",
    "ini": "text/plain",
    "html": "text/html",
    "htm": "text/html",
    "css": "text/css",
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "svg": "image/svg+xml",
}
_CODE_SUFFIXES = frozenset(
    "py js mjs ts tsx jsx go rs java kt c h cc cpp hpp cs rb php sh bash zsh sql swift scala "
    "lua pl r m dart ex exs erl hs clj vue svelte".split()
)
_IMAGE_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
_TEXT_APPLICATION = frozenset({"application/json", "application/xml"})
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")
_MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file as its owner sees it; the bytes are in blob storage under `key`."""

    id: str
    user_id: str
    name: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    document_id: str | None = None

    @property
    def key(self) -> str:
        """Where the file's bytes are kept in blob storage."""
        return f"files/{self.id}"


def is_image(content_type: str) -> bool:
    """Whether the type is an image, which goes to the model as an image part."""
    return content_type.startswith("image/")


def is_text_like(content_type: str) -> bool:
    """Text the knowledge server can index and the model can read (PDF included)."""
    return (
        content_type.startswith("text/")
        or content_type in _TEXT_APPLICATION
        or content_type == "application/pdf"
    )


def safe_filename(name: str | None) -> str:
    """The file's name without folders, control or reserved characters, at most 200 long.

    Raises:
        InvalidInput: nothing usable is left (no name, or only dots and spaces).
    """
    raw = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    cleaned = _UNSAFE_NAME.sub("_", raw).strip().strip(".").strip()
    if not cleaned:
        raise InvalidInput("The file needs a name (the form field's filename).")
    if len(cleaned) > _MAX_NAME:
        stem, dot, suffix = cleaned.rpartition(".")
        if dot and 0 < len(suffix) <= 16:
            cleaned = stem[: _MAX_NAME - len(suffix) - 1] + "." + suffix
        else:
            cleaned = cleaned[:_MAX_NAME]
    return cleaned


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback name and the exact one in RFC 5987 form."""
    fallback = (
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().replace('"', "_")
    )
    fallback = re.sub(r"[^\x20-\x7e]", "_", fallback).strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _suffix(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


@dataclass(frozen=True, slots=True)
class FilePolicy:
    """How large a file may be and which kinds are taken (`image/*` style patterns)."""

    max_bytes: int
    allowed_types: tuple[str, ...]

    def describe_limit(self) -> str:
        """The size limit for people to read ("10 MB"), as error messages give it."""
        return _human(self.max_bytes)

    def content_type(self, declared: str | None, name: str) -> str:
        """The type the file is stored and served with.

        Raises:
            UnsupportedType: not one of the allowed types.
        """
        suffix = _suffix(name)
        base = (declared or "").split(";", 1)[0].strip().lower()
        if suffix in _SUFFIX_TYPES:
            kind = _SUFFIX_TYPES[suffix]
        elif suffix in _CODE_SUFFIXES:
            kind = "text/plain"
        elif base and base != "application/octet-stream":
            kind = base
        else:
            kind = "application/octet-stream"
        if not self.allows(kind):
            allowed = ", ".join(self.allowed_types)
            raise UnsupportedType(
                f"{name} is {kind}, which cannot be attached. Allowed: {allowed}.",
                detail={"content_type": kind, "allowed": list(self.allowed_types)},
            )
        return kind

    def allows(self, content_type: str) -> bool:
        """Whether `content_type` matches one of the allowed types or `type/*` patterns."""
        for pattern in self.allowed_types:
            if pattern.endswith("/*"):
                if content_type.startswith(pattern[:-1]):
                    return True
            elif content_type == pattern:
                return True
        return False

    def check_start(self, name: str, content_type: str, head: bytes) -> None:
        """The first bytes agree with the type.

        Raises:
            UnsupportedType: they do not.
        """
        if content_type == "image/webp":
            good = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
        elif content_type in _IMAGE_MAGIC:
            good = head.startswith(_IMAGE_MAGIC[content_type])
        elif content_type == "application/pdf":
            good = head.lstrip()[:5] == b"%PDF-"
        elif is_text_like(content_type) or content_type == "image/svg+xml":
            good = b"\x00" not in head and not _looks_binary(head)
        else:
            good = True
        if not good:
            raise UnsupportedType(
                f"{name} does not look like {content_type}: its content is something else.",
                detail={"content_type": content_type},
            )

    def check_size(self, name: str, size: int) -> None:
        """Refuse a file over the size limit, or an empty one.

        Raises:
            PayloadTooLarge: the file is over the limit.
            InvalidInput: the file is empty.
        """
        if size > self.max_bytes:
            raise PayloadTooLarge(
                f"{name} is larger than the {self.describe_limit()} limit for a file.",
                detail={"limit": self.max_bytes},
            )
        if size == 0:
            raise InvalidInput(f"{name} is empty.")


def _looks_binary(head: bytes) -> bool:
    """UTF-16 text has NULs; it is refused with the rest. Other control bytes mean binary."""
    controls = sum(1 for byte in head if byte < 9 or 13 < byte < 32)
    return len(head) > 0 and controls / len(head) > 0.1


def _human(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{size} bytes"


class BlobUpload(Protocol):
    """Bytes being written under a key: invisible until `commit`, gone after `abort`."""

    async def write(self, data: bytes) -> None:
        """Append `data` to the upload."""
        ...

    async def commit(self) -> None:
        """Make the bytes written so far visible under the key, whole."""
        ...

    async def abort(self) -> None:
        """Drop what was written, leaving nothing behind; after `commit`, do nothing.

        Safe to call in a `finally` whether or not the upload committed.
        """
        ...


class BlobStorage(Protocol):
    """Where the files' bytes live (a local folder, an S3-compatible bucket)."""

    async def begin(self, key: str, content_type: str) -> BlobUpload:
        """Start writing an object under `key`; nothing shows there until the upload commits."""
        ...

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in chunks.

        Raises:
            NotFound: there is no object under `key`.
        """
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; nothing happens when there is none."""
        ...
