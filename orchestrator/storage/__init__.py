"""Object storage for attached files: a local folder by default, S3 when configured."""

from __future__ import annotations

from orchestrator.domain import BlobStorage
from orchestrator.settings import ConfigError, FilesSettings
from orchestrator.storage.local import LocalStorage
from orchestrator.storage.s3 import S3Storage

__all__ = ["LocalStorage", "S3Storage", "open_storage"]


async def open_storage(files: FilesSettings, default_dir: str) -> BlobStorage:
    """The configured storage, ready: `S3_ENDPOINT_URL` means S3, else `STORAGE_DIR`.

    Raises:
        ConfigError: the bucket cannot be reached or used.
    """
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
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            await storage.open()
        except (BotoCoreError, ClientError) as error:
            raise ConfigError(
                f"Cannot use the bucket {files.s3_bucket} at S3_ENDPOINT_URL "
                f"{files.s3_endpoint_url} ({type(error).__name__}): check the address, "
                "S3_BUCKET and the keys S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY."
            ) from error
        return storage
    from pathlib import Path

    local = LocalStorage(Path(files.storage_dir or default_dir))
    local.open()
    return local
