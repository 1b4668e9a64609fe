"""Every real file in ../shared/data/video either becomes upright playable outputs or fails with the right code."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.media import MediaLimits, MediaRejected, process_video
from tests.media.media_checks import (
    DATA_DIR,
    assert_playable_mp4,
    assert_valid_hls,
    ffprobe,
    stream,
)

pytestmark = pytest.mark.skipif(
    not DATA_DIR.is_dir(), reason="../shared/data/video (real test media) is absent"
)

# file -> (expected failure code) or (mp4 width, mp4 height, HLS rungs)
EXPECTED: dict[str, str | tuple[int, int, list[str]]] = {
    "corrupt/broken-wav.wav": "not_a_video",
    "corrupt/invalid-bitstream.webm": "corrupt",
    "corrupt/sample_malformed_free_box.mp4": "corrupt",
    "mp4/sample_audio_only.mp4": "no_video_stream",
    "mp4/bbb_176x144_192kbps_15fps_mpeg4.mp4": (176, 144, ["144p"]),
    "mp4/h265_bframes.mp4": (640, 360, ["360p"]),
    "mp4/pixel7_videoOnly_cleaned.mp4": (1280, 720, ["360p", "540p", "720p", "1080p"]),
    "mp4/sample.mp4": (1080, 720, ["360p", "540p", "720p"]),
    "mp4/sample_av1.mp4": (1080, 720, ["360p", "540p", "720p"]),
    "mp4/sample_portrait.mp4": (720, 1080, ["360p", "540p", "720p"]),
    "mp4/sample_rotate_and_reflect.mp4": (720, 1080, ["360p", "540p", "720p"]),
    "mp4/sample_video_only.mp4": (1080, 720, ["360p", "540p", "720p"]),
    "other/sample.mkv": (1080, 720, ["360p", "540p", "720p"]),
    "other/sample_h264.ts": (640, 360, ["360p"]),
    "webm/bbb_642x642_768kbps_30fps_vp9.webm": (540, 540, ["360p", "540p"]),
    "webm/bear-vp9.webm": (320, 240, ["240p"]),
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Process every file once; assertions below reuse the results."""
    results: dict[str, object] = {}
    for name in sorted(EXPECTED):
        out = tmp_path_factory.mktemp(name.replace("/", "_"))
        progress: list[int] = []
        try:
            result = process_video(DATA_DIR / name, out, MediaLimits(), on_progress=progress.append)
            results[name] = (result, progress)
        except MediaRejected as exc:
            results[name] = exc
    return results


def test_every_shared_file_is_covered() -> None:
    on_disk = {
        str(p.relative_to(DATA_DIR)) for p in DATA_DIR.rglob("*") if p.is_file() and "README" not in p.name
    }
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_file_is_ready_and_playable_or_refused_with_code(name: str, outputs: dict[str, object]) -> None:
    expected, got = EXPECTED[name], outputs[name]
    if isinstance(expected, str):
        assert isinstance(got, MediaRejected), f"{name} should fail with {expected}"
        assert got.code == expected and got.message
        return
    assert not isinstance(got, MediaRejected), f"{name} refused: {got!r}"
    result, progress = got  # type: ignore[misc]
    width, height, rungs = expected
    duration = result.probe.duration
    assert_playable_mp4(result.mp4, width, height, duration)
    out: Path = result.output_dir
    assert_valid_hls(lambda key: (out / key).read_bytes(), "hls/master.m3u8", rungs, portrait=height > width)
    # First segment of the top rung is itself playable, upright-sized H.264 + AAC.
    top = rungs[-1]
    seg = ffprobe(out / "hls" / top / "seg_0000.ts")
    seg_video = stream(seg, "video")
    assert seg_video["codec_name"] == "h264" and stream(seg, "audio")["codec_name"] == "aac"
    assert (seg_video["width"] > seg_video["height"]) == (width > height)
    # Progress went up to 100, never backwards.
    assert progress and progress[-1] == 100 and progress == sorted(progress)
    # Poster and thumbnails in both formats, same orientation as the video.
    kinds = {(img.kind, img.format) for img in result.images}
    assert kinds == {("poster", "jpeg"), ("poster", "webp"), ("thumbnail", "jpeg"), ("thumbnail", "webp")}
    for img in result.images:
        with Image.open(img.path) as im:
            assert im.size == (img.width, img.height)
            assert (im.width > im.height) == (width > height) or width == height


