"""ffprobe-based assertions on produced outputs, shared by the media and clip tests."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "video"


def synth_video(path: Path, size: str = "360x640", seconds: int = 2, rate: int = 30) -> Path:
    """A small H.264/AAC MP4 made by ffmpeg (test pattern and a tone): works without ../shared."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds}", "-f", "lavfi",
         "-i", f"sine=f=440:d={seconds}", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
         "-shortest", str(path)],
        check=True,
    )  # fmt: skip
    return path


def ffprobe(path: Path | str, *extra: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", *extra, str(path)],
        capture_output=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def stream(data: dict[str, Any], kind: str) -> dict[str, Any]:
    matches = [s for s in data["streams"] if s["codec_type"] == kind]
    assert len(matches) == 1, f"expected one {kind} stream, got {len(matches)}"
    return matches[0]


def assert_playable_mp4(path: Path, width: int, height: int, duration: float) -> None:
    data = ffprobe(path, "-count_frames")
    video, audio = stream(data, "video"), stream(data, "audio")
    assert video["codec_name"] == "h264" and video["profile"] == "High"
    assert video["pix_fmt"] == "yuv420p"
    assert (video["width"], video["height"]) == (width, height)
    assert video.get("sample_aspect_ratio", "1:1") in ("1:1", "N/A")
    assert not video.get("side_data_list"), "display matrix / rotation left in the output"
    assert "rotate" not in (video.get("tags") or {})
    assert int(video["nb_read_frames"]) > 0
    assert audio["codec_name"] == "aac" and audio["channels"] == 2
    assert abs(float(data["format"]["duration"]) - duration) < max(0.25, duration * 0.1)
    # +faststart: the moov box precedes mdat.
    head = path.read_bytes()[:200_000]
    assert 0 <= head.find(b"moov") < head.find(b"mdat") or head.find(b"mdat") == -1


def parse_master(text: str) -> list[dict[str, str]]:
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    variants = []
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attrs = dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1]))
            attrs = {k: v.strip('"') for k, v in attrs.items()}
            attrs["URI"] = lines[i + 1]
            variants.append(attrs)
    return variants


def segment_durations(playlist: str) -> list[float]:
    assert "#EXT-X-ENDLIST" in playlist and "#EXT-X-PLAYLIST-TYPE:VOD" in playlist
    return [float(m) for m in re.findall(r"#EXTINF:([0-9.]+),", playlist)]


def assert_valid_hls(read: Any, master_key: str, expected_rungs: list[str], portrait: bool) -> None:
    """`read(key) -> bytes` reads stored objects; keys of playlists are relative to the master's folder."""
    base = master_key.rsplit("/", 1)[0]
    variants = parse_master(read(master_key).decode())
    assert [v["URI"].split("/")[0] for v in variants] == expected_rungs
    durations_per_rung = []
    for v in variants:
        assert int(v["BANDWIDTH"]) > 0
        assert v["CODECS"].startswith("avc1.64") and "mp4a.40.2" in v["CODECS"]
        w, h = (int(x) for x in v["RESOLUTION"].split("x"))
        assert (h > w) if portrait else (w >= h)
        durations = segment_durations(read(f"{base}/{v['URI']}").decode())
        assert durations, "no segments"
        assert len({round(d, 2) for d in durations[:-1]}) <= 1, f"unequal segments {durations}"
        assert durations[-1] <= (durations[0] + 0.05)
        durations_per_rung.append([round(d, 2) for d in durations])
    # Aligned keyframes across rungs: every rung cuts segments at the same instants.
    assert all(d == durations_per_rung[0] for d in durations_per_rung)
