"""Attached files: upload, read, delete; attaching them to a message; showing them to the model.

An upload streams into storage as it arrives (never whole in memory), is checked on the
way (its type against its first bytes, its size against the limit) and becomes visible only
once whole: the bytes are committed, then the record is written; a failure or a dropped
connection at any point removes what was written.

A message names files by id. Text-like files (text, Markdown, CSV, JSON, code, PDF) are
indexed into the owner's knowledge, so the model can search them, and their text (bounded)
is kept in the message. When the message goes to a model, `AttachmentModel` turns each
file into what the model reads: a note naming the file and its text, and for an image the
image itself, fetched from storage.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from orchestrator.domain import (
    BlobStorage,
    ChatModel,
    ContentPart,
    FilePart,
    FilePolicy,
    ImagePart,
    Message,
    ModelError,
    ModelEvent,
    ModelLimits,
    ModelRequest,
    NotFound,
    PayloadTooLarge,
    StoredFile,
    TextPart,
    Tokenizer,
    is_image,
    is_text_like,
    safe_filename,
)
from orchestrator.store import SqlFileStore

__all__ = ["AttachmentModel", "FileService", "Indexer"]

logger = logging.getLogger(__name__)

_HEAD_BYTES = 8192
_MAX_IMAGE_BYTES = 20 * 1024 * 1024  # OpenAI's limit for one image
_IMAGE_CACHE_BYTES = 64 * 1024 * 1024
_MAX_INDEX_BYTES = 25 * 1024 * 1024  # the knowledge server's own limit
_EXCERPT_CHARS = 4_000

Indexer = Callable[[StoredFile, bytes], Awaitable[str | None]]
"""Adds a file's bytes to its owner's knowledge; returns the document's id (None: not indexed)."""


class FileService:
    """The files of every user, each seen by its owner alone."""

    def __init__(
        self,
        store: SqlFileStore,
        storage: BlobStorage,
        policy: FilePolicy,
        *,
        inline_chars: int = 20_000,
    ) -> None:
        self.store = store
        self.storage = storage
        self.policy = policy
        self._inline_chars = inline_chars

    async def upload(
        self,
        user_id: str,
        name: str | None,
        declared_type: str | None,
        chunks: AsyncIterator[bytes],
    ) -> StoredFile:
        """Store a file from its chunks as they arrive.

        Raises:
            InvalidInput: no usable name, or an empty file.
            UnsupportedType: a type that is not allowed, or content unlike its type.
            PayloadTooLarge: over the size limit (found while reading).
        """
        name = safe_filename(name)
        content_type = self.policy.content_type(declared_type, name)
        file_id = str(uuid.uuid4())
        key = f"files/{file_id}"
        upload = await self.storage.begin(key, content_type)
        committed = False
        try:
            digest = hashlib.sha256()
            size = 0
            head = b""
            checked = False
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > self.policy.max_bytes:
                    self.policy.check_size(name, size)
                if not checked:
                    head += chunk[: _HEAD_BYTES - len(head)]
                    if len(head) >= _HEAD_BYTES:
                        self.policy.check_start(name, content_type, head)
                        checked = True
                digest.update(chunk)
                await upload.write(chunk)
            self.policy.check_size(name, size)
            if not checked:
                self.policy.check_start(name, content_type, head)
            await upload.commit()
            committed = True
            return await self.store.add(
                file_id,
                user_id,
                name=name,
                content_type=content_type,
                size=size,
                sha256=digest.hexdigest(),
            )
        except BaseException:
            # Shielded: a dropped connection cancels this task, and the cleanup must finish.
            if committed:
                await asyncio.shield(self.storage.delete(key))
            else:
                await asyncio.shield(upload.abort())
            raise

    async def content(self, user_id: str, file_id: str) -> tuple[StoredFile, AsyncIterator[bytes]]:
        """The file and its bytes, as a stream. Raises: NotFound."""
        found = await self.store.get(user_id, file_id)
        stream = self.storage.read(found.key)
        first = await anext(aiter(stream), b"")  # a missing object fails here, before any header

        async def chunks() -> AsyncIterator[bytes]:
            if first:
                yield first
            async for chunk in stream:
                yield chunk

        return found, chunks()

    async def delete(self, user_id: str, file_id: str) -> StoredFile:
        """Raises: NotFound."""
        removed = await self.store.remove(user_id, file_id)
        await self.storage.delete(removed.key)
        return removed

    async def _read(self, found: StoredFile, limit: int) -> bytes:
        data = bytearray()
        async for chunk in self.storage.read(found.key):
            data += chunk
            if len(data) >= limit:
                break
        return bytes(data[:limit])

    async def attach(
        self, user_id: str, file_ids: Sequence[str], *, index: Indexer | None = None
    ) -> list[ContentPart]:
        """The parts that record the files in a message; text-like ones are indexed first.

        Raises:
            NotFound: a file is not the user's.
        """
        found = await self.store.get_many(user_id, list(file_ids))
        parts: list[ContentPart] = []
        for file in found:
            if not is_text_like(file.content_type):
                parts.append(_part(file))
                continue
            data = await self._read(file, _MAX_INDEX_BYTES)
            document_id = file.document_id
            if index is not None and document_id is None and file.size <= _MAX_INDEX_BYTES:
                document_id = await index(file, data)
                if document_id is not None:
                    await self.store.set_document(file.id, document_id)
            text = await asyncio.to_thread(_text_of, file, data)
            if text is None:
                parts.append(_part(file, document_id=document_id))
                continue
            truncated = len(text) > self._inline_chars or file.size > len(data)
            if truncated:
                text = text[:_EXCERPT_CHARS]
            parts.append(_part(file, text=text, truncated=truncated, document_id=document_id))
        return parts

    async def image_data(self, file_id: str) -> tuple[StoredFile, bytes] | None:
        """An attached image's bytes, or None when it is gone or too large for a model."""
        found = await self.store.by_id(file_id)
        if found is None or found.size > _MAX_IMAGE_BYTES:
            return None
        try:
            return found, await self._read(found, _MAX_IMAGE_BYTES)
        except NotFound:
            return None


