"""Upright H.264/AAC HLS ladder with aligned keyframes, stills and an MP4, in two passes.

The first pass makes the lowest rung plus the stills (poster candidates, storyboard frames): the
clip is playable as soon as it is done. The second makes every other rung in one run (one decode
for all of them). The MP4 is not a separate encode: it is the <= 720p rung's segments remuxed.
Every run reads the upload with its forced demuxer (`probe.input_args`)."""

from __future__ import annotations

import logging
import math
import posixpath
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.media.exceptions import MediaRejected, RejectCode
from app.media.probe import ProbeResult, _ProbeFailed, input_args, run_ffprobe

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
FIRST_MASTER = "master_first.m3u8"  # written by the first pass's muxer, read back, not published
REST_MASTER = "master_rest.m3u8"
MP4_NAME = "video.mp4"
# Relative cost of decoding a source pixel against encoding an output pixel (x264 veryfast),
# only used to split the progress bar between the two passes.
DECODE_WEIGHT = 0.25
POSTER_MAX_WIDTH = 1080
POSTER_SAMPLE_POINTS = (0.1, 0.3, 0.5, 0.7, 0.9)
STORYBOARD_TILE_SHORT = 160  # short side of one storyboard tile, in pixels
STORYBOARD_MAX_TILES = 100
STORYBOARD_MIN_INTERVAL_S = 1

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
    first_segment: str = ""  # the playlist's first segment, relative to the output directory


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


def _graph_head(probe: ProbeResult, branches: int) -> str:
    """The source's video stream, upright and at the output frame rate, split into `branches`."""
    assert probe.video is not None
    return f"[0:{probe.video.index}]{','.join(_video_prefilters(probe))},split={branches}" + "".join(
        f"[s{i}]" for i in range(branches)
    )


def _audio_graph(probe: ProbeResult, outputs: int) -> str:
    assert probe.duration is not None
    if probe.audio is not None:
        # Audio is made exactly as long as the video: a track that ends early is padded with
        # silence instead of cutting the picture short (with -shortest), a longer one is trimmed.
        source = (
            f"[0:{probe.audio.index}]aresample=48000,aformat=channel_layouts=stereo,"
            f"apad=whole_dur={probe.duration:.3f},atrim=duration={probe.duration:.3f}"
        )
    else:
        source = f"anullsrc=r=48000:cl=stereo,atrim=duration={probe.duration:.3f}"
    return f"{source},asplit={outputs}" + "".join(f"[a{i}]" for i in range(outputs))


def x264_args(probe: ProbeResult) -> list[str]:
    gop = output_fps(probe) * SEGMENT_SECONDS
    return [
        "-c:v", "libx264", "-preset", X264_PRESET, "-profile:v", "high", "-crf", str(X264_CRF),
        "-pix_fmt", "yuv420p", "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
        "-c:a", "aac", "-b:a", str(AUDIO_BITRATE), "-ac", "2", "-ar", "48000",
    ]  # fmt: skip


def _hls_outputs(out_dir: Path, probe: ProbeResult, rungs: list[Rung], first: int, master: str) -> list[str]:
    """HLS muxer arguments for `rungs`, fed by the graph's [v{first+i}] / [a{first+i}] pads."""
    args: list[str] = []
    for i in range(len(rungs)):
        args += ["-map", f"[v{first + i}]", "-map", f"[a{first + i}]"]
    args += x264_args(probe)
    for i, rung in enumerate(rungs):
        args += [f"-maxrate:v:{i}", str(rung.max_video_bitrate), f"-bufsize:v:{i}", str(2 * rung.max_video_bitrate),
                 f"-b:v:{i}", str(rung.max_video_bitrate)]  # fmt: skip
    for rung in rungs:
        (out_dir / "hls" / rung.name).mkdir(parents=True, exist_ok=True)
    var_map = " ".join(f"v:{i},a:{i},name:{r.name}" for i, r in enumerate(rungs))
    return [
        *args, "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
        "-hls_segment_filename", str(out_dir / "hls" / "%v" / "seg_%04d.ts"),
        "-master_pl_name", master, "-var_stream_map", var_map, "-shortest",
        str(out_dir / "hls" / "%v" / "index.m3u8"),
    ]  # fmt: skip


