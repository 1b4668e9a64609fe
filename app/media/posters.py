"""Poster and thumbnails: pick a representative (non-black, non-blank) frame, write JPEG + WebP."""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from app.media.exceptions import MediaRejected, RejectCode

THUMBNAIL_WIDTHS = (180, 360, 720)
POSTER_MAX_WIDTH = 1080
SAMPLE_POINTS = (0.1, 0.3, 0.5, 0.7, 0.9)


@dataclass
class ImageOutput:
    kind: str  # "poster" or "thumbnail"
    width: int
    height: int
    format: str  # "jpeg" | "webp"
    path: Path


def grab_frame(video: Path, at_seconds: float) -> Image.Image | None:
    cmd = [
        "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-ss", f"{max(0.0, at_seconds):.3f}",
        "-i", str(video), "-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    if proc.returncode != 0 or not proc.stdout:
        return None
    image = Image.open(io.BytesIO(proc.stdout))
    image.load()
    return image.convert("RGB")


def frame_score(image: Image.Image) -> float:
    """Luminance variance, with very dark or very bright frames pushed down."""
    luma = np.asarray(image.convert("L").resize((64, 64)), dtype=np.float32)
    mean = float(luma.mean())
    score = float(luma.var())
    if mean < 16 or mean > 240:
        score *= 0.01
    return score


def choose_frame(video: Path, duration: float) -> Image.Image:
    candidates = [img for t in SAMPLE_POINTS if (img := grab_frame(video, duration * t)) is not None]
    if not candidates:
        first = grab_frame(video, 0)
        if first is None:
            raise MediaRejected(RejectCode.CORRUPT, "No frame of the video could be decoded.")
        candidates = [first]
    return max(candidates, key=frame_score)


def write_images(video: Path, duration: float, out_dir: Path) -> list[ImageOutput]:
    """Poster (full width up to 1080) and thumbnails at THUMBNAIL_WIDTHS, each in JPEG and WebP."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = choose_frame(video, duration)
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
