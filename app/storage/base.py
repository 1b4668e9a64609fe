from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str | None = None
    checksum_sha256: str | None = None  # base64, when the backend recorded one
    content_type: str | None = None
    modified_at: datetime | None = None  # UTC, when the backend reports it


class StreamWriter(ABC):
    """An object being written in pieces (a multipart upload on S3, a temp file locally).

    Memory stays bounded by one part: callers hand over parts and never the whole object.
    Nothing is visible under the key until :meth:`complete`.
    """

    @abstractmethod
    def write_part(self, data: bytes) -> None: ...

    @abstractmethod
    def complete(self) -> StoredObject: ...

    @abstractmethod
    def abort(self) -> None: ...


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

    @abstractmethod
    def open_writer(self, key: str, content_type: str) -> StreamWriter: ...

    def copy(self, src_key: str, dst_key: str) -> StoredObject:
        """Copy an object (server-side where the backend can)."""
        with self.open(src_key) as source:
            writer = self.open_writer(dst_key, "application/octet-stream")
            try:
                while chunk := source.read(8 * 1024 * 1024):
                    writer.write_part(chunk)
                return writer.complete()
            except BaseException:
                writer.abort()
                raise

    def check(self) -> None:
        """Raise if the backend is not reachable (readiness probe)."""