def _ffmpeg_head(src: Path, probe: ProbeResult) -> list[str]:
    return [
        "ffmpeg", "-hide_banner", "-nostdin", "-y", "-v", "error", "-progress", "pipe:1", "-nostats",
        "-noautorotate", *input_args(src, probe.demuxer),
    ]  # fmt: skip


def storyboard_interval(duration: float) -> int:
    """Seconds between storyboard frames: every second, fewer on long clips (at most ~100 tiles)."""
    return max(STORYBOARD_MIN_INTERVAL_S, math.ceil(duration / STORYBOARD_MAX_TILES))


def poster_times(duration: float) -> list[float]:
    return [round(duration * t, 3) for t in POSTER_SAMPLE_POINTS]


def first_pass_command(src: Path, out_dir: Path, probe: ProbeResult, rung: Rung) -> list[str]:
    """The lowest HLS rung plus the stills (poster candidates and storyboard frames) in one run:
    what a clip needs to be playable, as fast as it can be made."""
    assert probe.video is not None and probe.duration is not None
    frames = out_dir / "frames"
    frames.mkdir(parents=True, exist_ok=True)
    times = poster_times(probe.duration)
    pick = "+".join(["eq(n,0)", *(f"gte(t,{t})*lt(prev_t,{t})" for t in times)])
    interval = storyboard_interval(probe.duration)
    tile = (
        f"scale={STORYBOARD_TILE_SHORT}:-2"
        if probe.video.display_width <= probe.video.display_height
        else (f"scale=-2:{STORYBOARD_TILE_SHORT}")
    )
    graph = [
        _graph_head(probe, 3),
        # a box filter for the lowest rung (a reduction of 3x from 1080p): measured, 0.6 s of the
        # first pass's 5.2 s less than bicubic on a 30 s 1080x1920 clip, which is what the
        # first playable waits for
        f"[s0]scale={rung.width}:{rung.height}:flags=area,setsar=1,format=yuv420p[v0]",
        f"[s1]select='{pick}',scale='min({POSTER_MAX_WIDTH},iw)':-2:flags=bicubic,setsar=1[poster]",
        # The first frame, then one at least `interval` seconds after the last one taken (frame
        # rate filters can drop the first or last of a stream that does not start at zero).
        f"[s2]select='isnan(prev_selected_t)+gte(t-prev_selected_t,{interval - 0.001:.3f})',"
        f"{tile}:flags=bicubic,setsar=1[board]",
        _audio_graph(probe, 1),
    ]
    return [
        *_ffmpeg_head(src, probe), "-filter_complex", ";".join(graph),
        "-map", "[poster]", "-fps_mode", "passthrough", "-c:v", "ppm", "-f", "image2",
        str(frames / "poster_%02d.ppm"),
        "-map", "[board]", "-fps_mode", "passthrough", "-c:v", "mjpeg", "-q:v", "4", "-f", "image2",
        str(frames / "board_%04d.jpg"),
        *_hls_outputs(out_dir, probe, [rung], 0, FIRST_MASTER),
    ]  # fmt: skip


def rest_pass_command(src: Path, out_dir: Path, probe: ProbeResult, rungs: list[Rung]) -> list[str]:
    """Every other rung of the ladder in one run (the source is decoded once for all of them)."""
    graph = [_graph_head(probe, len(rungs))]
    for i, rung in enumerate(rungs):
        graph.append(f"[s{i}]scale={rung.width}:{rung.height}:flags=bicubic,setsar=1,format=yuv420p[v{i}]")
    graph.append(_audio_graph(probe, len(rungs)))
    return [
        *_ffmpeg_head(src, probe), "-filter_complex", ";".join(graph),
        *_hls_outputs(out_dir, probe, rungs, 0, REST_MASTER),
    ]  # fmt: skip


def _run_with_progress(
    cmd: list[str],
    duration: float,
    on_progress: ProgressCallback | None,
    timeout_s: float,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
) -> tuple[int, str]:
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        if on_start is not None:
            on_start(proc)
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
            raise MediaRejected(RejectCode.TRANSCODE_FAILED, detail=f"ffmpeg ran past {timeout_s:.0f} s")
        err.seek(0)
        return proc.returncode, err.read().decode("utf-8", "replace")


