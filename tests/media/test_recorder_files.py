"""Files browsers and phone apps write whose containers state a missing or absurd duration or
frame rate: fragmented MP4 (MediaRecorder, several phone apps), live-written WebM, slow motion."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from app.media import MediaLimits, probe, process_video
from tests.media.media_checks import assert_playable_mp4, ffprobe


def _encode(path: Path, *output: str, size: str = "360x640", rate: int = 30, seconds: int = 4) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds}",
         "-f", "lavfi", "-i", f"sine=d={seconds}", "-shortest", *output, str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def fragmented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("frag") / "recorder.mp4"
    return _encode(path, "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                   "-movflags", "frag_keyframe+empty_moov")  # fmt: skip


def _claim_forty_hours(src: Path, dst: Path) -> Path:
    """Rewrite every track header (mdhd) to claim a 40-hour duration, as some recorders leave it."""
    data = bytearray(src.read_bytes())
    at = data.find(b"mdhd")
    while at >= 0:
        timescale = struct.unpack(">I", data[at + 16 : at + 20])[0]
        struct.pack_into(">I", data, at + 20, min(timescale * 40 * 3600, 2**32 - 1))
        at = data.find(b"mdhd", at + 4)
    dst.write_bytes(bytes(data))
    return dst


def test_fragmented_mp4_from_a_recorder_ends_ready(fragmented: Path, tmp_path: Path) -> None:
    result = process_video(fragmented, tmp_path / "out", MediaLimits())
    assert abs(result.probe.duration - 4.0) < 0.2  # type: ignore[operator]
    assert_playable_mp4(result.mp4, 360, 640, 4.0)


def test_fragmented_mp4_claiming_forty_hours_is_measured_from_its_packets(fragmented: Path, tmp_path: Path) -> None:
    liar = _claim_forty_hours(fragmented, tmp_path / "liar.mp4")
    assert float(ffprobe(liar)["format"]["duration"]) > 100_000  # what the container says
    info = probe(liar)
    assert info.duration is not None and abs(info.duration - 4.0) < 0.2
    result = process_video(liar, tmp_path / "out", MediaLimits())  # not `too_long`
    assert_playable_mp4(result.mp4, 360, 640, 4.0)


def test_webm_written_live_without_a_duration_ends_ready(tmp_path: Path) -> None:
    """Chrome's MediaRecorder writes WebM with no duration and no cues (it cannot seek back)."""
    path = tmp_path / "recorder.webm"
    with path.open("wb") as out:
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=3", "-f", "lavfi",
             "-i", "sine=d=3", "-shortest", "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "300k",
             "-c:a", "libopus", "-f", "webm", "-"],
            stdout=out, check=True,
        )  # fmt: skip
    assert "duration" not in ffprobe(path)["format"]
    result = process_video(path, tmp_path / "out", MediaLimits())
    assert abs(result.probe.duration - 3.0) < 0.2  # type: ignore[operator]
    assert_playable_mp4(result.mp4, 320, 240, 3.0)


def test_slow_motion_capture_plays_at_thirty_frames_a_second(tmp_path: Path) -> None:
    source = _encode(tmp_path / "slowmo.mp4", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                     rate=240, seconds=2, size="240x426")  # fmt: skip
    result = process_video(source, tmp_path / "out", MediaLimits())
    video = next(s for s in ffprobe(result.mp4)["streams"] if s["codec_type"] == "video")
    assert video["avg_frame_rate"] == "30/1"
    assert abs(float(ffprobe(result.mp4)["format"]["duration"]) - 2.0) < 0.2
