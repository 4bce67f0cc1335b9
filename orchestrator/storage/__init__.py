"""Object storage for attached files: a local folder by default, S3 when configured."""

from __future__ import annotations

from orchestrator.domain import BlobStorage
from orchestrator.settings import FilesSettings
from orchestrator.storage.local import LocalStorage
from orchestrator.storage.s3 import S3Storage

__all__ = ["LocalStorage", "S3Storage", "open_storage"]


async def open_storage(files: FilesSettings, default_dir: str) -> BlobStorage:
    """The configured storage, ready: `S3_ENDPOINT_URL` means S3, else `STORAGE_DIR`."""
    if files.s3_endpoint_url:
        storage = S3Storage.connect(
            endpoint_url=files.s3_endpoint_url,
            bucket=files.s3_bucket,
            access_key_id=files.s3_access_key_id,
            secret_access_key=(
                files.s3_secret_access_key.get_secret_value()
                if files.s3_secret_access_key
                else None
            ),
            region=files.s3_region,
        )
        await storage.open()
        return storage
    from pathlib import Path

    local = LocalStorage(Path(files.storage_dir or default_dir))
    local.open()
    return local