def _parse_master(master: Path) -> list[Rendition]:
    if not master.is_file():
        raise MediaRejected(RejectCode.TRANSCODE_FAILED, detail=f"{master.name} missing")
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
        data = run_ffprobe(path, "mov", "-count_packets")
    except _ProbeFailed as exc:
        raise MediaRejected(RejectCode.CORRUPT, detail=f"encoded MP4 unreadable: {exc}")
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
        raise MediaRejected(RejectCode.CORRUPT, detail="MP4 check: " + "; ".join(problems))


def _check_run(rc: int, stderr: str, what: str) -> None:
    decode_errors = [line for line in stderr.splitlines() if _DECODE_ERROR.search(line)]
    if decode_errors:
        raise MediaRejected(RejectCode.CORRUPT, detail=f"{what}: {decode_errors[0].strip()}")
    if rc != 0:
        tail = stderr.strip().splitlines()[-1:] or ["unknown error"]
        raise MediaRejected(RejectCode.TRANSCODE_FAILED, detail=f"{what} exited {rc}: {tail[0]}")


def _check_rungs(out_dir: Path, renditions: list[Rendition], rungs: list[Rung]) -> None:
    if [r.rung for r in renditions] != [r.name for r in rungs]:
        raise MediaRejected(RejectCode.TRANSCODE_FAILED, detail="HLS master playlist incomplete")
    for r in renditions:
        playlist = out_dir / r.playlist
        segments = [ln for ln in playlist.read_text().splitlines() if ln and not ln.startswith("#")]
        if not segments or not all((playlist.parent / s).exists() for s in segments):
            raise MediaRejected(RejectCode.CORRUPT, detail=f"{r.rung}: no playable segments")
        # where a player starts: the feed hands it out so that it is fetched with the playlists
        r.first_segment = posixpath.normpath(posixpath.join(posixpath.dirname(r.playlist), segments[0]))


