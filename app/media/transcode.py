"""One ffmpeg run: an upright H.264/AAC MP4 plus an HLS ladder with aligned keyframes."""

from __future__ import annotations

import logging
import math
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.media.exceptions import MediaRejected, RejectCode
from app.media.mp4box import reset_display_matrices
from app.media.probe import ProbeResult, _ProbeFailed, run_ffprobe

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]

# Short-side sizes of the vertical ladder and the video bit rate caps used for each rung.
LADDER: tuple[tuple[int, int], ...] = ((360, 800_000), (540, 1_400_000), (720, 2_400_000), (1080, 4_500_000))
MP4_MAX_SHORT_SIDE = 720
AUDIO_BITRATE = 128_000
SEGMENT_SECONDS = 2
MAX_FPS = 30
X264_PRESET = "veryfast"
X264_CRF = 23
HLS_MASTER = "master.m3u8"

_DECODE_ERROR = re.compile(
    r"(Error while decoding|Invalid data found|corrupt decoded frame|error while decoding MB|"
    r"Invalid NAL unit|concealing \d+ (DC|AC|MV) errors|Invalid (sync code|frame marker))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Rung:
    name: str  # e.g. "720p" (short side)
    width: int
    height: int
    max_video_bitrate: int

    @property
    def bandwidth(self) -> int:
        return self.max_video_bitrate + AUDIO_BITRATE


@dataclass
class Rendition:
    rung: str
    width: int
    height: int
    bandwidth: int
    codecs: str
    playlist: str  # path relative to the output directory


@dataclass
class TranscodeResult:
    output_dir: Path
    mp4: Path
    master: Path
    renditions: list[Rendition]
    width: int  # MP4 (display) size
    height: int
    duration: float
    source_has_audio: bool
    files: list[Path] = field(default_factory=list)  # every produced file, for upload


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _scaled(width: int, height: int, short: int) -> tuple[int, int]:
    if width <= height:
        return _even(short), _even(height * short / width)
    return _even(width * short / height), _even(short)


def plan_ladder(display_width: int, display_height: int) -> list[Rung]:
    """Rungs whose short side is <= the source's; a source below the first rung gets one rung at its size."""
    short = min(display_width, display_height)
    rungs = [
        Rung(f"{size}p", *_scaled(display_width, display_height, size), bitrate)
        for size, bitrate in LADDER
        if size <= short
    ]
    if not rungs:
        w, h = _even(display_width), _even(display_height)
        rungs = [Rung(f"{min(w, h)}p", w, h, LADDER[0][1])]
    return rungs


def output_fps(probe: ProbeResult) -> int:
    rate = probe.video.frame_rate if probe.video else None
    if not rate or rate > 240:
        return MAX_FPS
    return max(1, min(MAX_FPS, round(rate)))


def _video_prefilters(probe: ProbeResult) -> list[str]:
    assert probe.video is not None
    v = probe.video
    chain = list(v.orientation.filters())
    if v.sample_aspect_ratio != 1:
        chain.append(f"scale={_even(v._square_pixel_size()[0])}:{_even(v._square_pixel_size()[1])},setsar=1")
    if v.is_hdr and has_filter("zscale") and has_filter("tonemap"):
        chain.append(
            "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,"
            "tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv"
        )
    chain.append(f"fps={output_fps(probe)}")
    return chain


_filters_cache: dict[str, bool] = {}


def has_filter(name: str) -> bool:
    if name not in _filters_cache:
        out = subprocess.run(
            ["ffmpeg", "-hide_banner", "-filters"], capture_output=True, text=True, check=False
        )
        _filters_cache[name] = bool(re.search(rf"^\s*\S+\s+{re.escape(name)}\s", out.stdout, re.MULTILINE))
    return _filters_cache[name]


def build_command(src: Path, out_dir: Path, probe: ProbeResult, rungs: list[Rung]) -> list[str]:
    """The single ffmpeg command (also used by the benchmark as the bare baseline)."""
    assert probe.video is not None and probe.duration is not None
    fps = output_fps(probe)
    gop = fps * SEGMENT_SECONDS
    mp4_short = min(MP4_MAX_SHORT_SIDE, min(rungs[-1].width, rungs[-1].height))
    mp4_w, mp4_h = _scaled(rungs[-1].width, rungs[-1].height, mp4_short)
    outputs = [(mp4_w, mp4_h), *((r.width, r.height) for r in rungs)]
    n = len(outputs)

    graph = [
        f"[0:{probe.video.index}]{','.join(_video_prefilters(probe))},split={n}"
        + "".join(f"[s{i}]" for i in range(n))
    ]
    for i, (w, h) in enumerate(outputs):
        graph.append(f"[s{i}]scale={w}:{h}:flags=bicubic,setsar=1,format=yuv420p[v{i}]")
    if probe.audio is not None:
        # Audio is made exactly as long as the video: a track that ends early is padded with
        # silence instead of cutting the picture short (with -shortest), a longer one is trimmed.
        audio_src = (
            f"[0:{probe.audio.index}]aresample=48000,aformat=channel_layouts=stereo,"
            f"apad=whole_dur={probe.duration:.3f},atrim=duration={probe.duration:.3f}"
        )
    else:
        audio_src = f"anullsrc=r=48000:cl=stereo,atrim=duration={probe.duration:.3f}"
    graph.append(f"{audio_src},asplit={n}" + "".join(f"[a{i}]" for i in range(n)))

    x264 = [
        "-c:v", "libx264", "-preset", X264_PRESET, "-profile:v", "high", "-crf", str(X264_CRF),
        "-pix_fmt", "yuv420p", "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
        "-c:a", "aac", "-b:a", str(AUDIO_BITRATE), "-ac", "2", "-ar", "48000",
    ]  # fmt: skip
    cmd = [
        "ffmpeg", "-hide_banner", "-nostdin", "-y", "-v", "error", "-progress", "pipe:1", "-nostats",
        "-noautorotate", "-i", str(src),
        "-filter_complex", ";".join(graph),
        # MP4: top rung capped, faststart (a copied display matrix is reset afterwards).
        "-map", "[v0]", "-map", "[a0]", *x264,
        "-maxrate:v", str(LADDER[-1][1]), "-bufsize:v", str(2 * LADDER[-1][1]),
        "-movflags", "+faststart", "-shortest", str(out_dir / "video.mp4"),
    ]  # fmt: skip
    hls: list[str] = []
    for i in range(len(rungs)):
        hls += ["-map", f"[v{i + 1}]", "-map", f"[a{i + 1}]"]
    hls += x264
    for i, rung in enumerate(rungs):
        hls += [f"-maxrate:v:{i}", str(rung.max_video_bitrate), f"-bufsize:v:{i}", str(2 * rung.max_video_bitrate),
                f"-b:v:{i}", str(rung.max_video_bitrate)]  # fmt: skip
    var_map = " ".join(f"v:{i},a:{i},name:{r.name}" for i, r in enumerate(rungs))
    (out_dir / "hls").mkdir(parents=True, exist_ok=True)
    for rung in rungs:
        (out_dir / "hls" / rung.name).mkdir(exist_ok=True)
    hls += [
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
        "-hls_segment_filename", str(out_dir / "hls" / "%v" / "seg_%04d.ts"),
        "-master_pl_name", HLS_MASTER, "-var_stream_map", var_map, "-shortest",
        str(out_dir / "hls" / "%v" / "index.m3u8"),
    ]  # fmt: skip
    return cmd + hls


def _run_with_progress(
    cmd: list[str], duration: float, on_progress: ProgressCallback | None, timeout_s: float
) -> tuple[int, str]:
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        deadline = time.monotonic() + timeout_s
        last = -1
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if time.monotonic() > deadline:
                    proc.kill()
                    break
                key, _, value = line.strip().partition("=")
                if key in ("out_time_us", "out_time_ms") and value.isdigit() and duration > 0:
                    pct = max(0, min(99, int(int(value) / 1e6 / duration * 100)))
                    if pct > last and on_progress:
                        on_progress(pct)
                    last = max(last, pct)
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if time.monotonic() > deadline:
            raise MediaRejected(
                RejectCode.TRANSCODE_FAILED, f"Transcoding took longer than {timeout_s:.0f} s."
            )
        err.seek(0)
        return proc.returncode, err.read().decode("utf-8", "replace")


def _parse_master(master: Path) -> list[Rendition]:
    renditions: list[Rendition] = []
    lines = master.read_text().splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("#EXT-X-STREAM-INF:"):
            continue
        attrs = {
            m.group(1): m.group(2).strip('"')
            for m in re.finditer(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])
        }
        uri = lines[i + 1].strip()
        w, _, h = attrs.get("RESOLUTION", "0x0").partition("x")
        renditions.append(
            Rendition(
                rung=uri.split("/")[0],
                width=int(w),
                height=int(h),
                bandwidth=int(attrs.get("BANDWIDTH", 0)),
                codecs=attrs.get("CODECS", ""),
                playlist=f"hls/{uri}",
            )
        )
    return renditions


