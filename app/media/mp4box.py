"""Minimal ISO-BMFF editing: reset track display matrices to identity.

Some ffmpeg versions copy the source's display matrix into the output even when the rotation has
already been applied to the pixels (notably 180 degrees with -noautorotate), which would make players
rotate the picture a second time. The frames we write are upright, so every track matrix is reset.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

IDENTITY_MATRIX = struct.pack(">9i", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
_CONTAINERS = {b"moov", b"trak"}


def _iter_boxes(data: bytes | memoryview, start: int, end: int):  # type: ignore[no-untyped-def]
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind, pos, header, size
        pos += size


def _read_moov(fh: BinaryIO) -> tuple[int, bytes | None]:
    """Only the `moov` box is read (it is small even when the media data is large)."""
    pos = 0
    while True:
        fh.seek(pos)
        head = fh.read(16)
        if len(head) < 8:
            return 0, None
        size, kind = struct.unpack(">I4s", head[:8])
        if size == 1:
            size = struct.unpack(">Q", head[8:16])[0]
        elif size == 0:
            size = fh.seek(0, 2) - pos
        if size < 8:
            return 0, None
        if kind == b"moov":
            fh.seek(pos)
            return pos, fh.read(size)
        pos += size


def reset_display_matrices(path: Path) -> int:
    """Rewrite every `tkhd` matrix in `path` to identity; returns how many were changed."""
    changed = 0
    with path.open("r+b") as fh:
        moov_at, data = _read_moov(fh)
        if data is None:
            return 0
        patches: list[int] = []

        def walk(start: int, end: int) -> None:
            for kind, pos, header, size in _iter_boxes(data, start, end):
                if kind in _CONTAINERS:
                    walk(pos + header, pos + size)
                elif kind == b"tkhd":
                    version = data[pos + header]
                    # version/flags(4) + times/ids: v0 20 bytes, v1 32 bytes; then 8 reserved,
                    # layer, alternate group, volume, reserved (2 each) -> matrix.
                    offset = pos + header + 4 + (32 if version == 1 else 20) + 8 + 8
                    if data[offset : offset + 36] != IDENTITY_MATRIX:
                        patches.append(offset)

        # `data` is the moov box itself: walk its children.
        walk(8 if struct.unpack(">I", data[:4])[0] != 1 else 16, len(data))
        for offset in patches:
            fh.seek(moov_at + offset)
            fh.write(IDENTITY_MATRIX)
            changed += 1
    return changed
