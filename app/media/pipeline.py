"""probe -> validate -> transcode -> images, on local files (storage is the caller's business)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.media.posters import ImageOutput, write_images
from app.media.probe import ProbeResult, probe
from app.media.transcode import ProgressCallback, TranscodeResult, transcode
from app.media.validate import MediaLimits, validate


@dataclass
class MediaOutputs:
    probe: ProbeResult
    video: TranscodeResult
    images: list[ImageOutput]
    output_dir: Path

    @property
    def files(self) -> list[Path]:
        return sorted(p for p in self.output_dir.rglob("*") if p.is_file())


def process_video(
    src: str | Path,
    out_dir: str | Path,
    limits: MediaLimits,
    *,
    on_progress: ProgressCallback | None = None,
    timeout_s: float = 1800,
) -> MediaOutputs:
    """Turn `src` into upright MP4 + HLS + images under `out_dir`. Raises MediaRejected."""
    out_dir = Path(out_dir)
    info = probe(src)
    validate(info, limits)
    result = transcode(src, out_dir, info, on_progress=on_progress, timeout_s=timeout_s)
    images = write_images(result.mp4, result.duration, out_dir / "images")
    return MediaOutputs(probe=info, video=result, images=images, output_dir=out_dir)
