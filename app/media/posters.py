"""Poster and thumbnails: pick a representative (non-black, non-blank) still, write JPEG + WebP."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from app.media.exceptions import MediaRejected, RejectCode

THUMBNAIL_WIDTHS = (180, 360, 720)
POSTER_MAX_WIDTH = 1080


@dataclass
class ImageOutput:
    kind: str  # "poster" or "thumbnail"
    width: int
    height: int
    format: str  # "jpeg" | "webp"
    path: Path


def frame_score(image: Image.Image) -> float:
    """Luminance variance, with very dark or very bright frames pushed down."""
    luma = np.asarray(image.convert("L").resize((64, 64)), dtype=np.float32)
    mean = float(luma.mean())
    score = float(luma.var())
    if mean < 16 or mean > 240:
        score *= 0.01
    return score


def choose_frame(candidates: list[Path]) -> Image.Image:
    """The most representative of the candidate stills (the first pass writes them)."""
    frames = []
    for path in candidates:
        try:
            with Image.open(path) as image:
                frames.append(image.convert("RGB"))
        except OSError:
            continue
    if not frames:
        raise MediaRejected(RejectCode.CORRUPT, detail="no poster candidate frame decoded")
    return max(frames, key=frame_score)


def write_images(candidates: list[Path], out_dir: Path) -> list[ImageOutput]:
    """Poster (full width up to 1080) and thumbnails at THUMBNAIL_WIDTHS, each in JPEG and WebP,
    from the best of the candidate stills."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = choose_frame(candidates)
    outputs: list[ImageOutput] = []
    targets = [("poster", min(frame.width, POSTER_MAX_WIDTH))]
    targets += [("thumbnail", w) for w in THUMBNAIL_WIDTHS if w < frame.width] or [("thumbnail", frame.width)]
    for kind, width in targets:
        height = max(2, round(frame.height * width / frame.width))
        resized = frame if width == frame.width else frame.resize((width, height), Image.Resampling.LANCZOS)
        for fmt, ext, options in (
            ("jpeg", "jpg", {"quality": 82, "optimize": True, "progressive": True}),
            ("webp", "webp", {"quality": 78, "method": 4}),
        ):
            name = f"poster.{ext}" if kind == "poster" else f"thumb_{width}.{ext}"
            path = out_dir / name
            resized.save(path, format=fmt.upper(), **options)
            outputs.append(ImageOutput(kind, width, height, fmt, path))
    return outputs