def _verify_mp4(path: Path, expected_duration: float, width: int, height: int) -> None:
    try:
        data = run_ffprobe(path, "-count_packets")
    except _ProbeFailed as exc:
        raise MediaRejected(RejectCode.CORRUPT, f"The encoded video is unreadable ({exc}).")
    streams = data.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = float((data.get("format") or {}).get("duration") or 0)
    problems = []
    if video is None or video.get("codec_name") != "h264" or video.get("pix_fmt") != "yuv420p":
        problems.append("video track is not H.264 yuv420p")
    elif (int(video.get("width", 0)), int(video.get("height", 0))) != (width, height):
        problems.append("unexpected picture size")
    elif int(video.get("nb_read_packets") or 0) == 0:
        problems.append("no video frames")
    elif any(sd.get("side_data_type") == "Display Matrix" for sd in video.get("side_data_list") or []):
        problems.append("a rotation matrix remains")
    if audio is None or audio.get("codec_name") != "aac":
        problems.append("audio track is not AAC")
    tolerance = max(0.5, 0.1 * expected_duration)
    if abs(duration - expected_duration) > tolerance:
        problems.append(f"duration {duration:.2f} s differs from the source's {expected_duration:.2f} s")
    if problems:
        raise MediaRejected(
            RejectCode.CORRUPT, "The video could not be decoded completely: " + "; ".join(problems)
        )


