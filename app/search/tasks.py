"""Search jobs: catch-up indexing rounds and embeddings, registered with the worker.

``index_round`` is what each API process's background thread runs every
``search_refresh_seconds`` when ``search_index_in_process`` is on (the embedded default); the
``search_maintenance`` actor runs with the other domains' periodic maintenance in the workers
(a full round: it also catches unfollows and hard deletions) and embeds whatever is pending.
Embeddings are computed outside any transaction (on SQLite a transaction holds the write lock)
and stored only if the document's text did not change meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from app.config import get_settings
from app.db import session_scope
from app.jobs import actor
from app.search import embedding, indexing

log = logging.getLogger("clipshop.search")

# full rounds (which also catch unfollows and hard-deleted rows) at most this often
FULL_ROUND_EVERY = timedelta(hours=1)
# one indexing round at a time per process (the background thread and a job may meet)
_round_lock = threading.Lock()


def embed_batch(limit: int | None = None) -> int:
    """Embed up to ``limit`` documents whose embedding is missing or stale; returns how many."""
    if not embedding.available():
        return 0
    limit = limit or get_settings().search_embed_batch
    with session_scope() as session:
        pending = indexing.pending_embeddings(session, limit)
    if not pending:
        return 0
    vectors = embedding.get_encoder().encode([p[2] for p in pending])
    rows = [
        (doc_id, text_hash, embedding.to_bytes(vec))
        for (doc_id, text_hash, _), vec in zip(pending, vectors, strict=True)
    ]
    with session_scope() as session:
        indexing.store_embeddings(session, rows)
    return len(rows)


def index_round(*, full: bool = False, embed_limit: int | None = None) -> dict[str, int]:
    """Documents caught up from their sources, then one batch of embeddings."""
    with _round_lock:
        with session_scope() as session:
            counts = indexing.sync_changes(session, full=full)
        counts["embedded"] = embed_batch(embed_limit)
    return counts


def index_all(*, full: bool = False, time_budget_seconds: float = 3600.0) -> dict[str, int]:
    """A round, then embeddings until none are pending (or the budget is spent)."""
    deadline = time.monotonic() + time_budget_seconds
    counts = index_round(full=full)
    while counts["embedded"] and time.monotonic() < deadline:
        with _round_lock:
            done = embed_batch()
        counts["embedded"] += done
        if not done:
            break
    return counts


@actor(queue="default", max_retries=3, time_limit=3_600_000, actor_name="search_reindex")
def reindex() -> None:
    """Everything reread and every stale embedding computed (``POST /v1/admin/search/reindex``)."""
    log.info("search reindex", extra=index_all(full=True))


def full_round_due() -> bool:
    with session_scope() as session:
        return indexing.full_round_due(session, FULL_ROUND_EVERY)


@actor(queue="default", max_retries=1, time_limit=900_000, actor_name="search_maintenance")
def maintenance() -> None:
    """Periodic (``app.jobs.periodic``) in worker processes: a catch-up round (a full one at
    most every ``FULL_ROUND_EVERY``: it rereads everything) and the pending embeddings. In the
    embedded mode (in-process worker) each process's search thread does this work instead."""
    from app import jobs

    if jobs.is_inprocess():
        return
    log.info("search maintenance", extra=index_all(full=full_round_due(), time_budget_seconds=600.0))
