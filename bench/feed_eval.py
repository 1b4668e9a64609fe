"""Offline evaluation of the feed ranking on a real interaction dataset (MovieLens format).

    python -m bench.feed_eval --data ../shared/data/recsys/ml-latest-small --json OUT.json

Protocol (see bench/README.md): per user, interactions sorted by time, the last ``--holdout``
(10) are held out; every method ranks all items the user has not interacted with in training and
returns its top 20. Metrics: recall@20 and ndcg@20 (binary relevance, ideal DCG over
min(holdout, 20) hits), catalog coverage (distinct recommended items / catalog size) and
intra-list diversity (1 - mean pairwise Jaccard similarity of the items' genre sets, averaged over
users).

ClipShop runs through the real engine: items become clips (one creator per item, genres become
interests), and each training rating is replayed, globally in time order, as feed events through
``FeedEngine.apply`` (the code path behind ``POST /v1/events``):

    every rating      -> impression (the clip was shown, so it is "seen" and never re-served)
    rating >= 4.0     -> complete + like
    3.0 <= rating < 4 -> complete
    rating < 3.0      -> view_progress 0.4 (watched in part: the viewer chose it, did not love it)

Then each user's feed is requested with ``FeedEngine.rank`` (pools, scoring, diversity re-rank,
exploration) exactly as ``GET /v1/feed`` does.

``--validate`` drops each user's test items and holds out the 10 before them instead: tune
parameters there, report on the default split.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.feed.engine import EngineEvent, FeedConfig, FeedEngine
from app.feed.events import EventType

METHODS = ("clipshop", "popularity", "random", "als")
K = 20


@dataclass
class Dataset:
    item_ids: np.ndarray  # movieId per item index
    genres: list[frozenset[str]]
    users: np.ndarray  # per rating: user index
    items: np.ndarray  # per rating: item index
    ratings: np.ndarray
    times: np.ndarray
    n_users: int


def load(data: Path) -> Dataset:
    item_ids: list[int] = []
    genres: list[frozenset[str]] = []
    with open(data / "movies.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            item_ids.append(int(row["movieId"]))
            g = row["genres"].strip()
            genres.append(frozenset() if g == "(no genres listed)" else frozenset(g.split("|")))
    index = {m: i for i, m in enumerate(item_ids)}
    u_raw: list[int] = []
    i_raw: list[int] = []
    r_raw: list[float] = []
    t_raw: list[int] = []
    with open(data / "ratings.csv", newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            m = int(row["movieId"])
            if m not in index:
                continue
            u_raw.append(int(row["userId"]))
            i_raw.append(index[m])
            r_raw.append(float(row["rating"]))
            t_raw.append(int(row["timestamp"]))
    uniq, users = np.unique(np.asarray(u_raw), return_inverse=True)
    return Dataset(
        np.asarray(item_ids),
        genres,
        users.astype(np.int64),
        np.asarray(i_raw, np.int64),
        np.asarray(r_raw),
        np.asarray(t_raw, np.int64),
        len(uniq),
    )


def split(ds: Dataset, holdout: int, validate: bool) -> tuple[np.ndarray, dict[int, list[int]]]:
    """Boolean train mask over ratings and the held-out items per user (time order, stable)."""
    order = np.lexsort((np.arange(ds.users.size), ds.times, ds.users))
    train = np.zeros(ds.users.size, bool)
    test: dict[int, list[int]] = {}
    bounds = np.flatnonzero(np.diff(ds.users[order])) + 1
    for rows in np.split(order, bounds):
        if validate:
            rows = rows[:-holdout]
        if rows.size <= holdout:
            continue
        train[rows[:-holdout]] = True
        test[int(ds.users[rows[0]])] = [int(x) for x in ds.items[rows[-holdout:]]]
    return train, test


def recommend_clipshop(
    ds: Dataset, train: np.ndarray, users: list[int], config: FeedConfig
) -> dict[int, list[int]]:
    engine = FeedEngine(config, seed=7)
    for i, g in enumerate(ds.genres):
        engine.upsert_clip(i, creator=("item", i), interests=[f"movies.{x.lower()}" for x in sorted(g)])
    rows = np.flatnonzero(train)
    rows = rows[np.argsort(ds.times[rows], kind="stable")]
    events: list[EngineEvent] = []  # the order the events would arrive in through POST /v1/events
    for r in rows:
        u, i, rating, t = int(ds.users[r]), int(ds.items[r]), float(ds.ratings[r]), float(ds.times[r])
        events.append((u, EventType.impression, i, t, 0.0, None))
        if rating >= 3.0:
            events.append((u, EventType.complete, i, t, 0.0, None))
            if rating >= 4.0:
                events.append((u, EventType.like, i, t, 0.0, None))
        else:
            events.append((u, EventType.view_progress, i, t, 0.4, None))
    for start in range(0, len(events), 100):  # in batches, as the engine's catch-up applies them
        engine.apply_many(events[start : start + 100])
    engine.compact()
    engine.refresh_pools()
    out = {}
    for u in users:
        out[u] = [int(engine.clip_keys[r.clip]) for r in engine.rank(u, K)]  # type: ignore[call-overload]
    return out


def _seen(ds: Dataset, train: np.ndarray) -> dict[int, np.ndarray]:
    rows = np.flatnonzero(train)
    order = rows[np.argsort(ds.users[rows], kind="stable")]
    bounds = np.flatnonzero(np.diff(ds.users[order])) + 1
    return {int(ds.users[g[0]]): np.unique(ds.items[g]) for g in np.split(order, bounds) if g.size}


def recommend_popularity(ds: Dataset, train: np.ndarray, users: list[int]) -> dict[int, list[int]]:
    counts = np.bincount(ds.items[train], minlength=len(ds.genres))
    ranking = np.argsort(-counts, kind="stable")
    seen = _seen(ds, train)
    out = {}
    for u in users:
        top = ranking[: K + seen[u].size]
        out[u] = [int(x) for x in top[~np.isin(top, seen[u])][:K]]
    return out


def recommend_random(ds: Dataset, train: np.ndarray, users: list[int]) -> dict[int, list[int]]:
    rng = np.random.default_rng(0)
    seen = _seen(ds, train)
    out = {}
    for u in users:
        pick = rng.permutation(len(ds.genres))[: K + seen[u].size]
        out[u] = [int(x) for x in pick[~np.isin(pick, seen[u])][:K]]
    return out


def recommend_als(ds: Dataset, train: np.ndarray, users: list[int]) -> dict[int, list[int]]:
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares

    n_items = len(ds.genres)
    m = sp.csr_matrix(
        (np.ones(int(train.sum()), np.float32), (ds.users[train], ds.items[train])),
        shape=(ds.n_users, n_items),
    )
    m.data[:] = 1.0  # duplicates (re-ratings) stay binary
    model = AlternatingLeastSquares(
        factors=32, regularization=0.01, alpha=5.0, iterations=15, random_state=0, num_threads=2
    )
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # implicit parallelises itself; nested BLAS threads thrash
        model.fit(m, show_progress=False)
    ids, _ = model.recommend(np.asarray(users), m[users], N=K, filter_already_liked_items=True)
    return {u: [int(x) for x in row if x >= 0] for u, row in zip(users, ids, strict=True)}


def evaluate(ds: Dataset, recs: dict[int, list[int]], test: dict[int, list[int]]) -> dict[str, float]:
    discount = 1.0 / np.log2(np.arange(2, K + 2))
    recall, ndcg, div = [], [], []
    shown: set[int] = set()
    for u, held in test.items():
        rec = recs.get(u, [])[:K]
        truth = set(held)
        hits = np.array([x in truth for x in rec], float)
        ideal = discount[: min(len(truth), K)].sum()
        recall.append(hits.sum() / min(len(truth), K))
        ndcg.append(float((hits * discount[: hits.size]).sum() / ideal) if ideal else 0.0)
        shown.update(rec)
        sims = []
        for a in range(len(rec)):
            ga = ds.genres[rec[a]]
            for b in range(a + 1, len(rec)):
                gb = ds.genres[rec[b]]
                union = len(ga | gb)
                sims.append(len(ga & gb) / union if union else 0.0)
        div.append(1.0 - float(np.mean(sims)) if sims else 0.0)
    return {
        "recall@20": float(np.mean(recall)),
        "ndcg@20": float(np.mean(ndcg)),
        "coverage": len(shown) / len(ds.genres),
        "diversity": float(np.mean(div)),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, help="folder with ratings.csv + movies.csv")
    p.add_argument("--json", type=Path, help="write {method: {metric: value}} here")
    p.add_argument("--holdout", type=int, default=10)
    p.add_argument("--validate", action="store_true", help="tuning split: the 10 before the test items")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="override a FeedConfig field"
    )
    args = p.parse_args(argv)
    config = FeedConfig()
    for item in args.set:
        name, value = item.split("=", 1)
        setattr(config, name, type(getattr(config, name))(value))
    t0 = time.perf_counter()
    ds = load(args.data)
    train, test = split(ds, args.holdout, args.validate)
    users = sorted(test)
    results: dict[str, dict[str, float]] = {}
    for method in args.methods.split(","):
        t = time.perf_counter()
        if method == "clipshop":
            recs = recommend_clipshop(ds, train, users, config)
        elif method == "popularity":
            recs = recommend_popularity(ds, train, users)
        elif method == "random":
            recs = recommend_random(ds, train, users)
        elif method == "als":
            recs = recommend_als(ds, train, users)
        else:
            p.error(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
        results[method] = evaluate(ds, recs, test)
        print(f"# {method}: {time.perf_counter() - t:.1f}s", file=sys.stderr)
    metrics = ("recall@20", "ndcg@20", "coverage", "diversity")
    print(
        f"{len(users)} users, {len(ds.genres)} items, {int(train.sum())} training interactions"
        f"{' (validation split)' if args.validate else ''}"
    )
    print("| method | " + " | ".join(metrics) + " |")
    print("| --- " * (len(metrics) + 1) + "|")
    for method, row in results.items():
        print(f"| {method} | " + " | ".join(f"{row[m]:.3f}" for m in metrics) + " |")
    print(f"total {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if all(not math.isnan(v) for r in results.values() for v in r.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
