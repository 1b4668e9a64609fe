"""Crafted uploads that try to make ffprobe/ffmpeg read other files or open connections.

Each one is a small file a creator could upload as "video/mp4". The worker must refuse every one
that is not a real video (`not_a_video`), read nothing but the upload itself and make no
connection; a real video with a playlist appended plays as the real video alone.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.media import MediaLimits, MediaRejected, process_video
from app.media.probe import SAFE_DEMUXERS, sniff_container
from tests.media.media_checks import ffprobe, synth_video

SECRET_MARKER = "do-not-leak-7f3a"


class Listener:
    """A loopback TCP server that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files another creator owns on the worker's disk: a private clip (3 s, unlike every upload
    below) and a text file."""
    folder = tmp_path_factory.mktemp("private")
    clip = folder / "secret.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x568:r=30:d=3", "-f", "lavfi",
         "-i", "sine=d=3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(clip)],
        check=True,
    )  # fmt: skip
    text = folder / "secret.txt"
    text.write_text(SECRET_MARKER + "\n")
    return {"clip": clip, "text": text, "dir": folder}


@pytest.fixture(scope="module")
def real_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_video(tmp_path_factory.mktemp("real") / "real.mp4", seconds=1)


def crafted(secret: dict[str, Path], port: int) -> dict[str, bytes]:
    clip, text = secret["clip"], secret["text"]
    loop = f"http://127.0.0.1:{port}"
    hls = "#EXTM3U\n#EXT-X-VERSION:4\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
    end = "#EXT-X-ENDLIST\n"
    return {
        "hls_local_file_url": (hls + f"#EXTINF:3.0,\nfile://{clip}\n" + end).encode(),
        "hls_local_absolute_path": (hls + f"#EXTINF:3.0,\n{clip}\n" + end).encode(),
        "hls_relative_path": (hls + "#EXTINF:3.0,\n../private0/secret.mp4\n" + end).encode(),
        "hls_loopback_url": (hls + f"#EXTINF:3.0,\n{loop}/segment.ts\n" + end).encode(),
        "hls_byte_range": (hls + f"#EXTINF:1.0,\n#EXT-X-BYTERANGE:4096@0\n{clip}\n" + end).encode(),
        "hls_key_on_loopback": (
            hls + f'#EXT-X-KEY:METHOD=AES-128,URI="{loop}/key.bin"\n#EXTINF:3.0,\n{clip}\n' + end
        ).encode(),
        "hls_key_from_local_file": (
            hls + f'#EXT-X-KEY:METHOD=AES-128,URI="file://{text}"\n#EXTINF:3.0,\n{clip}\n' + end
        ).encode(),
        "hls_master_to_loopback": (
            f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\n{loop}/variant.m3u8\n"
        ).encode(),
        "hls_data_url": (hls + "#EXTINF:1.0,\ndata:video/mp2t;base64,R0dHRw==\n" + end).encode(),
        "concat_list_absolute": f"ffconcat version 1.0\nfile '{clip}'\n".encode(),
        "concat_list_loopback": f"ffconcat version 1.0\nfile '{loop}/part.mp4'\n".encode(),
        "dash_manifest": (
            '<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
            'mediaPresentationDuration="PT3S"><Period><AdaptationSet mimeType="video/mp4">'
            f'<Representation id="1" bandwidth="1000"><BaseURL>{loop}/dash.mp4</BaseURL>'
            "</Representation></AdaptationSet></Period></MPD>\n"
        ).encode(),
        "srt_subtitles": b"1\n00:00:00,000 --> 00:00:01,000\nhello\n",
        "plain_text": f"file {text}\n".encode(),
        "sdp_session": f"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=video {port} RTP/AVP 96\n".encode(),
        "png_image": _png_bytes(),
    }


def _png_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


CRAFTED_NAMES = sorted(crafted({"clip": Path("/x"), "text": Path("/y"), "dir": Path("/z")}, 1))


@pytest.mark.parametrize("name", CRAFTED_NAMES)
def test_crafted_input_is_not_a_video_and_reaches_nothing(
    name: str, secrets: dict[str, Path], listener: Listener, tmp_path: Path
) -> None:
    upload = tmp_path / "source"
    upload.write_bytes(crafted(secrets, listener.port)[name])
    before = listener.connections
    with pytest.raises(MediaRejected) as refused:
        process_video(upload, tmp_path / "out", MediaLimits())
    assert refused.value.code == "not_a_video"
    # The creator sees a plain sentence: no path, no tool output.
    assert "/" not in refused.value.message and "ffmpeg" not in refused.value.message.lower()
    assert listener.connections == before, "a connection was made"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.ts"))


def test_playlist_disguised_behind_a_video_header_is_refused_without_reaching_anything(
    secrets: dict[str, Path], listener: Listener, tmp_path: Path
) -> None:
    """A file whose first box says MP4 but that is a playlist: read as MP4 only, it is damaged."""
    upload = tmp_path / "source"
    playlist = f"#EXTM3U\n#EXTINF:3.0,\nhttp://127.0.0.1:{listener.port}/x.ts\n{secrets['clip']}\n#EXT-X-ENDLIST\n"
    upload.write_bytes(b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom" + playlist.encode())
    before = listener.connections
    with pytest.raises(MediaRejected) as refused:
        process_video(upload, tmp_path / "out", MediaLimits())
    assert refused.value.code in ("corrupt", "not_a_video")
    assert listener.connections == before


def test_real_video_with_an_appended_playlist_plays_as_itself_alone(
    secrets: dict[str, Path], listener: Listener, real_video: Path, tmp_path: Path
) -> None:
    upload = tmp_path / "source"
    appended = (
        f"\n#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3.0,\nhttp://127.0.0.1:{listener.port}/x.ts\n"
        f"#EXTINF:3.0,\n{secrets['clip']}\n#EXT-X-ENDLIST\n"
        f"ffconcat version 1.0\nfile '{secrets['clip']}'\n"
    )
    upload.write_bytes(real_video.read_bytes() + appended.encode())
    before = listener.connections
    result = process_video(upload, tmp_path / "out", MediaLimits())
    assert listener.connections == before
    # The secret clip is 3 s long and 320 wide: nothing of it is in any output.
    duration = float(ffprobe(result.mp4)["format"]["duration"])
    assert abs(duration - 1.0) < 0.2, duration
    for playlist in (tmp_path / "out" / "hls").rglob("index.m3u8"):
        total = sum(float(x.split(":")[1].rstrip(",")) for x in playlist.read_text().split() if x.startswith("#EXTINF"))
        assert abs(total - 1.0) < 0.2, (playlist, total)
    produced = b"".join(p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert SECRET_MARKER.encode() not in produced
    assert str(secrets["clip"]).encode() not in produced


def test_every_ffmpeg_and_ffprobe_call_forces_the_demuxer_and_the_file_protocol(
    real_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Structural guard: any call that opens an input names its demuxer and allows only `file`."""
    commands: list[list[str]] = []
    real_run, real_popen = subprocess.run, subprocess.Popen

    def record_run(cmd, *args, **kwargs):  # type: ignore[no-untyped-def]
        commands.append(list(cmd))
        return real_run(cmd, *args, **kwargs)

    class RecordPopen(real_popen):  # type: ignore[misc,valid-type]
        def __init__(self, cmd, *args, **kwargs):  # type: ignore[no-untyped-def]
            commands.append(list(cmd))
            super().__init__(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", record_run)
    monkeypatch.setattr(subprocess, "Popen", RecordPopen)
    process_video(real_video, tmp_path / "out", MediaLimits())
    media_calls = [c for c in commands if c and c[0] in ("ffmpeg", "ffprobe")]
    assert len(media_calls) >= 4
    for cmd in media_calls:
        inputs = [i for i, arg in enumerate(cmd) if arg == "-i"]
        assert inputs, cmd
        for i in inputs:
            assert cmd[i + 1].startswith("file:/"), cmd
            head = cmd[:i]
            assert head[head.index("-f") + 1] in SAFE_DEMUXERS, cmd
            assert head[head.index("-protocol_whitelist") + 1] == "file", cmd


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x00\x00\x00\x18ftypmp42", "mov"),
        (b"\x00\x00\x00\x08free\x00\x00\x00\x10ftyp", "mov"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "matroska"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "avi"),
        (b"#EXTM3U\n", None),
        (b"ffconcat version 1.0\n", None),
        (b"<?xml version", None),
        (b"\x89PNG\r\n\x1a\n", None),
        (b"\x00\x00\x00\x03ftyp", None),  # a box too small to be real
    ],
)
def test_container_is_decided_from_the_leading_bytes(head: bytes, expected: str | None, tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(head + b"\x00" * 1000)
    assert sniff_container(path) == expected


def test_mpeg_ts_sync_bytes_are_recognised(tmp_path: Path) -> None:
    packet = b"\x47" + b"\x00" * 187
    path = tmp_path / "f.ts"
    path.write_bytes(packet * 4)
    assert sniff_container(path) == "mpegts"
    path.write_bytes(b"\x47" + b"\x00" * 400)
    assert sniff_container(path) is None
