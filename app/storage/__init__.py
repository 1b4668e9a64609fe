"""Object storage behind one interface. Keys are id-based, never user file names."""

from __future__ import annotations

from app.storage.base import Storage, StoredObject
from app.storage.local import LocalStorage

__all__ = ["LocalStorage", "Storage", "StoredObject", "get_storage", "reset_storage"]

_storage: Storage | None = None


def get_storage() -> Storage:
    global _storage
    if _storage is None:
        from app.config import get_settings

        settings = get_settings()
        _storage = LocalStorage(settings.media_root, base_url=f"{settings.public_base_url}/v1/media")
    return _storage


def reset_storage() -> None:
    global _storage
    _storage = None
