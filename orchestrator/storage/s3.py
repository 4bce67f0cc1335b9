"""Files' bytes in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...), `S3_ENDPOINT_URL`.

boto3, AWS's own SDK, kept in step with S3 by AWS and used by every S3-compatible service's
documentation; its calls are blocking, so each runs in a worker thread (one per 8 MiB part,
so the threads are few). An upload buffers at most one part: a small file is one
`PutObject`, a larger one a multipart upload, and in both cases nothing is visible under the
key until the last call succeeds. `abort` cancels a multipart upload, so no parts are left
behind (a bucket lifecycle rule for incomplete uploads covers a crash).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from orchestrator.domain import NotFound

__all__ = ["S3Storage"]

logger = logging.getLogger(__name__)

PART_BYTES = 8 * 1024 * 1024
_CHUNK = 256 * 1024


class _S3Upload:
    def __init__(self, client: Any, bucket: str, key: str, content_type: str) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._content_type = content_type
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._done = False

    async def write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= PART_BYTES:
            await self._send_part()

    async def _send_part(self) -> None:
        if self._upload_id is None:
            created = await asyncio.to_thread(
                self._client.create_multipart_upload,
                Bucket=self._bucket,
                Key=self._key,
                ContentType=self._content_type,
            )
            self._upload_id = created["UploadId"]
        body = bytes(self._buffer)
        self._buffer.clear()
        number = len(self._parts) + 1
        sent = await asyncio.to_thread(
            self._client.upload_part,
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=body,
        )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    async def commit(self) -> None:
        if self._upload_id is None:
            await asyncio.to_thread(
                self._client.put_object,
                Bucket=self._bucket,
                Key=self._key,
                Body=bytes(self._buffer),
                ContentType=self._content_type,
            )
        else:
            if self._buffer:
                await self._send_part()
            await asyncio.to_thread(
                self._client.complete_multipart_upload,
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._buffer = bytearray()
        self._done = True

    async def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._buffer = bytearray()
        if self._upload_id is not None:
            # Shielded: an abort runs while a cancelled request unwinds, and must finish.
            await asyncio.shield(
                asyncio.to_thread(
                    self._client.abort_multipart_upload,
                    Bucket=self._bucket,
                    Key=self._key,
                    UploadId=self._upload_id,
                )
            )


class S3Storage:
    """`BlobStorage` in a bucket."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    @classmethod
    def connect(
        cls,
        *,
        endpoint_url: str,
        bucket: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        region: str,
    ) -> S3Storage:
        """A storage on a boto3 client for `endpoint_url`, with short timeouts and 3 tries.

        Path-style addressing, so MinIO and other servers without per-bucket host names
        work.
        """
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
            ),
        )
        return cls(client, bucket)

    async def open(self) -> None:
        """Create the bucket when it is missing (a fresh MinIO, a test server)."""
        from botocore.exceptions import ClientError

        try:
            await asyncio.to_thread(self.client.head_bucket, Bucket=self.bucket)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise
            await asyncio.to_thread(self.client.create_bucket, Bucket=self.bucket)
            logger.info("Created the bucket %s", self.bucket)

    async def begin(self, key: str, content_type: str = "application/octet-stream") -> _S3Upload:
        """Start an upload; nothing is sent until the first 8 MiB part fills, or commit."""
        return _S3Upload(self.client, self.bucket, key, content_type)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in 256 KiB chunks.

        Raises:
            NotFound: there is no object under `key`.
        """
        from botocore.exceptions import ClientError

        try:
            found = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFound("The file's content is gone from storage.") from None
            raise
        body = found["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, _CHUNK):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        """Remove the object; S3 answers the same whether or not it was there."""
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=key)
