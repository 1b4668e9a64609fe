"""Rewriting the references inside HLS playlists and WebVTT storyboards.

Players resolve a playlist's relative URIs against the playlist's own URL and drop its query, so
a signed token or a presigned URL does not reach the files it lists. The media route answers
playlists itself and rewrites each reference with ``resolve`` (a function of the reference as
written, returning what the player must fetch): relative references with the token appended, or
presigned URLs for the objects themselves.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def is_relative(uri: str) -> bool:
    """A reference inside the playlist's own folder tree (not absolute, no scheme, no host)."""
    return bool(uri) and not _SCHEME.match(uri) and not uri.startswith(("/", "\\"))


def target_key(playlist_key: str, uri: str) -> str | None:
    """The storage key a relative reference of ``playlist_key`` points at (None: not relative)."""
    if not is_relative(uri):
        return None
    path = uri.split("#", 1)[0].split("?", 1)[0]
    key = posixpath.normpath(posixpath.join(posixpath.dirname(playlist_key), path))
    return None if key.startswith("..") else key


def rewrite_m3u8(text: str, resolve: Callable[[str], str]) -> str:
    """Every URI line and every ``URI="..."`` attribute (EXT-X-MAP, EXT-X-MEDIA, EXT-X-KEY,
    EXT-X-I-FRAME-STREAM-INF...) passed through ``resolve``."""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            out.append(line)
        elif stripped.startswith("#"):
            out.append(_URI_ATTRIBUTE.sub(lambda m: f'URI="{resolve(m.group(1))}"', line))
        else:
            out.append(resolve(stripped))
    return "\n".join(out) + "\n"


def rewrite_vtt(text: str, resolve: Callable[[str], str]) -> str:
    """The image references of a storyboard (cue payloads such as ``sprite.jpg#xywh=0,0,160,90``);
    the media fragment is kept."""
    out = []
    in_cue = False
    for line in text.splitlines():
        stripped = line.strip()
        if "-->" in stripped:
            in_cue = True
            out.append(line)
            continue
        if not stripped:
            in_cue = False
            out.append(line)
            continue
        if in_cue and " " not in stripped:
            ref, hash_, fragment = stripped.partition("#")
            out.append(resolve(ref) + hash_ + fragment)
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def with_query(uri: str, name: str, value: str) -> str:
    """``uri`` with ``name=value`` added to its query (before any fragment)."""
    base, hash_, fragment = uri.partition("#")
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}{name}={value}{hash_}{fragment}"
