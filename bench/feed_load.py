"""Feed load benchmark: a real uvicorn server (1 worker), a seeded database, concurrent clients.

    python -m bench.feed_load                       # temporary SQLite
    python -m bench.feed_load --database-url postgresql+psycopg://postgres@127.0.0.1:5432/feedbench
    python -m bench.feed_load --database-url sqlite:///feed.db --reuse --only feed   # iterate

Seeds (bulk inserts, not HTTP) 100,000 ready clips, 10,000 viewers and 1,000,000 events, starts
``uvicorn app.main:app`` with one worker, waits for the feed engine to rebuild from the database,
then drives it with ``wrk`` (``--concurrency`` threads of one connection each, so every thread is
one client with its own viewer and cursor; the Lua script is embedded below):

* ``GET /healthz`` (trivial async endpoint of the same server) for ``--seconds``;
* ``GET /v1/feed``: each client is one signed-in device: it opens a session, swipes ``--pages``
  pages of 10 with the cursor (a session holds 100 clips), then opens a new session as the same
  viewer; one session in ``--switch`` is opened as another viewer chosen at random (a device
  changing hands, a new sign-in), so the token cache sees new viewers too;
* ``POST /v1/events`` with batches of 100 events (fresh event ids, the viewer's clips).

Prints p50/p99 latency and requests/s for each, the feed ÷ trivial ratio (goal >= 0.5, p99 <= 50
ms) and events ingested per second (goal >= 20,000/s).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-that-is-long-enough-0123456789"


def _env(url: str) -> dict[str, str]:
    return {
        "CLIPSHOP_DATABASE_URL": url,
        "CLIPSHOP_SECRET_KEY": SECRET,
        "CLIPSHOP_AUTO_MIGRATE": "false",
        "CLIPSHOP_LOG_LEVEL": "WARNING",
        "CLIPSHOP_ENVIRONMENT": "development",
    }


def seed(url: str, n_clips: int, n_viewers: int, n_events: int, n_tokens: int) -> list[str]:
    """Bulk-load the database; returns access tokens of ``n_tokens`` viewers."""
    os.environ.update(_env(url))
    from sqlalchemy import insert, select, text

    from app.accounts.models import AuthSession, CreatorProfile, Role, User
    from app.accounts.security import create_access_token
    from app.cli import run_migrations
    from app.clips.models import Clip, ClipInterest, ClipStatus, Visibility
    from app.db import get_engine, utcnow
    from app.feed.events import EventType
    from app.feed.models import FeedEvent
    from app.interests.models import Interest

    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    run_migrations("head", url=url)
    engine = get_engine()
    now = utcnow()
    n_creators = max(1, n_clips // 50)
    creator_ids = [uuid.uuid4() for _ in range(n_creators)]
    viewer_ids = [uuid.uuid4() for _ in range(n_viewers)]
    clip_ids = [uuid.uuid4() for _ in range(n_clips)]

    def chunks(rows: list[dict[str, Any]], size: int = 20_000) -> Any:
        for i in range(0, len(rows), size):
            yield rows[i : i + size]

    with engine.begin() as conn:
        leaf = [i for i, p in conn.execute(select(Interest.id, Interest.parent_id)) if p is not None]
        users = [
            {
                "id": u,
                "role": Role.creator,
                "is_guest": False,
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
            for u in creator_ids
        ] + [
            {
                "id": u,
                "role": Role.viewer,
                "is_guest": False,
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
            for u in viewer_ids
        ]
        for part in chunks(users):
            conn.execute(insert(User), part)
        conn.execute(
            insert(CreatorProfile),
            [
                {
                    "user_id": u,
                    "handle": f"creator{i}",
                    "display_name": f"Creator {i}",
                    "created_at": now,
                    "updated_at": now,
                }
                for i, u in enumerate(creator_ids)
            ],
        )
        clip_creator = rng.integers(0, n_creators, n_clips)
        clip_interest = rng.choice(np.asarray(leaf), n_clips)
        age = rng.uniform(0, 30 * 86400, n_clips)
        clips = [
            {
                "id": c,
                "creator_id": creator_ids[int(clip_creator[i])],
                "status": ClipStatus.ready,
                "visibility": Visibility.public,
                "caption": f"clip {i}",
                "duration_ms": 15_000,
                "poster_key": f"clips/{c}/poster.jpg",
                "hls_master_key": f"clips/{c}/hls/master.m3u8",
                "mp4_key": f"clips/{c}/clip.mp4",
                "storage_prefix": f"clips/{c}",
                "processing_progress": 100,
                "processing_attempts": 1,
                "created_at": now - timedelta(seconds=float(age[i])),
                "updated_at": now - timedelta(seconds=float(age[i])),
            }
            for i, c in enumerate(clip_ids)
        ]
        for part in chunks(clips):
            conn.execute(insert(Clip), part)
        for part in chunks(
            [{"clip_id": c, "interest_id": int(clip_interest[i])} for i, c in enumerate(clip_ids)]
        ):
            conn.execute(insert(ClipInterest), part)
        print(
            f"seeded {n_creators} creators, {n_viewers} viewers, {n_clips} clips in {time.perf_counter() - t0:.0f}s",
            flush=True,
        )

        # events: each viewer watches clips of two or three interests, mostly
        by_interest: dict[int, np.ndarray] = {i: np.flatnonzero(clip_interest == i) for i in leaf}
        kinds = [
            EventType.impression,
            EventType.view_progress,
            EventType.complete,
            EventType.like,
            EventType.skip,
            EventType.share,
        ]
        probs = np.array([0.45, 0.15, 0.15, 0.06, 0.18, 0.01])
        per_viewer = n_events // n_viewers
        t1 = time.perf_counter()
        batch: list[dict[str, Any]] = []
        start = now - timedelta(days=7)
        for v, viewer in enumerate(viewer_ids):
            favourites = rng.choice(np.asarray(leaf), 3, replace=False)
            pool = np.concatenate([by_interest[int(f)] for f in favourites])
            picks = np.where(
                rng.random(per_viewer) < 0.8,
                pool[rng.integers(0, max(1, pool.size), per_viewer)]
                if pool.size
                else rng.integers(0, n_clips, per_viewer),
                rng.integers(0, n_clips, per_viewer),
            )
            types = rng.choice(len(kinds), per_viewer, p=probs)
            times = np.sort(rng.uniform(0, 7 * 86400, per_viewer))
            for k in range(per_viewer):
                kind = kinds[int(types[k])]
                batch.append(
                    {
                        "user_id": viewer,
                        "event_id": uuid.UUID(int=random.getrandbits(128)),
                        "type": kind.value,
                        "clip_id": clip_ids[int(picks[k])],
                        "creator_id": None,
                        "watch_ms": None,
                        "progress": 0.6 if kind is EventType.view_progress else None,
                        "client_at": start + timedelta(seconds=float(times[k])),
                        "received_at": now,
                        "aggregated": True,
                    }
                )
            if len(batch) >= 50_000 or v == n_viewers - 1:
                conn.execute(insert(FeedEvent), batch)
                batch = []
        conn.execute(
            text(
                "INSERT INTO clip_stat (clip_id, impressions, views, completes, replays, skips, likes, shares, "
                "product_taps, add_to_carts, purchases, watch_ms, updated_at) "
                "SELECT clip_id, "
                + ", ".join(
                    f"SUM(CASE WHEN type = '{t}' THEN 1 ELSE 0 END)"
                    for t in (
                        "impression",
                        "view_progress",
                        "complete",
                        "replay",
                        "skip",
                        "like",
                        "share",
                        "product_tap",
                        "add_to_cart",
                        "purchase",
                    )
                )
                + ", 0, :now FROM feed_event GROUP BY clip_id"
            ),
            {"now": now},
        )
        print(f"seeded {per_viewer * n_viewers} events in {time.perf_counter() - t1:.0f}s", flush=True)
        tokens = []
        for viewer in viewer_ids[:n_tokens]:
            sid = uuid.uuid4()
            conn.execute(insert(AuthSession).values(id=sid, user_id=viewer, created_at=now))
            tokens.append(create_access_token(viewer, "viewer", sid)[0])
    engine.dispose()
    return tokens


def existing_tokens(url: str, n_tokens: int) -> list[str] | None:
    """Tokens for the viewers of a database seeded by an earlier run (``None``: not seeded)."""
    os.environ.update(_env(url))
    from sqlalchemy import func, inspect, select

    from app.accounts.models import AuthSession
    from app.accounts.security import create_access_token
    from app.cli import run_migrations
    from app.clips.models import Clip
    from app.db import get_engine

    engine = get_engine()
    if not inspect(engine).has_table("clip"):
        return None
    run_migrations("head", url=url)  # a database seeded by an older version of the code
    with engine.connect() as conn:
        if not conn.scalar(select(func.count()).select_from(Clip)):
            return None
        rows = conn.execute(select(AuthSession.id, AuthSession.user_id).limit(n_tokens)).all()
    engine.dispose()
    return [create_access_token(user_id, "viewer", sid)[0] for sid, user_id in rows]


def start_moto() -> tuple[Any, str]:
    """A moto S3 server on loopback (the bucket is private: unsigned reads are refused)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


