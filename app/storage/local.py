from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from app.storage.base import Storage, StoredObject, StreamWriter


class LocalStreamWriter(StreamWriter):
    """Appends parts to a hidden temp file beside the target; renamed into place on complete."""

    def __init__(self, target: Path, key: str) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.target = target
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        self.tmp = Path(tmp)
        self.handle = os.fdopen(fd, "wb")
        self.size = 0

    def write_part(self, data: bytes) -> None:
        self.handle.write(data)
        self.size += len(data)

    def complete(self) -> StoredObject:
        self.handle.close()
        os.replace(self.tmp, self.target)
        return StoredObject(key=self.key, size=self.size)

    def abort(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        self.tmp.unlink(missing_ok=True)


class LocalStorage(Storage):
    """Files under a root folder; served by the API's media route."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")

    def path_for(self, key: str) -> Path:
        path = (self.root / key).resolve()
        root = self.root.resolve()
        if root != path and root not in path.parents:
            raise ValueError(f"key escapes the media root: {key!r}")
        return path

    def _atomic_write(self, key: str, write: object) -> Path:
        target = self.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)  # type: ignore[operator]
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def put_bytes(self, key: str, data: bytes, content_type: str) -> StoredObject:
        self._atomic_write(key, lambda handle: handle.write(data))
        return StoredObject(key=key, size=len(data), etag=hashlib.md5(data).hexdigest())

    def put_file(self, key: str, path: Path, content_type: str) -> StoredObject:
        def copy(handle: BinaryIO) -> None:
            with open(path, "rb") as source:
                shutil.copyfileobj(source, handle, 1024 * 1024)

        target = self._atomic_write(key, copy)
        return StoredObject(key=key, size=target.stat().st_size)

    def open(self, key: str) -> BinaryIO:
        return open(self.path_for(key), "rb")

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def head(self, key: str) -> StoredObject | None:
        path = self.path_for(key)
        if not path.is_file():
            return None
        stat = path.stat()
        return StoredObject(
            key=key, size=stat.st_size, modified_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC)
        )

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        keys = list(self.list_keys(prefix))
        for key in keys:
            self.delete(key)
        base = self.path_for(prefix.rstrip("/")) if prefix.strip("/") else None
        if base is not None and base.is_dir():
            shutil.rmtree(base, ignore_errors=True)
        return len(keys)

    def list_keys(self, prefix: str) -> Iterator[str]:
        root = self.root.resolve()
        if not root.exists():
            return
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(root).as_posix()
                if key.startswith(prefix):
                    yield key

    def open_writer(self, key: str, content_type: str) -> StreamWriter:
        return LocalStreamWriter(self.path_for(key), key)

    def copy(self, src_key: str, dst_key: str) -> StoredObject:
        target = self._atomic_write(dst_key, lambda handle: shutil.copyfileobj(self.open(src_key), handle))
        return StoredObject(key=dst_key, size=target.stat().st_size)

    def url_for(self, key: str) -> str:
        return f"{self.base_url}/{key}"

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise OSError(f"media root is not writable: {self.root}")
