"""The rest of the ladder encoded in the background while the first playable is published: the
same outputs as one pass after the other, at a lower priority, and stopped when the job ends
early."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from app.media import MediaJob, MediaLimits, MediaRejected, transcode
from app.media.pipeline import BACKGROUND_NICE
from tests.media.media_checks import synth_video


@pytest.fixture(scope="module")
def tall(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_video(tmp_path_factory.mktemp("rest") / "tall.mp4", "720x1280", seconds=3, rate=24)


def _names(files: list[Path], root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in files)


def test_background_rest_pass_makes_what_the_sequential_one_makes(
    tall: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []
    real = transcode._run_with_progress

    def recording(cmd: list[str], *args: Any, **kwargs: Any) -> Any:
        commands.append(cmd)
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(transcode, "_run_with_progress", recording)
    outcomes = {}
    for mode in ("sequential", "background"):
        job = MediaJob(tall, tmp_path / mode, MediaLimits())
        first = job.first(start_rest=mode == "background")
        rest = job.rest()
        outcomes[mode] = (
            [r.rung for r in first.renditions + rest.renditions],
            _names(first.files, job.out_dir),
            _names(rest.files, job.out_dir),
            rest.mp4 is not None and rest.mp4.stat().st_size > 0,
        )
    assert outcomes["background"] == outcomes["sequential"]
    assert outcomes["background"][0] == ["360p", "540p", "720p"] and outcomes["background"][3]
    # the background pass yields to first passes: it runs niced; nothing else does
    niced = [c for c in commands if c[:3] == ["nice", "-n", str(BACKGROUND_NICE)]]
    assert len(commands) == 4 and len(niced) == 1 and "name:720p" in " ".join(niced[0])


def test_a_job_that_ends_early_stops_its_background_pass(tall: Path, tmp_path: Path) -> None:
    job = MediaJob(tall, tmp_path / "out", MediaLimits())
    job.first(start_rest=True)
    thread = job._rest_thread
    assert thread is not None
    deadline = time.monotonic() + 10
    while job.encoder._proc is None and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc = job.encoder._proc
    job.cancel()
    assert not thread.is_alive()
    assert proc is None or proc.poll() is not None  # the ffmpeg process is gone
    with pytest.raises(MediaRejected):  # and nothing more is encoded for this job
        job.rest()