WRK_SCRIPT = r"""
-- One connection per wrk thread, so each thread is one client with its own viewer and cursor.
local threads = {}
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local tokens, clips = {}, {}
local token, cursor, pages = nil, nil, 0
accepted = 0  -- global: done() reads it from every thread
local mode, maxpages, switch

local function lines(path, into)
  local f = assert(io.open(path))
  for line in f:lines() do table.insert(into, line) end
  f:close()
end

function init(args)
  mode, maxpages, switch = args[1], tonumber(args[2]), tonumber(args[5])
  lines(args[3], tokens)
  lines(args[4], clips)
  -- seeded by the clock too: a rerun on a reused database must not resend the same event ids
  math.randomseed(id * 7919 + os.time())
  token = tokens[math.random(#tokens)]
end

local function uuid4()
  return string.format("%08x-%04x-4%03x-%04x-%04x%08x", math.random(0, 0x7fffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), math.random(0x8000, 0xbfff), math.random(0, 0xffff), math.random(0, 0x7fffffff))
end

local kinds = {"impression", "complete", "like", "skip"}

function request()
  local headers = {["Authorization"] = "Bearer " .. token}
  if mode == "trivial" then
    return wrk.format("GET", "/healthz", headers)
  elseif mode == "events" then
    local at = os.date("!%Y-%m-%dT%H:%M:%SZ")
    local parts = {}
    for i = 1, 100 do
      parts[i] = string.format('{"event_id":"%s","type":"%s","clip_id":"%s","at":"%s"}',
        uuid4(), kinds[math.random(#kinds)], clips[math.random(#clips)], at)
    end
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/v1/events", headers, '{"events":[' .. table.concat(parts, ",") .. ']}')
  end
  if cursor == nil or pages >= maxpages then
    -- a new session of the same signed-in viewer (one client = one device); now and then
    -- (one session in ``switch``) the device is handed to another viewer
    cursor, pages = nil, 0
    if math.random(switch) == 1 then
      token = tokens[math.random(#tokens)]
      headers["Authorization"] = "Bearer " .. token
    end
    return wrk.format("GET", "/v1/feed?limit=10", headers)
  end
  return wrk.format("GET", "/v1/feed?limit=10&cursor=" .. cursor, headers)
end

function response(status, headers, body)
  if mode == "events" then
    local n = body:match('"accepted":(%d+)')
    if n then accepted = accepted + tonumber(n) end
  elseif mode == "feed" then
    if status == 200 then
      cursor = body:match('"next_cursor":"([^"]+)"')
      pages = pages + 1
    else
      cursor = nil
    end
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("accepted") or 0) end
  io.write(string.format("RESULT requests=%d seconds=%.3f p50=%.3f p99=%.3f errors=%d accepted=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, total))
end
"""


