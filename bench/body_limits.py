"""Limits before reading: an unauthenticated huge body costs the API no memory and no disk.

Starts the API (uvicorn, one process, a throwaway SQLite database, its own TMPDIR and media
folder), then sends a body of ``--gigabytes`` (default 1) with no token to every route that takes
large bodies, once with a declared ``Content-Length`` and once chunked, as fast as the socket
allows until the server answers or closes. Samples the server's RSS every 20 ms and measures its
temporary folder and media folder before and after. The baseline is the same server answering
small requests in the same run.

    .venv/bin/python bench/body_limits.py [--gigabytes 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHUNK = b"x" * (1 << 20)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


class Sampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self.peak = rss_mb(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def send(port: int, method: str, path: str, total: int, chunked: bool) -> tuple[str, int, float]:
    """Streams ``total`` bytes (or until the server answers); returns (status line, bytes sent, s)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(30)
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{length}\r\n"
        "Content-Type: multipart/form-data; boundary=bench\r\n\r\n"
    )
    started = time.perf_counter()
    sock.sendall(head.encode())
    sent = 0
    sock.setblocking(False)
    answer = b""
    try:
        while sent < total:
            try:
                answer += sock.recv(65536)
                if answer:
                    break
            except BlockingIOError:
                pass
            piece = CHUNK if not chunked else b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n"
            try:
                sock.sendall(piece)  # non-blocking socket: sendall raises when the buffer is full
            except BlockingIOError:
                time.sleep(0.001)
                continue
            sent += len(CHUNK)
    except (BrokenPipeError, ConnectionResetError):
        pass
    sock.setblocking(True)
    try:
        while b"\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except (OSError, TimeoutError):
        pass
    sock.close()
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace") or "(closed)"
    return status, sent, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gigabytes", type=float, default=1.0)
    args = parser.parse_args()
    total = int(args.gigabytes * 1024**3)

    root = Path(tempfile.mkdtemp(prefix="clipshop-bench-limits-"))
    tmpdir, media = root / "tmp", root / "media"
    tmpdir.mkdir()
    port = 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPSHOP_")}
    env.update(
        {
            "TMPDIR": str(tmpdir),
            "CLIPSHOP_DATABASE_URL": f"sqlite:///{root / 'bench.db'}",
            "CLIPSHOP_MEDIA_ROOT": str(media),
            "CLIPSHOP_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
            "CLIPSHOP_LOG_LEVEL": "WARNING",
        }
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=PROJECT_ROOT, env=env, start_new_session=True, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                print("the server did not start", file=sys.stderr)
                return 1
            time.sleep(0.3)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(200):  # warm up
                client.get("/healthz")
                client.get("/v1/interests")
            with Sampler(server.pid) as baseline:
                for _ in range(200):
                    client.get("/v1/interests")
        base_rss = rss_mb(server.pid)
        disk_before = folder_bytes(tmpdir) + folder_bytes(media)
        some = uuid.uuid4()
        routes = [
            ("PUT", f"/v1/uploads/{some}/content"),
            ("POST", f"/v1/uploads/{some}/complete"),
            ("PUT", "/v1/me/avatar"),
            ("POST", f"/v1/merchant/catalog/products/{some}/images"),
            ("POST", "/v1/merchant/catalog/imports"),
            ("POST", "/v1/merchant/products"),  # an ordinary route: the 1 MiB limit
        ]
        print(f"baseline: RSS {base_rss:.0f} MB; 200 small requests peaked at {baseline.peak:.0f} MB")
        print(f"{'route':<52} {'body':<8} {'answer':<28} {'sent MB':>8} {'s':>6} {'RSS +MB':>8} {'disk +B':>8}")
        worst = 0.0
        for method, path in routes:
            for chunked in (False, True):
                before = rss_mb(server.pid)
                with Sampler(server.pid) as sample:
                    status, sent, seconds = send(port, method, path, total, chunked)
                grown = sample.peak - before
                worst = max(worst, sample.peak - base_rss)
                disk = folder_bytes(tmpdir) + folder_bytes(media) - disk_before
                print(
                    f"{method + ' ' + path[:45]:<52} {'chunked' if chunked else 'length':<8} {status[9:37]:<28} "
                    f"{sent / 2**20:>8.0f} {seconds:>6.2f} {grown:>8.1f} {disk:>8}"
                )
        print(f"largest RSS growth over the baseline: {worst:.1f} MB (goal < 64 MB); "
              f"temporary and media folders: +{folder_bytes(tmpdir) + folder_bytes(media) - disk_before} bytes")  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
