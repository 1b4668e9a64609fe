"""ffprobe wrapper returning a typed view of a media file (streams, orientation, frame rate, HDR)."""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from app.media.exceptions import MediaRejected, RejectCode

FFPROBE_TIMEOUT_S = 60

# The demuxers an upload may be read with, decided from the file's own leading bytes. Every
# ffprobe/ffmpeg call on an upload forces one of these: nothing in the file can make ffmpeg pick
# another demuxer (HLS/DASH playlists, concat lists, image sequences, subtitle and text formats
# all open other files or URLs), and none of these opens anything but the file itself.
SAFE_DEMUXERS = ("mov", "matroska", "mpegts", "avi")

# ISO BMFF (MP4, MOV, 3GP) top-level boxes a real file starts with.
_ISO_BMFF_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp"})

# Options that close what a forced demuxer could still reach: QuickTime data references to other
# files (off by default in ffmpeg; pinned here so a changed default cannot reopen it).
_DEMUXER_OPTIONS: dict[str, tuple[str, ...]] = {
    "mov": ("-enable_drefs", "0", "-use_absolute_path", "0"),
}

HDR_TRANSFERS = frozenset({"smpte2084", "arib-std-b67"})


@dataclass(frozen=True)
class Orientation:
    """How the coded picture must be turned to be shown upright.

    `rotation` is clockwise degrees (0/90/180/270) to apply to the coded frame, and `mirror` says a
    horizontal flip is applied *after* the rotation (a display matrix with negative determinant).
    """

    rotation: int = 0
    mirror: bool = False

    @property
    def swaps_dimensions(self) -> bool:
        return self.rotation in (90, 270)

    @property
    def is_identity(self) -> bool:
        return self.rotation == 0 and not self.mirror

    def filters(self) -> list[str]:
        """ffmpeg video filters that make the frame upright (and un-mirrored)."""
        base = {0: [], 90: ["transpose=clock"], 180: ["hflip", "vflip"], 270: ["transpose=cclock"]}
        chain = list(base[self.rotation])
        if self.mirror:
            chain.append("hflip")
        return chain


def orientation_from_matrix(matrix: list[int]) -> Orientation:
    """Orientation from a 3x3 display matrix (ffmpeg layout: a b u / c d v / x y w, 16.16 fixed).

    The matrix maps a source point (p, q) to (a*p + c*q, b*p + d*q) in y-down picture coordinates.
    Only axis-aligned matrices exist in practice; anything else is treated as upright.
    """
    a, b, c, d = (1 if v > 0 else -1 if v < 0 else 0 for v in (matrix[0], matrix[1], matrix[3], matrix[4]))
    table = {
        (1, 0, 0, 1): Orientation(0, False),
        (-1, 0, 0, -1): Orientation(180, False),
        (-1, 0, 0, 1): Orientation(0, True),
        (1, 0, 0, -1): Orientation(180, True),  # vertical flip == rotate 180 then mirror
        (0, 1, -1, 0): Orientation(90, False),
        (0, -1, 1, 0): Orientation(270, False),
        (0, 1, 1, 0): Orientation(90, True),  # transpose
        (0, -1, -1, 0): Orientation(270, True),  # anti-transpose
    }
    return table.get((a, b, c, d), Orientation())


def orientation_from_rotate_tag(value: str) -> Orientation:
    """Legacy `rotate` tag: clockwise degrees the player must turn the picture."""
    try:
        degrees = int(float(value)) % 360
    except ValueError:
        return Orientation()
    return Orientation(degrees if degrees in (90, 180, 270) else 0, False)


def _parse_matrix(text: str) -> list[int] | None:
    values: list[int] = []
    for line in text.strip().splitlines():
        _, _, rest = line.partition(":")
        values.extend(int(v) for v in rest.split())
    return values if len(values) == 9 else None


def _fraction(value: Any) -> Fraction | None:
    if not value or value in ("0/0", "N/A"):
        return None
    try:
        frac = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return frac if frac > 0 else None


