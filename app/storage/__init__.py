"""Object storage behind one interface. Keys are id-based, never user file names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.storage.base import Storage, StoredObject, StreamWriter
from app.storage.local import LocalStorage

if TYPE_CHECKING:
    from app.storage.s3 import S3Settings

__all__ = ["LocalStorage", "Storage", "StoredObject", "StreamWriter", "get_storage", "reset_storage"]

_storage: Storage | None = None


def s3_settings() -> S3Settings:
    """The S3 backend's settings from ``CLIPSHOP_S3_*`` (and the API's media route)."""
    from app.config import get_settings
    from app.storage.s3 import S3Settings

    settings = get_settings()
    return S3Settings(
        bucket=settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        public_endpoint_url=settings.s3_public_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
        addressing_style=settings.s3_addressing_style,
        connect_timeout=settings.s3_connect_timeout_seconds,
        read_timeout=settings.s3_read_timeout_seconds,
        max_attempts=settings.s3_max_attempts,
        media_base_url=settings.media_base_url,
        presign_expiry=settings.presign_expiry_seconds,
        api_media_url=f"{settings.public_base_url.rstrip('/')}/v1/media",
    )


def build_storage() -> Storage:
    """The backend chosen by ``CLIPSHOP_STORAGE_BACKEND`` (``local`` or ``s3``)."""
    from app.config import get_settings

    settings = get_settings()
    if settings.storage_backend == "s3":
        from app.storage.s3 import S3Storage

        storage = S3Storage(s3_settings())
        if settings.s3_create_bucket:
            storage.ensure_bucket()
        return storage
    if settings.storage_backend != "local":
        raise ValueError(f"unknown CLIPSHOP_STORAGE_BACKEND {settings.storage_backend!r}")
    base_url = settings.media_base_url or f"{settings.public_base_url}/v1/media"
    return LocalStorage(settings.media_root, base_url=base_url)


def get_storage() -> Storage:
    global _storage
    if _storage is None:
        _storage = build_storage()
    return _storage


def set_storage(storage: Storage | None) -> None:
    """Swap the backend (tests run the same flows against local and S3)."""
    global _storage
    _storage = storage


def reset_storage() -> None:
    global _storage
    _storage = None