def transcode(
    src: str | Path,
    out_dir: str | Path,
    probe: ProbeResult,
    *,
    on_progress: ProgressCallback | None = None,
    timeout_s: float = 1800,
) -> TranscodeResult:
    """Encode `src` into `out_dir` (video.mp4 + hls/). Raises MediaRejected on decode errors."""
    src, out_dir = Path(src), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    assert probe.video is not None and probe.duration is not None
    rungs = plan_ladder(probe.video.display_width, probe.video.display_height)
    cmd = build_command(src, out_dir, probe, rungs)
    log.info("ffmpeg", extra={"cmd": " ".join(cmd)})
    rc, stderr = _run_with_progress(cmd, probe.duration, on_progress, timeout_s)
    decode_errors = [line for line in stderr.splitlines() if _DECODE_ERROR.search(line)]
    if decode_errors:
        raise MediaRejected(RejectCode.CORRUPT, f"The video stream is damaged: {decode_errors[0].strip()}")
    if rc != 0:
        tail = stderr.strip().splitlines()[-1:] or ["unknown error"]
        raise MediaRejected(RejectCode.TRANSCODE_FAILED, f"Transcoding failed: {tail[0]}")
    master = out_dir / "hls" / HLS_MASTER
    mp4 = out_dir / "video.mp4"
    if not master.exists() or not mp4.exists():
        raise MediaRejected(RejectCode.CORRUPT, "The video produced no playable output.")
    mp4_short = min(MP4_MAX_SHORT_SIDE, min(rungs[-1].width, rungs[-1].height))
    width, height = _scaled(rungs[-1].width, rungs[-1].height, mp4_short)
    reset_display_matrices(mp4)
    _verify_mp4(mp4, probe.duration, width, height)
    renditions = _parse_master(master)
    if len(renditions) != len(rungs):
        raise MediaRejected(RejectCode.TRANSCODE_FAILED, "The HLS master playlist is incomplete.")
    for r in renditions:
        playlist = out_dir / r.playlist
        segments = [ln for ln in playlist.read_text().splitlines() if ln and not ln.startswith("#")]
        if not segments or not all((playlist.parent / s).exists() for s in segments):
            raise MediaRejected(RejectCode.CORRUPT, f"The {r.rung} stream has no playable segments.")
    if on_progress:
        on_progress(100)
    files = sorted(p for p in out_dir.rglob("*") if p.is_file())
    return TranscodeResult(
        output_dir=out_dir,
        mp4=mp4,
        master=master,
        renditions=renditions,
        width=width,
        height=height,
        duration=probe.duration if math.isfinite(probe.duration) else 0.0,
        source_has_audio=probe.has_audio,
        files=files,
    )