def _float(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(result) else result


@dataclass(frozen=True)
class VideoStream:
    index: int
    codec: str
    profile: str | None
    coded_width: int
    coded_height: int
    pix_fmt: str | None
    bit_depth: int
    color_transfer: str | None
    color_primaries: str | None
    sample_aspect_ratio: Fraction
    frame_rate: float | None
    variable_frame_rate: bool
    orientation: Orientation
    duration: float | None

    @property
    def is_hdr(self) -> bool:
        return (self.color_transfer or "") in HDR_TRANSFERS

    @property
    def display_width(self) -> int:
        """Width as shown: square pixels, after rotation."""
        w, h = self._square_pixel_size()
        return h if self.orientation.swaps_dimensions else w

    @property
    def display_height(self) -> int:
        w, h = self._square_pixel_size()
        return w if self.orientation.swaps_dimensions else h

    def _square_pixel_size(self) -> tuple[int, int]:
        sar = self.sample_aspect_ratio
        if sar == 1:
            return self.coded_width, self.coded_height
        if sar > 1:
            return round(self.coded_width * sar), self.coded_height
        return self.coded_width, round(self.coded_height / sar)


@dataclass(frozen=True)
class AudioStream:
    index: int
    codec: str
    sample_rate: int | None
    channels: int | None


@dataclass(frozen=True)
class ProbeResult:
    container: str
    format_long_name: str | None
    duration: float | None
    size_bytes: int
    bit_rate: int | None
    video: VideoStream | None
    audio: AudioStream | None
    video_streams: int = 0
    audio_streams: int = 0
    demuxer: str = "mov"  # the forced demuxer every later read of the file must use
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def has_audio(self) -> bool:
        return self.audio is not None

    @property
    def has_video(self) -> bool:
        return self.video is not None


def sniff_container(path: Path) -> str | None:
    """The demuxer for `path`, decided from its leading bytes (one of SAFE_DEMUXERS), or None."""
    with path.open("rb") as fh:
        head = fh.read(4 + 192 * 3)
    box_size = int.from_bytes(head[:4], "big")
    if len(head) >= 8 and head[4:8] in _ISO_BMFF_BOXES and (box_size in (0, 1) or box_size >= 8):
        return "mov"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska, WebM
        return "matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    # MPEG-TS: a sync byte every 188 bytes (192 in M2TS, after a 4-byte time code).
    for start, size in ((0, 188), (4, 192)):
        if len(head) > start + 2 * size and all(head[start + k * size] == 0x47 for k in range(3)):
            return "mpegts"
    return None


def input_args(path: Path, demuxer: str) -> list[str]:
    """ffmpeg/ffprobe arguments that open `path` with `demuxer` forced and only the local file
    protocol allowed, so nothing in the input can reach http, tcp, data or any other protocol."""
    if demuxer not in SAFE_DEMUXERS:
        raise ValueError(f"not an allowed demuxer: {demuxer}")
    return [
        "-protocol_whitelist", "file", "-f", demuxer, *_DEMUXER_OPTIONS.get(demuxer, ()),
        "-i", f"file:{Path(path).resolve()}",
    ]  # fmt: skip


def run_ffprobe(path: Path, demuxer: str, *extra: str) -> dict[str, Any]:
    cmd = [
        "ffprobe", "-v", "error", "-hide_banner", "-of", "json",
        "-show_format", "-show_streams", *extra, *input_args(path, demuxer),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, timeout=FFPROBE_TIMEOUT_S, check=False)
    if proc.returncode != 0:
        raise _ProbeFailed(proc.stderr.decode("utf-8", "replace").strip())
    data: dict[str, Any] = json.loads(proc.stdout or b"{}")
    return data


def measure_stream(path: Path, demuxer: str, stream_index: int) -> tuple[float, int] | None:
    """(duration in seconds, packet count) of one stream, from its packets' timestamps.

    Containers can state a wrong duration (fragmented MP4 whose headers claim hours, edit lists,
    recordings with gaps): the packets are the truth. A demux-only pass, nothing is decoded."""
    cmd = [
        "ffprobe", "-v", "error", "-hide_banner", "-select_streams", str(stream_index),
        "-show_entries", "packet=pts_time,dts_time,duration_time", "-of", "csv=p=0",
        *input_args(path, demuxer),
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=FFPROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        return None
    first: float | None = None
    last = 0.0
    count = 0
    for line in proc.stdout.decode("ascii", "replace").splitlines():
        fields = line.split(",")
        if len(fields) < 3:
            continue
        start = _float(fields[0]) if fields[0] not in ("", "N/A") else _float(fields[1])
        if start is None:
            continue
        count += 1
        first = start if first is None else min(first, start)
        last = max(last, start + (_float(fields[2]) or 0.0))
    if first is None:
        return None
    return max(0.0, last - first), count


class _ProbeFailed(Exception):
    pass


def _video_stream(s: dict[str, Any]) -> VideoStream:
    orientation = Orientation()
    for sd in s.get("side_data_list") or []:
        if sd.get("side_data_type") == "Display Matrix" and sd.get("displaymatrix"):
            matrix = _parse_matrix(sd["displaymatrix"])
            if matrix:
                orientation = orientation_from_matrix(matrix)
    rotate_tag = (s.get("tags") or {}).get("rotate")
    if orientation.is_identity and rotate_tag:
        orientation = orientation_from_rotate_tag(rotate_tag)
    r_rate = _fraction(s.get("r_frame_rate"))
    avg_rate = _fraction(s.get("avg_frame_rate"))
    rate = avg_rate or r_rate
    vfr = bool(r_rate and avg_rate and abs(float(r_rate) - float(avg_rate)) > 0.01 * float(avg_rate))
    pix_fmt = s.get("pix_fmt")
    depth = int(s.get("bits_per_raw_sample") or 0) if str(s.get("bits_per_raw_sample", "")).isdigit() else 0
    if not depth:
        depth = (
            10
            if pix_fmt and ("10" in pix_fmt or "p010" in pix_fmt)
            else 12
            if pix_fmt and "12" in pix_fmt
            else 8
        )
    sar = _fraction(s.get("sample_aspect_ratio")) or Fraction(1)
    return VideoStream(
        index=int(s.get("index", 0)),
        codec=str(s.get("codec_name") or "unknown"),
        profile=s.get("profile"),
        coded_width=int(s.get("width") or 0),
        coded_height=int(s.get("height") or 0),
        pix_fmt=pix_fmt,
        bit_depth=depth,
        color_transfer=s.get("color_transfer"),
        color_primaries=s.get("color_primaries"),
        sample_aspect_ratio=sar,
        frame_rate=float(rate) if rate else None,
        variable_frame_rate=vfr,
        orientation=orientation,
        duration=_float(s.get("duration")),
    )


def _plausible(stated: float | None, measured: float) -> bool:
    return stated is not None and abs(stated - measured) <= max(1.0, 0.1 * measured)


def probe(path: str | Path) -> ProbeResult:
    """Inspect `path` with ffprobe. Raises MediaRejected when it is not a readable media file.

    The demuxer is decided from the file's leading bytes and forced on every call: a file that is
    not one of the containers in SAFE_DEMUXERS is `not_a_video` without ffprobe ever opening it."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise MediaRejected(RejectCode.NOT_A_VIDEO, detail="empty file")
    demuxer = sniff_container(path)
    if demuxer is None:
        raise MediaRejected(RejectCode.NOT_A_VIDEO, detail="leading bytes match no allowed container")
    try:
        data = run_ffprobe(path, demuxer)
    except _ProbeFailed as exc:
        raise MediaRejected(RejectCode.CORRUPT, detail=f"ffprobe ({demuxer}): {exc}")
    except subprocess.TimeoutExpired:
        raise MediaRejected(RejectCode.CORRUPT, detail="ffprobe timed out")
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    # Attached pictures (cover art) are not video.
    videos = [
        s for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]  # fmt: skip
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    video = _video_stream(videos[0]) if videos else None
    audio = None
    if audios:
        a = audios[0]
        audio = AudioStream(
            index=int(a.get("index", 0)),
            codec=str(a.get("codec_name") or "unknown"),
            sample_rate=int(a["sample_rate"]) if str(a.get("sample_rate", "")).isdigit() else None,
            channels=a.get("channels"),
        )
    duration = _float(fmt.get("duration"))
    if video is not None:
        measured = measure_stream(path, demuxer, video.index)
        if measured is not None and measured[0] > 0:
            seconds, packets = measured
            # The container's figure is kept when it agrees with the packets (it includes the
            # audio's tail); a missing or absurd one (fragmented MP4 headers claiming hours, edit
            # lists) gives way to what the packets say.
            if not _plausible(duration, seconds):
                duration = seconds
            rate = packets / seconds if packets > 1 else None
            stated = video.frame_rate
            if rate and (stated is None or stated > 240 or abs(stated - rate) > 0.2 * rate):
                video = replace(video, frame_rate=rate, variable_frame_rate=True)
        elif duration is None:
            duration = video.duration
    bit_rate = fmt.get("bit_rate")
    return ProbeResult(
        container=str(fmt.get("format_name") or "unknown"),
        format_long_name=fmt.get("format_long_name"),
        duration=duration,
        size_bytes=size,
        bit_rate=int(str(bit_rate)) if str(bit_rate or "").isdigit() else None,
        video=video,
        audio=audio,
        video_streams=len(videos),
        audio_streams=len(audios),
        demuxer=demuxer,
        raw=data,
    )
