"""What the media route may serve: one canonical form of a requested path, then one decision.

Every spelling of a path (``//``, ``/./``, a trailing slash, ``%2f`` or ``%252f``, backslashes,
``..``, upper case) is reduced to one key before anything is decided, so no spelling reaches a
file another spelling is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote

MEDIA_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".vtt": "text/vtt",
}
PLAYLIST_SUFFIXES = (".m3u8", ".vtt")  # answered rewritten: they reference other objects

# Top-level folders whose objects are public by design (unguessable keys, shown on public pages).
PUBLIC_FOLDERS = frozenset({"avatars", "products"})


class MediaKind(StrEnum):
    clip = "clip"  # a clip's published output: access depends on the clip
    public = "public"  # avatars, product images


@dataclass(frozen=True)
class MediaKey:
    key: str
    kind: MediaKind
    clip_id: uuid.UUID | None = None

    @property
    def suffix(self) -> str:
        name = self.key.rsplit("/", 1)[-1]
        return name[name.rfind(".") :].lower() if "." in name else ""

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self.suffix, "application/octet-stream")

    @property
    def is_playlist(self) -> bool:
        return self.suffix in PLAYLIST_SUFFIXES


def canonical_segments(raw: str) -> list[str] | None:
    """The path's segments after decoding (repeatedly) and normalising; None when it climbs
    above the root or holds characters no key has."""
    path = raw
    for _ in range(4):  # %252f -> %2f -> /
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    else:
        return None
    if "\x00" in path or any(ord(ch) < 32 for ch in path):
        return None
    segments: list[str] = []
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not segments:
                return None
            segments.pop()
            continue
        segments.append(part)
    return segments


def classify(raw: str) -> MediaKey | None:
    """The object a media request may read, or None when it must be refused (404).

    Refused whatever the spelling: a clip's original upload (``clips/<id>/source`` and anything
    named ``source...`` there), catalog import files (``imports/...``), hidden or temporary files
    (a segment starting with ``.``), folders, and anything outside the published folders."""
    segments = canonical_segments(raw)
    if not segments or any(part.startswith(".") for part in segments):
        return None
    folder = segments[0].lower()
    if folder == "clips":
        if len(segments) < 3:
            return None
        try:
            clip_id = uuid.UUID(segments[1])
        except ValueError:
            return None
        if segments[2].lower().startswith("source"):
            return None
        key = "/".join(["clips", str(clip_id), *segments[2:]])
        return MediaKey(key, MediaKind.clip, clip_id)
    if folder in PUBLIC_FOLDERS and len(segments) >= 2 and segments[0] == folder:
        return MediaKey("/".join(segments), MediaKind.public)
    return None