def _frame(path: Path, at: float = 0.5) -> np.ndarray:
    proc = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", str(at), "-i", str(path), "-frames:v", "1", "-f", "image2pipe",
         "-vcodec", "png", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    with Image.open(io.BytesIO(proc.stdout)) as image:
        return np.asarray(image.convert("L"), dtype=np.float32)


def test_rotate_and_reflect_comes_out_upright_and_unmirrored(outputs: dict[str, object]) -> None:
    """sample_rotate_and_reflect.mp4 is sample.mp4 with a transpose display matrix (rotate 90 + mirror).

    Shown as its matrix says, the picture is the transpose of sample.mp4's picture; a plain 90 degree
    rotation (ignoring the mirror) would be that picture flipped left-right.
    """
    reflected, _ = outputs["mp4/sample_rotate_and_reflect.mp4"]  # type: ignore[misc]
    plain, _ = outputs["mp4/sample.mp4"]  # type: ignore[misc]
    got = _frame(reflected.mp4)
    reference = _frame(plain.mp4).T  # 1080x720 landscape -> transposed 720x1080 portrait
    assert got.shape == reference.shape == (1080, 720)
    mirrored = reference[:, ::-1]
    err_upright = float(np.abs(got - reference).mean())
    err_mirrored = float(np.abs(got - mirrored).mean())
    assert err_upright < 8, err_upright
    assert err_mirrored > 2 * err_upright


def _small(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(
        Image.fromarray(pixels.astype(np.uint8)).resize(size, Image.Resampling.BOX), dtype=np.float64
    )


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def _stretched_frame(path: Path, *pre: str) -> np.ndarray:
    """A 32x18 grey frame at 0.5 s with contrast stretched (the Pixel 7 capture is almost black)."""
    proc = subprocess.run(
        ["ffmpeg", "-v", "error", *pre, "-ss", "0.5", "-i", str(path), "-frames:v", "1",
         "-vf", "scale=320:180,normalize=smoothing=0,format=gray", "-f", "rawvideo", "-"],
        capture_output=True, check=True,
    )  # fmt: skip
    image = Image.fromarray(np.frombuffer(proc.stdout, dtype=np.uint8).reshape(180, 320))
    return np.asarray(image.resize((32, 18), Image.Resampling.BOX), dtype=np.float64)


def test_rotated_phone_capture_matches_decoder_autorotation(outputs: dict[str, object]) -> None:
    """The Pixel 7 file is rotated 180 degrees; our output must match what a player shows."""
    result, _ = outputs["mp4/pixel7_videoOnly_cleaned.mp4"]  # type: ignore[misc]
    # ffmpeg's own autorotate handles a pure 180 degree rotation correctly: it is the reference.
    reference = _stretched_frame(DATA_DIR / "mp4/pixel7_videoOnly_cleaned.mp4")
    got = _stretched_frame(result.mp4)

    def corr(other: np.ndarray) -> float:
        return float(np.corrcoef(got.ravel(), other.ravel())[0, 1])

    upright = corr(reference)
    wrong = [corr(reference[::-1, ::-1]), corr(reference[:, ::-1]), corr(reference[::-1])]
    assert upright > 0.9 and upright > max(wrong) + 0.01, (upright, wrong)


def test_silent_audio_added_when_source_has_none(outputs: dict[str, object]) -> None:
    result, _ = outputs["mp4/sample_video_only.mp4"]  # type: ignore[misc]
    assert not result.probe.has_audio
    audio = stream(ffprobe(result.mp4), "audio")
    assert audio["codec_name"] == "aac" and audio["channels"] == 2


def test_vfr_source_becomes_constant_frame_rate(outputs: dict[str, object]) -> None:
    result, _ = outputs["mp4/pixel7_videoOnly_cleaned.mp4"]  # type: ignore[misc]
    video = stream(ffprobe(result.mp4), "video")
    assert video["r_frame_rate"] == video["avg_frame_rate"] == "30/1"