def master_playlist(renditions: list[Rendition]) -> str:
    """The HLS master playlist listing `renditions` (URIs relative to the master's folder)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in sorted(renditions, key=lambda r: r.bandwidth):
        lines.append(
            f'#EXT-X-STREAM-INF:BANDWIDTH={r.bandwidth},RESOLUTION={r.width}x{r.height},CODECS="{r.codecs}"'
        )
        lines.append(r.playlist.removeprefix("hls/"))
    return "\n".join(lines) + "\n"


def remux_mp4(out_dir: Path, rendition: Rendition, duration: float) -> Path:
    """The progressive MP4 is the rendition's own segments joined without re-encoding: TS segments
    of one HLS stream concatenate into one continuous stream, then move into an MP4 with its index
    first (faststart). No second encode of the same picture size."""
    playlist = out_dir / rendition.playlist
    joined = out_dir / "mp4-source.ts"
    with joined.open("wb") as sink:
        for line in playlist.read_text().splitlines():
            if line and not line.startswith("#"):
                with (playlist.parent / line).open("rb") as segment:
                    shutil.copyfileobj(segment, sink, 1024 * 1024)
    mp4 = out_dir / MP4_NAME
    cmd = [
        "ffmpeg", "-hide_banner", "-nostdin", "-y", "-v", "error", *input_args(joined, "mpegts"),
        "-map", "0:v:0", "-map", "0:a:0", "-c", "copy", "-bsf:a", "aac_adtstoasc",
        "-movflags", "+faststart", str(mp4),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, timeout=600, check=False)
    joined.unlink(missing_ok=True)
    _check_run(proc.returncode, proc.stderr.decode("utf-8", "replace"), "mp4 remux")
    _verify_mp4(mp4, duration, rendition.width, rendition.height)
    return mp4


@dataclass
class Stage:
    """What one encoding pass produced: HLS renditions (and, for the pass that holds the MP4's
    source rung, the MP4)."""

    renditions: list[Rendition]
    mp4: Path | None
    files: list[Path]


def mp4_rung(rungs: list[Rung]) -> Rung:
    """The rung the progressive MP4 is made from: the largest whose short side is <= 720."""
    fitting = [r for r in rungs if min(r.width, r.height) <= MP4_MAX_SHORT_SIDE]
    return fitting[-1] if fitting else rungs[0]


class Encoder:
    """Two passes over one upload: `first()` makes the lowest rung and the stills (the clip is then
    playable), `rest()` makes every other rung and the MP4. Both read the source with its forced
    demuxer; progress is reported 0-100 over both passes, weighted by the pixels each encodes."""

    def __init__(
        self,
        src: str | Path,
        out_dir: str | Path,
        probe: ProbeResult,
        *,
        on_progress: ProgressCallback | None = None,
        timeout_s: float = 1800,
    ) -> None:
        assert probe.video is not None and probe.duration is not None
        self.src, self.out_dir, self.probe = Path(src), Path(out_dir), probe
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.rungs = plan_ladder(probe.video.display_width, probe.video.display_height)
        self.on_progress = on_progress
        self.timeout_s = timeout_s
        self.duration = probe.duration
        decode = probe.video.display_width * probe.video.display_height * DECODE_WEIGHT
        first = decode + self.rungs[0].width * self.rungs[0].height
        rest = (decode + sum(r.width * r.height for r in self.rungs[1:])) if self.has_rest else 0
        self.first_share = first / (first + rest)
        self._started = time.monotonic()
        self._proc: subprocess.Popen[str] | None = None
        self._cancelled = False

    @property
    def has_rest(self) -> bool:
        return len(self.rungs) > 1

    def mp4_size(self) -> tuple[int, int]:
        rung = mp4_rung(self.rungs)
        return rung.width, rung.height

    def _progress(self, lo: float, hi: float) -> ProgressCallback:
        def report(pct: int) -> None:
            if self.on_progress:
                self.on_progress(int(lo + (hi - lo) * pct / 100))

        return report

    def _remaining(self) -> float:
        return max(1.0, self.timeout_s - (time.monotonic() - self._started))

    def _run(self, cmd: list[str], what: str, lo: float, hi: float, *, nice: int = 0) -> None:
        if nice and shutil.which("nice"):
            cmd = ["nice", "-n", str(nice), *cmd]
        log.info("ffmpeg", extra={"pass": what, "cmd": " ".join(cmd)})
        if self._cancelled:
            raise MediaRejected(RejectCode.TRANSCODE_FAILED, detail="cancelled")
        rc, stderr = _run_with_progress(
            cmd, self.duration, self._progress(lo, hi), self._remaining(), on_start=self._started_proc
        )
        self._proc = None
        if self._cancelled:
            raise MediaRejected(RejectCode.TRANSCODE_FAILED, detail="cancelled")
        _check_run(rc, stderr, what)

    def _started_proc(self, proc: subprocess.Popen[str]) -> None:
        self._proc = proc
        if self._cancelled:
            proc.kill()

    def cancel(self) -> None:
        """Stop the run in progress (from another thread) and refuse the next ones."""
        self._cancelled = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    def first(self) -> Stage:
        rung = self.rungs[0]
        top = 100 * self.first_share if self.has_rest else 99
        self._run(first_pass_command(self.src, self.out_dir, self.probe, rung), "first", 0, top)
        renditions = _parse_master(self.out_dir / "hls" / FIRST_MASTER)
        _check_rungs(self.out_dir, renditions, [rung])
        mp4 = (
            None
            if self.has_rest and mp4_rung(self.rungs) is not rung
            else remux_mp4(self.out_dir, renditions[0], self.duration)
        )
        if not self.has_rest and self.on_progress:
            self.on_progress(100)
        return Stage(renditions, mp4, self._files(rung_names=[rung.name], mp4=mp4))

    def rest(self, *, nice: int = 0) -> Stage:
        """The other rungs and the MP4; ``nice``: the run's niceness (a background pass yields to
        first passes)."""
        rungs = self.rungs[1:]
        if not rungs:
            return Stage([], None, [])
        command = rest_pass_command(self.src, self.out_dir, self.probe, rungs)
        self._run(command, "rest", 100 * self.first_share, 99, nice=nice)
        renditions = _parse_master(self.out_dir / "hls" / REST_MASTER)
        _check_rungs(self.out_dir, renditions, rungs)
        source = mp4_rung(self.rungs)
        mp4 = None
        if source is not self.rungs[0]:
            mp4 = remux_mp4(self.out_dir, next(r for r in renditions if r.rung == source.name), self.duration)
        if self.on_progress:
            self.on_progress(100)
        return Stage(renditions, mp4, self._files(rung_names=[r.name for r in rungs], mp4=mp4))

    def _files(self, *, rung_names: list[str], mp4: Path | None) -> list[Path]:
        files = [
            p for name in rung_names for p in sorted((self.out_dir / "hls" / name).iterdir()) if p.is_file()
        ]
        return files + ([mp4] if mp4 is not None else [])
