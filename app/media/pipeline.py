"""probe -> validate -> first pass (playable) -> rest of the ladder, on local files.

Storage is the caller's business: the clip job publishes what `first()` returns as soon as it has
it (the clip is then playable at the lowest rung) and what `rest()` returns when it is done.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from app.media.posters import ImageOutput, write_images
from app.media.probe import ProbeResult, probe
from app.media.storyboard import Storyboard, build_storyboard
from app.media.transcode import Encoder, ProgressCallback, Rendition, Stage, storyboard_interval
from app.media.validate import MediaLimits, validate

# niceness of a rest pass run in the background: the stills and publishing of the first playable
# (and other clips' first passes) come first
BACKGROUND_NICE = 10


@dataclass
class FirstPlayable:
    """The lowest rung, the stills and (for a one-rung ladder) the MP4."""

    renditions: list[Rendition]
    mp4: Path | None
    images: list[ImageOutput]
    storyboard: Storyboard
    files: list[Path]  # every file to publish, playlists last


@dataclass
class Remainder:
    renditions: list[Rendition]
    mp4: Path | None
    files: list[Path] = field(default_factory=list)


def _playlists_last(files: list[Path]) -> list[Path]:
    # Nothing may reference a segment that is not stored yet: playlists go after their segments.
    return sorted(files, key=lambda p: p.suffix in (".m3u8", ".vtt"))


class MediaJob:
    """One upload's way through the pipeline. Construction probes and validates (raising
    MediaRejected); `first()` and `rest()` encode. Every read of the source forces its demuxer."""

    def __init__(
        self,
        src: str | Path,
        out_dir: str | Path,
        limits: MediaLimits,
        *,
        on_progress: ProgressCallback | None = None,
        timeout_s: float = 1800,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.probe: ProbeResult = probe(src)
        validate(self.probe, limits)
        self.encoder = Encoder(src, self.out_dir, self.probe, on_progress=on_progress, timeout_s=timeout_s)
        self._rest_thread: threading.Thread | None = None
        self._rest_outcome: Stage | BaseException | None = None

    @property
    def duration(self) -> float:
        return self.encoder.duration

    @property
    def has_rest(self) -> bool:
        return self.encoder.has_rest

    def first(self, *, start_rest: bool = False) -> FirstPlayable:
        """The first playable stage. ``start_rest``: the rest of the ladder starts encoding, in
        the background at a lower priority, as soon as the first pass's ffmpeg ends, so it
        overlaps the stills and the caller's publishing; ``rest()`` then waits for it (and
        ``cancel()`` stops it)."""
        stage = self.encoder.first()
        if start_rest and self.has_rest:
            self._start_rest()
        frames = self.out_dir / "frames"
        images = write_images(sorted(frames.glob("poster_*.ppm")), self.out_dir / "images")
        board = build_storyboard(
            sorted(frames.glob("board_*.jpg")), storyboard_interval(self.duration), self.duration,
            self.out_dir / "storyboard",
        )  # fmt: skip
        files = stage.files + [image.path for image in images] + [board.sprite, board.vtt]
        return FirstPlayable(stage.renditions, stage.mp4, images, board, _playlists_last(files))

    def _start_rest(self) -> None:
        def work() -> None:
            try:
                self._rest_outcome = self.encoder.rest(nice=BACKGROUND_NICE)
            except BaseException as exc:  # handed to rest()
                self._rest_outcome = exc

        self._rest_thread = threading.Thread(target=work, name="media-rest-pass", daemon=True)
        self._rest_thread.start()

    def rest(self) -> Remainder:
        if self._rest_thread is None:
            stage = self.encoder.rest()
        else:
            self._rest_thread.join()
            self._rest_thread, outcome = None, self._rest_outcome
            if isinstance(outcome, BaseException):
                raise outcome
            assert outcome is not None
            stage = outcome
        return Remainder(stage.renditions, stage.mp4, _playlists_last(stage.files))

    def cancel(self) -> None:
        """Stop a rest pass running in the background (the job ends early or failed)."""
        if self._rest_thread is not None:
            self.encoder.cancel()
            self._rest_thread.join()
            self._rest_thread = None


@dataclass
class MediaOutputs:
    probe: ProbeResult
    renditions: list[Rendition]
    mp4: Path
    images: list[ImageOutput]
    storyboard: Storyboard
    output_dir: Path


def process_video(
    src: str | Path,
    out_dir: str | Path,
    limits: MediaLimits,
    *,
    on_progress: ProgressCallback | None = None,
    timeout_s: float = 1800,
) -> MediaOutputs:
    """Both passes in a row (for tools and tests): upright HLS ladder + MP4 + stills under
    `out_dir`, the master playlist at `hls/master.m3u8`. Raises MediaRejected."""
    from app.media.transcode import HLS_MASTER, master_playlist

    job = MediaJob(src, out_dir, limits, on_progress=on_progress, timeout_s=timeout_s)
    first = job.first()
    rest = job.rest()
    renditions = first.renditions + rest.renditions
    (job.out_dir / "hls" / HLS_MASTER).write_text(master_playlist(renditions))
    mp4 = first.mp4 or rest.mp4
    assert mp4 is not None
    return MediaOutputs(job.probe, renditions, mp4, first.images, first.storyboard, job.out_dir)