def _part(
    file: StoredFile,
    *,
    text: str | None = None,
    truncated: bool = False,
    document_id: str | None = None,
) -> FilePart:
    return FilePart(
        file_id=file.id,
        name=file.name,
        mime_type=file.content_type,
        size=file.size,
        text=text,
        truncated=truncated,
        document_id=document_id,
    )


def _text_of(file: StoredFile, data: bytes) -> str | None:
    from common.extraction import UnsupportedContent, extract

    try:
        return extract(data, mime_type=file.content_type, filename=file.name).text
    except UnsupportedContent:
        return None
    except Exception:  # a damaged document: the file is still attached, without its text
        logger.warning("Could not read the text of file %s", file.id, exc_info=True)
        return None


def describe(part: FilePart) -> str:
    """The note the model reads about an attached file (and its text, when there is some)."""
    size = f"{part.size} bytes" if part.size < 1024 else f"{part.size / 1024:.1f} KB"
    header = (
        f'[Attached file "{part.name}" (id {part.file_id}, {part.mime_type}, {size}). '
        "When you use it, cite it by its name."
    )
    if part.document_id:
        header += (
            f" It is in the user's knowledge base as document {part.document_id}: "
            "search the knowledge base for its details."
        )
    if part.text is None:
        return header + "]"
    if part.truncated:
        header += " Only its beginning is shown here."
    return f'{header}]\n<file name="{part.name}">\n{part.text}\n</file>'


class AttachmentModel:
    """A `ChatModel` that shows attached files to the model it wraps.

    Images go as image parts when the model sees images (`vision`); a model that refuses
    them gets a message saying so instead of the provider's bare error.
    """

    def __init__(self, model: ChatModel, files: FileService, *, vision: bool) -> None:
        self._model = model
        self._files = files
        self._vision = vision
        self._images: OrderedDict[str, ImagePart] = OrderedDict()
        self._image_bytes = 0

    def limits(self, model: str) -> ModelLimits:
        """The wrapped model's limits."""
        return self._model.limits(model)

    def tokenizer(self, model: str) -> Tokenizer:
        """The wrapped model's tokenizer."""
        return self._model.tokenizer(model)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        """The wrapped model's answer to `request`, its files shown as the model reads them."""
        messages, images = await self._expand(request.messages)
        if messages is request.messages:
            async for event in self._model.stream(request):
                yield event
            return
        expanded = ModelRequest(
            model=request.model,
            messages=messages,
            tools=request.tools,
            max_output_tokens=request.max_output_tokens,
            tool_choice=request.tool_choice,
        )
        started = False
        try:
            async for event in self._model.stream(expanded):
                started = True
                yield event
        except ModelError as error:
            if not images or started:
                raise
            raise ModelError(
                f"The model {request.model} did not accept the attached image"
                f"{'s' if images > 1 else ''}; it may not see images (set MODEL_VISION=false "
                f"to send them as a note instead). The provider said: {error.message}",
                detail=error.detail,
            ) from error

    async def _expand(self, messages: Sequence[Message]) -> tuple[Sequence[Message], int]:
        if not any(isinstance(p, FilePart) for m in messages for p in m.content):
            return messages, 0
        expanded: list[Message] = []
        images = 0
        for message in messages:
            if not any(isinstance(p, FilePart) for p in message.content):
                expanded.append(message)
                continue
            parts: list[ContentPart] = []
            for part in message.content:
                if not isinstance(part, FilePart):
                    parts.append(part)
                    continue
                parts.append(TextPart(text="\n\n" + describe(part) + "\n"))
                if is_image(part.mime_type):
                    image = await self._image(part)
                    if image is None:
                        parts.append(TextPart(text=_no_image(part, self._vision)))
                    else:
                        parts.append(image)
                        images += 1
            expanded.append(message.model_copy(update={"content": parts}))
        return expanded, images

    async def _image(self, part: FilePart) -> ImagePart | None:
        if not self._vision or part.mime_type == "image/svg+xml":
            return None
        cached = self._images.get(part.file_id)
        if cached is not None:
            self._images.move_to_end(part.file_id)
            return cached
        found = await self._files.image_data(part.file_id)
        if found is None:
            return None
        stored, data = found
        image = ImagePart(mime_type=stored.content_type, data=base64.b64encode(data).decode())
        self._images[part.file_id] = image
        self._image_bytes += len(image.data or "")
        while self._image_bytes > _IMAGE_CACHE_BYTES and len(self._images) > 1:
            _, old = self._images.popitem(last=False)
            self._image_bytes -= len(old.data or "")
        return image


def _no_image(part: FilePart, vision: bool) -> str:
    if not vision:
        return f"[The image {part.name} is not shown: this model cannot see images.]"
    return f"[The image {part.name} cannot be shown: it was deleted or is too large.]"


def check_declared_size(policy: FilePolicy, declared: int | None) -> None:
    """Refuse at once a request whose declared length is far over the limit.

    Raises:
        PayloadTooLarge: with the file limit in the message.
    """
    if declared is not None and declared > policy.max_bytes + 64 * 1024:
        raise PayloadTooLarge(
            f"The file is larger than the {policy.describe_limit()} limit for a file.",
            detail={"limit": policy.max_bytes},
        )
