from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str | None = None


class Storage(ABC):
    @abstractmethod
    def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject: ...

    @abstractmethod
    def put_file(self, key: str, path: Path, content_type: str) -> StoredObject: ...

    @abstractmethod
    def open(self, key: str) -> BinaryIO: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def head(self, key: str) -> StoredObject | None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int: ...

    @abstractmethod
    def list_keys(self, prefix: str) -> Iterator[str]: ...

    @abstractmethod
    def url_for(self, key: str) -> str: ...

    def check(self) -> None:
        """Raise if the backend is not reachable (readiness probe)."""
