"""Storyboard: one sprite sheet of small frames taken every N seconds, indexed by a WebVTT file.

Players (hls.js/Video.js thumbnails, Mux's storyboard convention) and the tagging editor use it to
show a frame while scrubbing: each cue covers N seconds and points at its tile in the sprite with a
media fragment (`storyboard.jpg#xywh=x,y,w,h`), relative to the VTT's own URL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from app.media.exceptions import MediaRejected, RejectCode

COLUMNS = 10
SPRITE_NAME = "storyboard.jpg"
VTT_NAME = "storyboard.vtt"


@dataclass
class Storyboard:
    sprite: Path
    vtt: Path
    interval_s: int
    tile_width: int
    tile_height: int
    columns: int
    rows: int
    count: int


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def build_storyboard(frames: list[Path], interval_s: int, duration: float, out_dir: Path) -> Storyboard:
    """Tile `frames` (in time order, one every `interval_s` seconds) into a sprite + WebVTT index."""
    if not frames:
        raise MediaRejected(RejectCode.CORRUPT, detail="no storyboard frame decoded")
    # A frame past the end (rounding of the last interval) is dropped.
    frames = frames[: max(1, math.ceil(duration / interval_s))]
    with Image.open(frames[0]) as first:
        tile_w, tile_h = first.size
    columns = min(COLUMNS, len(frames))
    rows = math.ceil(len(frames) / columns)
    sheet = Image.new("RGB", (columns * tile_w, rows * tile_h))
    cues = ["WEBVTT", ""]
    for i, path in enumerate(frames):
        x, y = (i % columns) * tile_w, (i // columns) * tile_h
        with Image.open(path) as frame:
            tile = frame.convert("RGB")
            if tile.size != (tile_w, tile_h):
                tile = tile.resize((tile_w, tile_h))
            sheet.paste(tile, (x, y))
        start, end = i * interval_s, min(duration, (i + 1) * interval_s)
        cues += [f"{_timestamp(start)} --> {_timestamp(max(end, start + 0.001))}", f"{SPRITE_NAME}#xywh={x},{y},{tile_w},{tile_h}", ""]
    out_dir.mkdir(parents=True, exist_ok=True)
    sprite, vtt = out_dir / SPRITE_NAME, out_dir / VTT_NAME
    sheet.save(sprite, format="JPEG", quality=70, optimize=True, progressive=True)
    vtt.write_text("\n".join(cues), encoding="utf-8")
    return Storyboard(sprite, vtt, interval_s, tile_w, tile_h, columns, rows, len(frames))