def drive(
    base: str,
    mode: str,
    seconds: float,
    concurrency: int,
    pages: int,
    tokens_file: Path,
    clips_file: Path,
    script: Path,
    switch: int,
) -> dict[str, float]:
    """wrk with one connection per thread; ``mode`` is trivial, feed or events."""
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(concurrency),
            "-c",
            str(concurrency),
            "-d",
            f"{max(1, int(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
            "--",
            mode,
            str(pages),
            str(tokens_file),
            str(clips_file),
            str(switch),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    fields = {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    return {
        "rps": fields["requests"] / fields["seconds"],
        "p50": fields["p50"],
        "p99": fields["p99"],
        "errors": fields["errors"],
        "events_per_s": fields["accepted"] / fields["seconds"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Feed load benchmark (real uvicorn server, seeded database)")
    p.add_argument("--database-url", help="default: a temporary SQLite file")
    p.add_argument("--clips", type=int, default=100_000)
    p.add_argument("--viewers", type=int, default=10_000)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--pages", type=int, default=10, help="pages swiped per feed session")
    p.add_argument("--tokens", type=int, default=2000, help="viewers the clients sign in as")
    p.add_argument(
        "--switch",
        type=int,
        default=10,
        help="a client signs in as another viewer once in this many sessions",
    )
    p.add_argument(
        "--only",
        action="append",
        choices=["feed", "events"],
        help="run only these phases (repeatable; the trivial endpoint always runs, for the ratio)",
    )
    p.add_argument(
        "--s3",
        action="store_true",
        help="production storage: the server uses S3 (a moto server on loopback, private bucket)",
    )
    p.add_argument(
        "--reuse",
        action="store_true",
        help="when --database-url already holds a seeded database, use it as it is (no seeding)",
    )
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="clipshop-feed-load-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    phases = set(args.only or ["feed", "events"])
    server = None
    try:
        tokens = existing_tokens(url, args.tokens) if args.reuse else None
        if tokens is None:
            tokens = seed(url, args.clips, args.viewers, args.events, min(args.tokens, args.viewers))
        else:
            print(f"reusing the seeded database ({len(tokens)} viewers' tokens)", flush=True)
        from sqlalchemy import create_engine, text

        eng = create_engine(url)
        with eng.connect() as conn:
            clip_ids = [str(r[0]) for r in conn.execute(text("SELECT id FROM clip LIMIT 5000"))]
        eng.dispose()
        clip_ids = [str(uuid.UUID(c)) for c in clip_ids]
        port = free_port()
        env = {**os.environ, **_env(url), "CLIPSHOP_MEDIA_ROOT": str(tmp / "media")}
        if args.s3:
            moto = start_moto()
            env.update(
                {
                    "CLIPSHOP_STORAGE_BACKEND": "s3",
                    "CLIPSHOP_S3_ENDPOINT_URL": moto[1],
                    "CLIPSHOP_S3_BUCKET": "feed-bench",
                    "CLIPSHOP_S3_CREATE_BUCKET": "true",
                    "CLIPSHOP_S3_ACCESS_KEY_ID": "bench",
                    "CLIPSHOP_S3_SECRET_ACCESS_KEY": "bench",
                    "CLIPSHOP_S3_ADDRESSING_STYLE": "path",
                }
            )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=PROJECT_ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        import httpx

        t = time.perf_counter()
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        r = httpx.get(f"{base}/v1/feed", headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=600)
        assert r.status_code == 200, r.text
        print(
            f"server up; feed engine rebuilt from the database in {time.perf_counter() - t:.1f}s", flush=True
        )
        first = r.json()["items"][0]["clip"]
        print(f"storage {'s3' if args.s3 else 'local'}; a feed HLS URL: {first['playback']['hls_url']}")
        tokens_file, clips_file, script = tmp / "tokens.txt", tmp / "clips.txt", tmp / "feed.lua"
        tokens_file.write_text("\n".join(tokens) + "\n")
        clips_file.write_text("\n".join(clip_ids) + "\n")
        script.write_text(WRK_SCRIPT)
        run = {
            "concurrency": args.concurrency,
            "pages": args.pages,
            "tokens_file": tokens_file,
            "clips_file": clips_file,
            "script": script,
            "switch": args.switch,
        }
        drive(base, "feed", 3, **run)  # warm-up: caches, connections, numpy paths
        trivial = drive(base, "trivial", args.seconds, **run)
        skipped = {"rps": 0.0, "p50": 0.0, "p99": 0.0, "errors": 0.0, "events_per_s": 0.0}
        feed = drive(base, "feed", args.seconds, **run) if "feed" in phases else skipped
        ev = drive(base, "events", args.seconds, **run) if "events" in phases else skipped
        print(
            f"\n{args.clips} clips, {args.viewers} viewers, {args.events} events; {args.concurrency} concurrent "
            f"clients, {args.seconds:.0f}s per run, database {url.split(':')[0]}, "
            f"storage {'s3 (moto)' if args.s3 else 'local'}"
        )
        print("| endpoint | requests/s | p50 ms | p99 ms | errors |")
        print("| --- | --- | --- | --- | --- |")
        for name, res, ran in (
            ("GET /healthz (trivial)", trivial, True),
            ("GET /v1/feed", feed, "feed" in phases),
            ("POST /v1/events (100/batch)", ev, "events" in phases),
        ):
            if ran:
                print(
                    f"| {name} | {res['rps']:.0f} | {res['p50']:.1f} | {res['p99']:.1f} | {res['errors']:.0f} |"
                )
        if "feed" in phases:
            print(
                f"\nfeed rps / trivial rps = {feed['rps'] / trivial['rps']:.2f} (goal >= 0.5); "
                f"feed p99 {feed['p99']:.1f} ms (goal <= 50)"
            )
        if "events" in phases:
            print(f"events ingested: {ev['events_per_s']:.0f}/s with batches of 100 (goal >= 20,000/s)")
        return 0
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
