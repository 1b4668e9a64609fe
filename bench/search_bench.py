"""Search latency on a synthetic catalogue, with baselines measured in the same run.

    python -m bench.search_bench [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                 [--scale 0.05] [--clips 100000] [--products 50000] [--creators 5000]
                                 [--queries 400] [--embed-docs 2000]

Creates a throwaway database (a temporary SQLite file by default; on a PostgreSQL URL a new
database on that server, dropped at the end), migrates it, and writes ``--scale`` x the given
numbers of creators, clips (captions with hashtags, English and some French, with counters) and
products (titles, brands, one SKU each, some sold out) straight into their tables. Then:

- **indexing**: one full ``sync_changes`` round (documents, hashtags, signals) and the real
  sentence model on ``--embed-docs`` documents; the other documents get random unit vectors
  (the ANN index's cost depends on the number of vectors, not on where they came from), stored
  the same way; then a process's vector and completion indexes are built from the database;
- **search** (``service.search``, the whole path of ``GET /v1/search`` below the HTTP layer:
  full-text, trigram and semantic candidates, ranking, live availability for products) over
  one-word, two-word, prefix, typo and natural-language queries; query vectors are cached per
  process, so each query is first embedded once (measured apart);
- **suggest** (``service.suggest``) over prefixes of 2-8 letters of real words, and typos;
- **query embedding** on one core: ``encode_one`` of distinct queries (uncached);
- **baselines**: the bare full-text statement alone (top 20 by rank, one kind, no trigram, no
  vectors, no ranking) and a primary-key read of 20 documents, timed in the same run.

Prints p50 / p95 / p99 in milliseconds for each.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

ADJECTIVES = [
    "hydrating",
    "matte",
    "vintage",
    "oversized",
    "organic",
    "waterproof",
    "lightweight",
    "cozy",
    "glossy",
    "minimalist",
    "chunky",
    "linen",
    "leather",
    "silk",
    "velvet",
    "ceramic",
    "bamboo",
    "vegan",
    "scented",
    "sparkly",
    "pastel",
    "neon",
    "retro",
    "classic",
    "soothing",
    "brightening",
    "nourishing",
    "exfoliating",
    "everyday",
    "cropped",
    "relaxed",
    "slim",
    "wireless",
    "portable",
]
NOUNS = [
    "cream",
    "serum",
    "cleanser",
    "sunscreen",
    "lipstick",
    "mascara",
    "foundation",
    "blush",
    "perfume",
    "shampoo",
    "conditioner",
    "sneakers",
    "boots",
    "sandals",
    "hoodie",
    "jacket",
    "jeans",
    "dress",
    "shirt",
    "scarf",
    "beanie",
    "backpack",
    "tote",
    "wallet",
    "headphones",
    "speaker",
    "lamp",
    "candle",
    "vase",
    "mug",
    "blender",
    "kettle",
    "skillet",
    "yoga",
    "mat",
    "dumbbells",
    "bottle",
    "notebook",
    "planner",
    "pen",
    "watercolour",
    "easel",
    "camera",
    "tripod",
    "drone",
    "keyboard",
    "mouse",
    "monitor",
]
TEMPLATES = (
    "my {a} {n} routine", "unboxing the {a} {n}", "{a} {n} haul", "honest review of this {a} {n}",
    "how I style my {a} {n}", "three ways to use a {a} {n}", "the {a} {n} everyone asks about",
    "ma routine avec une {n} {a}", "mon avis sur ce {n} {a}", "best {a} {n} under 30 euros",
)  # fmt: skip
HASHTAGS = [
    "skincare",
    "makeup",
    "beauty",
    "ootd",
    "streetwear",
    "fashion",
    "haul",
    "review",
    "unboxing",
    "fitness",
    "homedecor",
    "cooking",
    "tech",
    "gadgets",
    "travel",
    "diy",
    "art",
    "stationery",
    "wellness",
    "selfcare",
    "minimalism",
    "vintage",
    "sustainable",
]
BRANDS = [
    "Aurora",
    "Nimbus",
    "Solstice",
    "Verde",
    "Kumo",
    "Atlas",
    "Lumen",
    "Brisa",
    "Orla",
    "Vela",
    "Nova",
    "Terra",
    "Sable",
    "Cobalt",
    "Maris",
]
FIRST = [
    "Maya",
    "Sam",
    "Alex",
    "Jo",
    "Lea",
    "Noor",
    "Kai",
    "Ines",
    "Theo",
    "Lou",
    "Mila",
    "Omar",
    "Zoe",
    "Ravi",
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Finn",
]
LAST = [
    "Lindqvist",
    "Moreau",
    "Okafor",
    "Tanaka",
    "Silva",
    "Novak",
    "Haddad",
    "Rossi",
    "Berg",
    "Costa",
    "Dubois",
    "Kim",
    "Meyer",
    "Singh",
]
NATURAL = (
    "moisturiser for dry skin", "something warm for winter", "shoes for running a marathon",
    "gift for someone who loves cooking", "how to look put together for work",
    "cheap desk setup upgrade", "makeup that lasts all day", "crème pour peau sèche",
)  # fmt: skip


def _percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    if not ms:
        return "n/a"

    def pick(p: float) -> float:
        return ms[min(len(ms) - 1, round(p * (len(ms) - 1)))]

    return f"p50 {pick(0.5):7.2f}  p95 {pick(0.95):7.2f}  p99 {pick(0.99):7.2f}  (n={len(ms)})"


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    op = rng.randrange(3)
    if op == 0:  # transpose
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == 1:  # drop
        return word[:i] + word[i + 1 :]
    return word[:i] + rng.choice("aeiourst") + word[i + 1 :]  # substitute


def _throwaway_database(url: str | None) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if not url or url.startswith("sqlite"):
        folder = tempfile.mkdtemp(prefix="search-bench-")
        return f"sqlite:///{folder}/bench.db", None
    name = f"search_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(url).set(database=name).render_as_string(hide_password=False), drop


def seed(n_creators: int, n_clips: int, n_products: int, rng: random.Random) -> dict[str, Any]:
    from sqlalchemy import insert

    from app.accounts.models import CreatorProfile, MerchantOrganisation, Role, User
    from app.catalog.models import Product, Sku
    from app.clips.models import Clip
    from app.db import session_scope
    from app.feed.models import ClipStat, CreatorFollow

    now = datetime.now(UTC)
    creators = [uuid.uuid4() for _ in range(n_creators)]
    with session_scope() as session:
        session.execute(
            insert(User),
            [{"id": c, "role": Role.creator, "email": f"c{i}@bench.example", "created_at": now, "updated_at": now}
             for i, c in enumerate(creators)],
        )  # fmt: skip
        session.execute(
            insert(CreatorProfile),
            [
                {"user_id": c, "handle": f"{rng.choice(FIRST).lower()}.{i}", "created_at": now, "updated_at": now,
                 "display_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "bio": f"I post about {rng.choice(HASHTAGS)}"}
                for i, c in enumerate(creators)
            ],
        )  # fmt: skip
        fans = [uuid.uuid4() for _ in range(200)]
        session.execute(
            insert(User),
            [{"id": f, "role": Role.viewer, "email": f"f{i}@bench.example", "created_at": now, "updated_at": now}
             for i, f in enumerate(fans)],
        )  # fmt: skip
        follows = {(rng.choice(fans), rng.choice(creators)) for _ in range(n_creators * 3)}
        session.execute(
            insert(CreatorFollow), [{"user_id": f, "creator_id": c, "created_at": now} for f, c in follows]
        )
        orgs = [uuid.uuid4() for _ in range(max(1, n_products // 500))]
        session.execute(
            insert(MerchantOrganisation),
            [{"id": o, "name": f"Shop {i}", "slug": f"shop-{i}", "created_at": now, "updated_at": now}
             for i, o in enumerate(orgs)],
        )  # fmt: skip
    for start in range(0, n_clips, 10_000):
        rows, stats = [], []
        for _ in range(min(10_000, n_clips - start)):
            clip_id = uuid.uuid4()
            caption = rng.choice(TEMPLATES).format(a=rng.choice(ADJECTIVES), n=rng.choice(NOUNS))
            caption += " " + " ".join(f"#{t}" for t in rng.sample(HASHTAGS, rng.randint(1, 3)))
            created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 90))
            rows.append(
                {"id": clip_id, "creator_id": rng.choice(creators), "status": "ready", "visibility": "public",
                 "caption": caption, "duration_ms": 15_000, "storage_prefix": f"clips/{clip_id}",
                 "created_at": created, "updated_at": created, "processing_progress": 100, "processing_attempts": 1}
            )  # fmt: skip
            views = int(rng.paretovariate(1.2) * 20)
            stats.append(
                {"clip_id": clip_id, "views": views, "completes": int(views * rng.random()),
                 "likes": int(views * rng.random() * 0.2), "shares": int(views * rng.random() * 0.02), "updated_at": now}
            )  # fmt: skip
        with session_scope() as session:
            session.execute(insert(Clip), rows)
            session.execute(insert(ClipStat), stats)
    for start in range(0, n_products, 10_000):
        products, skus = [], []
        for i in range(start, min(n_products, start + 10_000)):
            product_id = uuid.uuid4()
            org = rng.choice(orgs)
            products.append(
                {"id": product_id, "organisation_id": org, "title": f"{rng.choice(ADJECTIVES).title()} {rng.choice(NOUNS)} {rng.choice(['50 ml', 'M', 'L', 'set', 'pro', 'mini'])}",
                 "brand": rng.choice(BRANDS), "category": rng.choice(HASHTAGS), "active": True, "created_at": now, "updated_at": now,
                 "description": f"{rng.choice(ADJECTIVES)} and {rng.choice(ADJECTIVES)}"}
            )  # fmt: skip
            skus.append(
                {"id": uuid.uuid4(), "product_id": product_id, "organisation_id": org, "code": f"S{i}", "options": {},
                 "price_minor": rng.randint(500, 20_000), "currency": "EUR", "active": True, "version": 1,
                 "quantity": 0 if rng.random() < 0.1 else rng.randint(1, 100), "reserved": 0,
                 "stock_changed_at": now, "created_at": now, "updated_at": now}
            )  # fmt: skip
        with session_scope() as session:
            session.execute(insert(Product), products)
            session.execute(insert(Sku), skus)
    return {"creators": n_creators, "clips": n_clips, "products": n_products}


def index(embed_docs: int, rng: random.Random) -> dict[str, float]:
    from sqlalchemy import select

    from app.db import session_scope
    from app.search import embedding, indexing
    from app.search.models import SearchDocument

    figures: dict[str, float] = {}
    started = time.perf_counter()
    with session_scope() as session:
        indexing.sync_changes(session, full=True)
    figures["documents_seconds"] = time.perf_counter() - started
    with session_scope() as session:
        pending = indexing.pending_embeddings(session, 10_000_000)
    real, synthetic = pending[:embed_docs], pending[embed_docs:]
    started = time.perf_counter()
    vectors = embedding.get_encoder().encode([p[2] for p in real]) if real else np.zeros((0, 384))
    figures["embed_docs_per_second"] = len(real) / max(1e-9, time.perf_counter() - started)
    noise = (
        np.random.default_rng(rng.randrange(1 << 30))
        .standard_normal((len(synthetic), 384))
        .astype(np.float32)
    )
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    rows = [(p[0], p[1], embedding.to_bytes(v)) for p, v in zip(real, vectors, strict=True)]
    rows += [(p[0], p[1], embedding.to_bytes(v)) for p, v in zip(synthetic, noise, strict=True)]
    for start in range(0, len(rows), 5_000):
        with session_scope() as session:
            indexing.store_embeddings(session, rows[start : start + 5_000])
    with session_scope() as session:
        figures["documents"] = session.query(SearchDocument).count()
        _ = session.scalar(select(SearchDocument.id).limit(1))
    vacuum_analyze()
    return figures


def vacuum_analyze() -> None:
    """What autovacuum does within a minute of a bulk load on a running server: statistics (the
    planner chooses between the GIN index and the popularity index by how many documents a word
    matches) and the dead row versions of the indexing round cleared. Without them the first
    queries after the load plan with no statistics at all (measured: every clip query paid a
    21 ms scan of the kind index)."""
    from sqlalchemy import text

    from app.db import get_engine

    engine = get_engine()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))


def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    url, drop = _throwaway_database(args.database_url)
    os.environ["CLIPSHOP_DATABASE_URL"] = url
    os.environ.setdefault("CLIPSHOP_LOG_LEVEL", "WARNING")
    # as in production with workers: each process catches up in the background, indexes nothing
    os.environ["CLIPSHOP_SEARCH_BACKGROUND_REFRESH"] = "true"
    os.environ["CLIPSHOP_SEARCH_INDEX_IN_PROCESS"] = "false"
    try:
        from sqlalchemy import text

        from app.cli import run_migrations
        from app.db import new_session
        from app.search import embedding, service
        from app.search.runtime import get_runtime

        run_migrations("head", url=url)
        n_clips, n_products = int(args.clips * args.scale), int(args.products * args.scale)
        n_creators = max(10, int(args.creators * args.scale))
        started = time.perf_counter()
        seed(n_creators, n_clips, n_products, rng)
        print(f"database: {url.split('://')[0]}   seeded {n_creators} creators, {n_clips} clips, "
              f"{n_products} products in {time.perf_counter() - started:.1f} s")  # fmt: skip
        figures = index(min(args.embed_docs, n_clips + n_products), rng)
        print(f"indexing: {figures['documents']:.0f} documents in {figures['documents_seconds']:.1f} s; "
              f"model embeds {figures['embed_docs_per_second']:.0f} documents/s (batches of 32)")  # fmt: skip
        session = new_session()
        started = time.perf_counter()
        runtime = get_runtime()
        runtime.ensure_fresh(session)
        print(f"runtime: vector + completion indexes built in {time.perf_counter() - started:.1f} s "
              f"({sum(len(i) for i in runtime.indexes.values())} vectors)")  # fmt: skip

        words = [*ADJECTIVES, *NOUNS, *HASHTAGS, *BRANDS]
        queries: list[tuple[str, str]] = []
        for _ in range(args.queries):
            shape = rng.randrange(5)
            if shape == 0:
                q = rng.choice(words)
            elif shape == 1:
                q = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
            elif shape == 2:
                w = rng.choice(words)
                q = f"{rng.choice(ADJECTIVES)} {w[: max(2, len(w) - 2)]}"
            elif shape == 3:
                q = _typo(rng.choice(NOUNS + ADJECTIVES), rng)
            else:
                q = rng.choice(NATURAL)
            queries.append((q, rng.choice(["clip", "clip", "clip", "product", "creator"])))

        # query embeddings: distinct texts, uncached, one core (the encoder sets BLAS to 1 thread)
        encoder = embedding.get_encoder()
        distinct = list(dict.fromkeys(q for q, _ in queries))
        encoder.encode_one("warm up")
        timings = []
        for q in distinct:
            t = time.perf_counter()
            encoder.encode_one(q)
            timings.append(time.perf_counter() - t)
        matmul = np.random.default_rng(0).standard_normal((8, 384)).astype(np.float32)
        weights = np.random.default_rng(1).standard_normal((384, 1536)).astype(np.float32)
        base = []
        for _ in range(200):
            t = time.perf_counter()
            matmul @ weights
            base.append(time.perf_counter() - t)
        print(f"query embedding (one core)      {_percentiles(timings)}")
        print(f"  baseline: one 8x384x1536 matmul {_percentiles(base)}  (the model runs 24 of these)")

        for q, kind in queries:  # warm: vectors cached, statements prepared
            service.search(session, q=q, kind=kind, viewer_id=None, limit=20, cursor=None, debug=False)
            session.rollback()
        timings, per_kind = [], {"clip": [], "product": [], "creator": []}
        for q, kind in queries:
            t = time.perf_counter()
            service.search(session, q=q, kind=kind, viewer_id=None, limit=20, cursor=None, debug=False)
            session.rollback()
            elapsed = time.perf_counter() - t
            timings.append(elapsed)
            per_kind[kind].append(elapsed)
        print(f"search (all kinds)              {_percentiles(timings)}")
        for kind, samples in per_kind.items():
            print(f"  {kind + 's':28s}  {_percentiles(samples)}")

        prefixes = []
        for _ in range(args.queries):
            w = rng.choice(words + [f"{a} {n}" for a, n in zip(ADJECTIVES, NOUNS, strict=False)])
            prefixes.append(w[: rng.randint(2, min(8, len(w)))] if rng.random() < 0.8 else _typo(w, rng))
        timings = []
        for p in prefixes:
            t = time.perf_counter()
            service.suggest(session, p, 8)
            session.rollback()
            timings.append(time.perf_counter() - t)
        print(f"suggest                         {_percentiles(timings)}")

        is_pg = url.startswith("postgresql")
        bare = (
            "SELECT id FROM search_document WHERE kind = 'clip' AND visible AND "
            "tsv @@ websearch_to_tsquery('english', :q) ORDER BY ts_rank(tsv, websearch_to_tsquery('english', :q)) DESC LIMIT 20"
            if is_pg
            else "SELECT d.id FROM search_fts JOIN search_document d ON d.id = search_fts.rowid "
            "WHERE search_fts MATCH :q AND d.kind = 'clip' AND d.visible ORDER BY bm25(search_fts) LIMIT 20"
        )
        timings = []
        for q, _ in queries:
            term = q if is_pg else " ".join(f'"{w}"' for w in q.replace('"', "").split())
            t = time.perf_counter()
            session.execute(text(bare), {"q": term}).all()
            session.rollback()
            timings.append(time.perf_counter() - t)
        print(f"  baseline: bare full-text query {_percentiles(timings)}")
        ids = [r[0] for r in session.execute(text("SELECT id FROM search_document LIMIT 2000"))]
        session.rollback()
        timings = []
        for _ in range(len(queries)):
            pick = rng.sample(ids, min(20, len(ids)))
            t = time.perf_counter()
            session.execute(
                text(
                    f"SELECT id, title, popularity FROM search_document WHERE id IN ({','.join(map(str, pick))})"
                )
            ).all()
            session.rollback()
            timings.append(time.perf_counter() - t)
        print(f"  baseline: read 20 documents    {_percentiles(timings)}")
        session.close()
        if hasattr(os, "getloadavg"):
            print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        from app.db import reset_engine
        from app.search.runtime import reset_runtime

        reset_runtime()  # its catch-up thread must not outlive the database
        reset_engine()
        if drop is not None:
            drop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL server (a database is created on it)"
    )
    parser.add_argument("--scale", type=float, default=0.05, help="fraction of the full sizes (1.0 = full)")
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--creators", type=int, default=5_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--embed-docs", type=int, default=2_000, help="documents embedded by the real model")
    parser.add_argument("--seed", type=int, default=7)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
