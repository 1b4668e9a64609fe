"""Orientation maths, limits and failure codes that need no real footage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.media import MediaLimits, MediaRejected, plan_ladder, probe, validate
from app.media.probe import (
    Orientation,
    orientation_from_matrix,
    orientation_from_rotate_tag,
)

ONE = 65536


@pytest.mark.parametrize(
    ("matrix", "expected", "filters"),
    [
        ([ONE, 0, 0, 0, ONE, 0, 0, 0, 1 << 30], Orientation(0, False), []),
        ([0, ONE, 0, -ONE, 0, 0, 0, 0, 1 << 30], Orientation(90, False), ["transpose=clock"]),
        ([-ONE, 0, 0, 0, -ONE, 0, 0, 0, 1 << 30], Orientation(180, False), ["hflip", "vflip"]),
        ([0, -ONE, 0, ONE, 0, 0, 0, 0, 1 << 30], Orientation(270, False), ["transpose=cclock"]),
        ([-ONE, 0, 0, 0, ONE, 0, 0, 0, 1 << 30], Orientation(0, True), ["hflip"]),
        ([0, ONE, 0, ONE, 0, 0, 0, 0, 1 << 30], Orientation(90, True), ["transpose=clock", "hflip"]),
    ],
)
def test_display_matrix_to_upright_filters(
    matrix: list[int], expected: Orientation, filters: list[str]
) -> None:
    got = orientation_from_matrix(matrix)
    assert got == expected
    assert got.filters() == filters


def test_legacy_rotate_tag() -> None:
    assert orientation_from_rotate_tag("90") == Orientation(90, False)
    assert orientation_from_rotate_tag("-90") == Orientation(270, False)
    assert orientation_from_rotate_tag("junk") == Orientation()


def test_ladder_keeps_only_rungs_up_to_the_source() -> None:
    assert [r.name for r in plan_ladder(1080, 1920)] == ["360p", "540p", "720p", "1080p"]
    assert next((r.width, r.height) for r in plan_ladder(1080, 1920)) == (360, 640)
    assert [r.name for r in plan_ladder(720, 1280)] == ["360p", "540p", "720p"]
    assert [(r.name, r.width, r.height) for r in plan_ladder(320, 240)] == [("240p", 320, 240)]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("synthetic")
    files = {
        "clip.mp4": [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=180x320:r=15:d=2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
        "huffyuv.avi": ["-f", "lavfi", "-i", "testsrc2=s=64x64:r=5:d=1", "-c:v", "huffyuv"],
        "text.txt": None,
    }
    out = {}
    for name, args in files.items():
        path = d / name
        if args is None:
            path.write_text("hello, this is not a video\n" * 10)
        else:
            subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(path)], check=True)
        out[name] = path
    return out


def _code(path: Path, limits: MediaLimits) -> str | None:
    try:
        validate(probe(path), limits)
    except MediaRejected as exc:
        return exc.code.value
    return None


def test_limits_produce_the_right_failure_codes(synthetic: dict[str, Path]) -> None:
    clip = synthetic["clip.mp4"]
    assert _code(clip, MediaLimits()) is None
    assert _code(clip, MediaLimits(max_duration_s=1.5)) == "too_long"
    assert _code(clip, MediaLimits(min_duration_s=3)) == "too_short"
    assert _code(clip, MediaLimits(max_dimension=300)) == "too_large"
    assert _code(clip, MediaLimits(max_bytes=100)) == "too_large"
    assert _code(synthetic["huffyuv.avi"], MediaLimits()) == "unsupported_codec"
    assert _code(synthetic["text.txt"], MediaLimits()) == "not_a_video"


def test_hdr_10bit_source_becomes_8bit_sdr_and_short_audio_is_padded(tmp_path: Path) -> None:
    """10-bit HEVC tagged PQ/BT.2020 (what an iPhone HDR clip looks like to ffprobe), with an audio
    track shorter than the picture."""
    from app.media import process_video
    from tests.media.media_checks import ffprobe, stream

    src = tmp_path / "hdr.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x568:r=30:d=2", "-f", "lavfi",
         "-i", "sine=d=1", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
         "-pix_fmt", "yuv420p10le", "-color_primaries", "bt2020", "-color_trc", "smpte2084",
         "-colorspace", "bt2020nc", "-tag:v", "hvc1", "-c:a", "aac", str(src)],
        check=True,
    )  # fmt: skip
    info = probe(src)
    assert info.video is not None and info.video.is_hdr and info.video.bit_depth == 10
    result = process_video(src, tmp_path / "out", MediaLimits())
    data = ffprobe(result.mp4)
    video = stream(data, "video")
    assert video["pix_fmt"] == "yuv420p" and video["codec_name"] == "h264"
    assert video.get("color_transfer") in (None, "bt709", "unknown")
    assert abs(float(data["format"]["duration"]) - 2.0) < 0.2
    assert abs(float(stream(data, "audio")["duration"]) - 2.0) < 0.2
