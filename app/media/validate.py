"""Checks a probed file against the configured limits before any transcoding starts."""

from __future__ import annotations

from dataclasses import dataclass

from app.media.exceptions import MediaRejected, RejectCode
from app.media.probe import ProbeResult

# Video codecs the installed ffmpeg decodes reliably and that phones/editors actually produce.
SUPPORTED_VIDEO_CODECS = frozenset({
    "h264", "hevc", "av1", "vp8", "vp9", "mpeg4", "mpeg2video", "mpeg1video", "prores",
    "mjpeg", "dnxhd", "h263", "theora", "wmv3", "vc1", "msmpeg4v3",
})  # fmt: skip


@dataclass(frozen=True)
class MediaLimits:
    min_duration_s: float = 0.5
    max_duration_s: float = 180.0
    max_dimension: int = 4096  # longest side, in display pixels
    max_bytes: int = 1024**3


def validate(probe: ProbeResult, limits: MediaLimits) -> None:
    """Raise MediaRejected with the first reason the file cannot be accepted."""
    if probe.size_bytes > limits.max_bytes:
        raise MediaRejected(
            RejectCode.TOO_LARGE, f"The file is {probe.size_bytes} bytes; the limit is {limits.max_bytes}."
        )
    video = probe.video
    if video is None:
        raise MediaRejected(RejectCode.NO_VIDEO_STREAM, "The file has no video track.")
    if video.codec not in SUPPORTED_VIDEO_CODECS:
        raise MediaRejected(RejectCode.UNSUPPORTED_CODEC, f"Video codec '{video.codec}' is not supported.")
    if video.coded_width <= 0 or video.coded_height <= 0:
        raise MediaRejected(RejectCode.CORRUPT, "The video track has no picture size.")
    longest = max(video.display_width, video.display_height)
    if longest > limits.max_dimension:
        raise MediaRejected(
            RejectCode.TOO_LARGE,
            f"The video is {video.display_width}x{video.display_height}; "
            f"the longest side may be at most {limits.max_dimension} pixels.",
        )
    if probe.duration is None:
        raise MediaRejected(RejectCode.CORRUPT, "The video's duration cannot be determined.")
    if probe.duration < limits.min_duration_s:
        raise MediaRejected(
            RejectCode.TOO_SHORT,
            f"The video is {probe.duration:.2f} s long; the minimum is {limits.min_duration_s:g} s.",
        )
    if probe.duration > limits.max_duration_s:
        raise MediaRejected(
            RejectCode.TOO_LONG,
            f"The video is {probe.duration:.1f} s long; the maximum is {limits.max_duration_s:g} s.",
        )
