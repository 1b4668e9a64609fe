"""Ingest benchmark: a 30 s 1080x1920 clip end to end, against bare ffmpeg in the same run.

Prints
- the bare full ladder: one ffmpeg run encoding every HLS rung (360/540/720/1080) of the source,
  nothing else, run directly (before and after the pipeline; the mean brackets it); and, for
  reference, the former one-run command (the same ladder plus a separately encoded MP4);
- time to first playable: upload completed -> clip `ready` (lowest rung, poster, thumbnails and
  storyboard published) (goal <= 0.25 x bare full ladder);
- the complete pipeline: upload completed -> `playback_complete` (queue pickup, ffprobe with the
  packet measure, both passes, MP4 remux and check, stills, publishing) (goal <= 1.15 x bare);
- peak RSS growth of a real uvicorn API process while a 1 GB body streams through
  PUT /v1/uploads/{id}/content (sampled from /proc; goal < 64 MB).

Usage: python -m bench.ingest_bench [--seconds 30] [--upload-mb 1000] [--skip-upload] [--skip-transcode]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def synthesise(path: Path, seconds: int) -> None:
    if path.exists():
        return
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=1080x1920:r=30:d={seconds}",
         "-f", "lavfi", "-i", f"sine=f=440:d={seconds}", "-c:v", "libx264", "-preset", "veryfast",
         "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip


def bench_transcode(source: Path, work: Path, with_one_run: bool = False) -> dict[str, float]:
    os.environ.update(
        {
            "CLIPSHOP_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "CLIPSHOP_MEDIA_ROOT": str(work / "media"),
            "CLIPSHOP_LOG_LEVEL": "WARNING",
            "CLIPSHOP_ENVIRONMENT": "test",
        }
    )
    os.environ.pop("CLIPSHOP_REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    from app import jobs
    from app.accounts.models import Role, User
    from app.cli import run_migrations
    from app.clips import service
    from app.clips.models import Clip, ClipStatus
    from app.clips.schemas import UploadCreate
    from app.db import session_scope
    from app.media.probe import probe
    from app.media.transcode import plan_ladder, rest_pass_command
    from app.registry import import_all_tasks
    from app.storage import get_storage

    run_migrations("head")
    import_all_tasks()
    jobs.start_inprocess_worker()

    # Bare baselines, run directly without the progress pipe. Run before AND after the pipeline:
    # the machine is shared, so the two bracket it.
    info = probe(source)
    assert info.video is not None
    rungs = plan_ladder(info.video.display_width, info.video.display_height)

    def run_bare(name: str, with_mp4: bool = False) -> float:
        bare_dir = work / name
        bare_dir.mkdir()
        cmd = [a for a in rest_pass_command(source, bare_dir, info, rungs) if a not in ("-progress", "pipe:1")]
        if with_mp4:
            cmd = one_run_with_mp4(cmd, bare_dir, info, len(rungs))
        started = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        shutil.rmtree(bare_dir, ignore_errors=True)
        return elapsed

    bare_before = run_bare("bare1")
    one_run_before = run_bare("onerun1", with_mp4=True) if with_one_run else 0.0

    with session_scope() as session:
        user = User(email=f"bench-{uuid.uuid4().hex[:6]}@example.com", role=Role.creator, is_guest=False)
        session.add(user)
        session.flush()
        upload, _ = service.create_upload(
            session, user, UploadCreate(size=source.stat().st_size, content_type="video/mp4")
        )
        get_storage().put_file(upload.storage_key, source, "video/mp4")
        upload_id, user_id, clip_id = upload.id, user.id, upload.clip_id
    with session_scope() as session:
        owner = session.get(User, user_id)
        assert owner is not None
        started = time.perf_counter()
        service.complete_upload(session, owner, upload_id)
    # complete -> the in-process worker picks the job up -> ready (first playable) -> complete
    first_playable = None
    while True:
        with session_scope() as session:
            clip = session.get(Clip, clip_id)
            assert clip is not None
            if clip.status is ClipStatus.ready and first_playable is None:
                first_playable = time.perf_counter() - started
            assert clip.status is not ClipStatus.failed, clip.failure_message
            if clip.status is ClipStatus.ready and clip.playback_complete:
                break
        time.sleep(0.05)
    pipeline = time.perf_counter() - started
    jobs.stop_inprocess_worker()
    bare_after = run_bare("bare2")
    one_run_after = run_bare("onerun2", with_mp4=True) if with_one_run else 0.0
    return {
        "bare_s": (bare_before + bare_after) / 2,
        "bare_before_s": bare_before,
        "bare_after_s": bare_after,
        "one_run_s": (one_run_before + one_run_after) / 2,
        "pipeline_s": pipeline,
        "first_playable_s": first_playable or pipeline,
    }


def one_run_with_mp4(ladder_cmd: list[str], out_dir: Path, info: object, rungs: int) -> list[str]:
    """The former single run: the ladder's command with one more split branch encoding a 720p MP4
    (what the pipeline did before the MP4 became a remux of the 720p rung)."""
    from app.media.transcode import MP4_MAX_SHORT_SIDE, _scaled, x264_args

    graph_at = ladder_cmd.index("-filter_complex") + 1
    graph = ladder_cmd[graph_at].split(";")
    # one more branch of the split video and of the split audio
    graph[0] = graph[0].replace(f"split={rungs}", f"split={rungs + 1}") + f"[s{rungs}]"
    graph[-1] = graph[-1].replace(f"asplit={rungs}", f"asplit={rungs + 1}") + f"[a{rungs}]"
    top = next(g for g in graph if g.startswith(f"[s{rungs - 1}]scale="))
    w, h = (int(v) for v in top.split("scale=")[1].split(":")[:2])
    mp4_w, mp4_h = _scaled(w, h, min(MP4_MAX_SHORT_SIDE, min(w, h)))
    graph.insert(-1, f"[s{rungs}]scale={mp4_w}:{mp4_h}:flags=bicubic,setsar=1,format=yuv420p[v{rungs}]")
    cmd = list(ladder_cmd)
    cmd[graph_at] = ";".join(graph)
    mp4 = ["-map", f"[v{rungs}]", "-map", f"[a{rungs}]", *x264_args(info),  # type: ignore[arg-type]
           "-movflags", "+faststart", "-shortest", str(out_dir / "video.mp4")]  # fmt: skip
    at = cmd.index("-filter_complex") + 2
    return cmd[:at] + mp4 + cmd[at:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def bench_upload(work: Path, size_mb: int) -> dict[str, float]:
    import httpx

    port = _free_port()
    env = {
        **os.environ,
        "CLIPSHOP_DATABASE_URL": f"sqlite:///{work / 'upload.db'}",
        "CLIPSHOP_MEDIA_ROOT": str(work / "upload-media"),
        "CLIPSHOP_LOG_LEVEL": "WARNING",
        "CLIPSHOP_ENVIRONMENT": "development",
        "CLIPSHOP_SECRET_KEY": "bench-secret-key-long-enough-0123456789abcdef",
        "CLIPSHOP_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "CLIPSHOP_MAX_UPLOAD_BYTES": str(size_mb * 1_000_000 + 1),
    }
    env.pop("CLIPSHOP_REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        signup = httpx.post(
            f"{base}/v1/auth/signup",
            json={"email": f"b{uuid.uuid4().hex[:6]}@example.com", "password": "password-123", "role": "creator",
                  "handle": f"bench_{uuid.uuid4().hex[:6]}"},
        )  # fmt: skip
        signup.raise_for_status()
        headers = {"Authorization": f"Bearer {signup.json()['access_token']}"}
        size = size_mb * 1_000_000
        upload = httpx.post(
            f"{base}/v1/uploads", json={"size": size, "content_type": "video/mp4"}, headers=headers
        )
        upload.raise_for_status()
        url = upload.json()["content_url"]
        time.sleep(0.5)
        baseline = _rss_kb(server.pid)
        peak = {"kb": baseline}
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak["kb"] = max(peak["kb"], _rss_kb(server.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        chunk = os.urandom(1024 * 1024)

        def body():  # type: ignore[no-untyped-def]
            sent = 0
            while sent < size:
                piece = chunk[: min(len(chunk), size - sent)]
                sent += len(piece)
                yield piece

        started = time.perf_counter()
        response = httpx.put(
            url, content=body(), headers={**headers, "Content-Type": "video/mp4", "Content-Length": str(size)},
            timeout=600,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        assert response.status_code == 204, response.text
        return {
            "upload_mb": size / 1e6,
            "upload_s": elapsed,
            "rss_baseline_mb": baseline / 1024,
            "rss_peak_mb": peak["kb"] / 1024,
            "rss_growth_mb": (peak["kb"] - baseline) / 1024,
        }
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--upload-mb", type=int, default=1000)
    parser.add_argument("--skip-upload", action="store_true")
    parser.add_argument("--skip-transcode", action="store_true")
    parser.add_argument("--with-one-run", action="store_true", help="also time the former one-run command")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ingest-bench-", dir=OUT))
    try:
        if not args.skip_transcode:
            source = OUT / f"source_1080x1920_{args.seconds}s.mp4"
            synthesise(source, args.seconds)
            r = bench_transcode(source, work, args.with_one_run)
            print(f"source: {source.name} ({source.stat().st_size / 1e6:.1f} MB, {args.seconds} s 1080x1920)")
            print(
                f"bare full ladder (one run):      {r['bare_s']:.2f} s "
                f"(mean of {r['bare_before_s']:.2f} before and {r['bare_after_s']:.2f} after)"
            )
            if args.with_one_run:
                print(f"former one run (ladder + MP4):  {r['one_run_s']:.2f} s (mean of before and after)")
            print(f"time to first playable:         {r['first_playable_s']:.2f} s")
            print(
                f"ratio first playable / bare:    {r['first_playable_s'] / r['bare_s']:.3f}  (goal <= 0.25)"
            )
            print(f"complete pipeline:              {r['pipeline_s']:.2f} s")
            print(f"ratio complete / bare:          {r['pipeline_s'] / r['bare_s']:.3f}  (goal <= 1.15)")
        if not args.skip_upload:
            u = bench_upload(work, args.upload_mb)
            print(
                f"PUT .../content {u['upload_mb']:.0f} MB in {u['upload_s']:.1f} s "
                f"({u['upload_mb'] / u['upload_s']:.0f} MB/s)"
            )
            print(
                f"API RSS: baseline {u['rss_baseline_mb']:.1f} MB, peak {u['rss_peak_mb']:.1f} MB, "
                f"growth {u['rss_growth_mb']:.1f} MB  (goal < 64 MB)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
