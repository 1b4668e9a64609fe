"""Each process's in-memory search structures, kept in step with the database like the feed's
engine: the database (``search_document``) is the source of truth, these are caches.

* **Vector indexes**: one HNSW index (usearch, cosine over int8-quantised vectors) per document
  kind, keyed by the document's integer id. Built on first use from the stored embeddings, then
  caught up from the rows whose ``updated_at`` moved (minus an overlap): a visible document with
  an embedding is (re)inserted, anything else removed.
* **Completion index** for ``/v1/search/suggest``: the folded names of products, brands,
  creators (and their handles) and hashtags, sorted, with every word start as a key (so "cream"
  finds "Hydrating Cream"), and a trigram index of their words for typos. Rebuilt in the
  background when documents changed (at most every ``COMPLETION_REBUILD_SECONDS``).

A background thread per process (``search_refresh_seconds``) also runs the indexing rounds
(documents and embeddings) when ``search_index_in_process`` is on; otherwise the workers'
``search_maintenance`` job does. Without the thread (tests), queries catch up synchronously.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import new_session, utcnow
from app.search import embedding, text
from app.search.indexing import OVERLAP
from app.search.models import DocumentKind, SearchDocument, SearchHashtag

logger = logging.getLogger("clipshop.search")

COMPLETION_REBUILD_SECONDS = 10.0
SUGGEST_MIN_SIMILARITY = 0.35  # a suggestion's typo correction: words sharing this share of trigrams
VECTOR_KINDS = (DocumentKind.clip, DocumentKind.product, DocumentKind.creator)


def _new_index() -> Any:
    from usearch.index import Index

    # cosine over int8-quantised vectors: 4x less memory than f32 and the fastest kernels here
    # (the stored float16 vectors stay exact); distance = 1 - cosine similarity
    return Index(
        ndim=embedding.DIMENSIONS,
        metric="cos",
        dtype="i8",
        connectivity=16,
        expansion_add=64,
        expansion_search=128,
    )


class Vocabulary:
    """Words and the index of their trigrams, for correcting mistyped words: the closest words
    by shared trigrams (pg_trgm's ``similarity`` of two words)."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.known: set[str] = set()
        self.by_gram: dict[str, list[int]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.known

    def add(self, words: Iterable[str]) -> None:
        for word in words:
            if word in self.known or len(word) < 2:
                continue
            self.known.add(word)
            self.words.append(word)
            for gram in text.trigrams(word):
                self.by_gram[gram].append(len(self.words) - 1)

    def corrections(self, word: str, limit: int = 3, min_similarity: float = 0.35) -> list[tuple[str, float]]:
        """The known words closest to ``word`` (itself included when known), best first."""
        grams = text.trigrams(word)
        counts: dict[int, int] = defaultdict(int)
        for gram in grams:
            for wi in self.by_gram.get(gram, ()):
                counts[wi] += 1
        scored = []
        for wi, shared in counts.items():
            candidate = self.words[wi]
            similarity = shared / len(grams | text.trigrams(candidate))
            if similarity >= min_similarity:
                scored.append((candidate, similarity))
        scored.sort(key=lambda p: (-p[1], p[0]))
        return scored[:limit]


@dataclass
class Suggestion:
    type: str  # product | creator | hashtag | brand
    text: str
    id: uuid.UUID | None
    handle: str | None
    score: float


@dataclass
class Completion:
    keys: list[str] = field(default_factory=list)  # sorted folded keys
    key_entry: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    key_bonus: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    entries: list[Suggestion] = field(default_factory=list)
    entry_score: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    vocabulary: Vocabulary = field(default_factory=lambda: Vocabulary())
    hashtag_counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, entries: list[Suggestion], hashtag_counts: dict[str, int]) -> Completion:
        pairs: list[tuple[str, int, float]] = []
        words: set[str] = set()
        for i, entry in enumerate(entries):
            folded = " ".join(text.words(entry.text))
            if not folded:
                continue
            parts = folded.split(" ")
            words.update(parts)
            for start in range(min(len(parts), 6)):
                pairs.append((" ".join(parts[start:])[:80], i, 0.2 if start == 0 else 0.0))
            if entry.handle:
                pairs.append((" ".join(text.words(entry.handle)), i, 0.2))
        pairs.sort(key=lambda p: p[0])
        vocabulary = Vocabulary()
        vocabulary.add(sorted(words))
        return cls(
            keys=[p[0] for p in pairs],
            key_entry=np.asarray([p[1] for p in pairs], dtype=np.int64),
            key_bonus=np.asarray([p[2] for p in pairs], dtype=np.float32),
            entries=entries,
            entry_score=np.asarray([e.score for e in entries], dtype=np.float32),
            vocabulary=vocabulary,
            hashtag_counts=hashtag_counts,
        )

    def _prefix(self, prefix: str, types: set[str] | None, limit: int) -> list[tuple[Suggestion, float]]:
        lo = bisect.bisect_left(self.keys, prefix)
        hi = bisect.bisect_left(self.keys, prefix + "\uffff")
        if hi <= lo:
            return []
        entry_ids = self.key_entry[lo:hi]
        scores = self.entry_score[entry_ids] + self.key_bonus[lo:hi]
        take = min(len(scores), limit * 4 + 16)
        if types is not None:
            take = len(scores) if len(scores) <= 20_000 else take * 8
        top = np.argpartition(-scores, take - 1)[:take] if take < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        out: list[tuple[Suggestion, float]] = []
        seen: set[int] = set()
        for k in top:
            entry_id = int(entry_ids[k])
            if entry_id in seen:
                continue
            entry = self.entries[entry_id]
            if types is not None and entry.type not in types:
                continue
            seen.add(entry_id)
            out.append((entry, float(scores[k])))
            if len(out) >= limit:
                break
        return out

    def corrections(self, word: str, limit: int = 3) -> list[tuple[str, float]]:
        """Words of the suggestions closest to a (mistyped) word, by shared trigrams."""
        return self.vocabulary.corrections(word, limit, SUGGEST_MIN_SIMILARITY)

    def suggest(
        self, query: str, limit: int, types: set[str] | None = None
    ) -> list[tuple[Suggestion, float]]:
        parts = text.words(query)
        if not parts:
            return []
        prefix = " ".join(parts)
        found = self._prefix(prefix, types, limit)
        if len(found) < limit and len(parts[-1]) >= 3:
            # typo tolerance: the last word replaced by the closest known words
            seen = {id(s) for s, _ in found}
            for word, similarity in self.corrections(parts[-1]):
                if word == parts[-1]:
                    continue
                for entry, score in self._prefix(" ".join([*parts[:-1], word]), types, limit):
                    if id(entry) not in seen:
                        seen.add(id(entry))
                        found.append((entry, score * similarity))
                if len(found) >= limit:
                    break
        return found[:limit]


class SearchRuntime:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # guards the vector indexes (usearch writes vs searches)
        self.indexes: dict[str, Any] = {}
        self.loaded = False
        self.synced_at: datetime | None = None
        self.seen: dict[int, datetime] = {}  # document id -> the updated_at applied
        self.completion = Completion()
        self.completion_dirty = True
        self.completion_built_at = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._query_cache: dict[str, np.ndarray] = {}
        # every word of the visible documents' names (PostgreSQL's typo matcher corrects query
        # words against it: service.trigram_matches)
        self.vocabulary = Vocabulary()

    # ---------------------------------------------------------------- vectors
    def catch_up(self, session: Session) -> int:
        """Apply documents changed since the last catch-up to the vector indexes."""
        started = utcnow()
        query = select(
            SearchDocument.id,
            SearchDocument.kind,
            SearchDocument.visible,
            SearchDocument.embedding,
            SearchDocument.updated_at,
            SearchDocument.names,
        )
        if self.synced_at is not None:
            query = query.where(SearchDocument.updated_at >= self.synced_at - OVERLAP)
        rows = session.execute(query).all()
        session.rollback()
        added: dict[str, tuple[list[int], list[bytes]]] = defaultdict(lambda: ([], []))
        removed: dict[str, list[int]] = defaultdict(list)
        changed = 0
        words: set[str] = set()
        for doc_id, kind, visible, blob, updated_at, names in rows:
            if self.seen.get(doc_id) == updated_at:
                continue  # read again only because of the overlap
            self.seen[doc_id] = updated_at
            changed += 1
            if visible:
                words.update(text.WORD_RE.findall(names or ""))
            if visible and blob is not None:
                added[kind][0].append(doc_id)
                added[kind][1].append(blob)
            else:
                removed[kind].append(doc_id)
        with self.lock:
            # words are added, never taken out: a word no document holds any more only yields a
            # correction that matches nothing
            self.vocabulary.add(sorted(words))
            for kind in VECTOR_KINDS:
                index = self.indexes.get(kind)
                if index is None:
                    index = self.indexes[kind] = _new_index()
                keys = added[kind][0] + removed[kind]
                present = [k for k in keys if k in index] if len(index) else []
                if present:
                    index.remove(np.asarray(present, dtype=np.uint64))
                if added[kind][0]:
                    vectors = np.frombuffer(b"".join(added[kind][1]), dtype="<f2").reshape(
                        -1, embedding.DIMENSIONS
                    )
                    index.add(np.asarray(added[kind][0], dtype=np.uint64), vectors.astype(np.float32))
        self.synced_at = started
        self.loaded = True
        if changed:
            self.completion_dirty = True
        return changed

    def nearest(self, kind: str, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(document id, cosine similarity), best first."""
        with self.lock:
            index = self.indexes.get(kind)
            if index is None or len(index) == 0:
                return []
            matches = index.search(vector.astype(np.float32), min(k, len(index)))
        return [
            (int(key), 1.0 - float(dist)) for key, dist in zip(matches.keys, matches.distances, strict=False)
        ]

    def query_vector(self, q: str) -> np.ndarray | None:
        """The query's embedding (cached per process for repeated queries), or None without the model."""
        key = " ".join(text.words(q))
        vector = self._query_cache.get(key)
        if vector is None:
            if not embedding.available():
                return None
            vector = embedding.get_encoder().encode_one(q)
            if len(self._query_cache) >= 4096:
                self._query_cache.clear()
            self._query_cache[key] = vector
        return vector

    # ---------------------------------------------------------------- completion
    def rebuild_completion(self, session: Session) -> None:
        rows = session.execute(
            select(
                SearchDocument.kind,
                SearchDocument.entity_id,
                SearchDocument.title,
                SearchDocument.subtitle,
                SearchDocument.popularity,
            ).where(SearchDocument.visible.is_(True), SearchDocument.kind != DocumentKind.clip)
        ).all()
        tags = session.execute(
            select(SearchHashtag.tag, func.count(), func.sum(SearchDocument.popularity))
            .join(SearchDocument, SearchDocument.id == SearchHashtag.document_id)
            .where(SearchDocument.visible.is_(True))
            .group_by(SearchHashtag.tag)
        ).all()
        session.rollback()
        entries: list[Suggestion] = []
        brands: dict[str, tuple[str, int]] = {}
        for kind, entity_id, title, subtitle, pop in rows:
            if kind == DocumentKind.creator:
                entries.append(Suggestion("creator", title, entity_id, subtitle, 0.3 + 0.7 * pop))
            else:
                entries.append(Suggestion("product", title, entity_id, None, 0.2 + 0.6 * pop))
                if subtitle:
                    key = text.fold(subtitle)
                    name, n = brands.get(key, (subtitle, 0))
                    brands[key] = (name, n + 1)
        for name, n in brands.values():
            entries.append(
                Suggestion("brand", name, None, None, 0.25 + 0.5 * (1 - math.exp(-math.log1p(n) / 3)))
            )
        counts: dict[str, int] = {}
        for tag, n, pop in tags:
            counts[tag] = int(n)
            score = 0.3 + 0.5 * (1 - math.exp(-math.log1p(n) / 3)) + 0.2 * (float(pop or 0) / max(1, n))
            entries.append(Suggestion("hashtag", f"#{tag}", None, tag, score))
        completion = Completion.build(entries, counts)
        self.completion = completion
        self.completion_dirty = False
        self.completion_built_at = time.monotonic()

    # ---------------------------------------------------------------- freshness
    def ensure_fresh(self, session: Session) -> None:
        """Before a query: without a background thread, catch up now (cheap when nothing changed)."""
        if not self.loaded or self._thread is None:
            self.catch_up(session)
        if self.completion_dirty and (self._thread is None or not self.completion.keys):
            self.rebuild_completion(session)

    def start_background(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="search-catch-up", daemon=True)
        self._thread.start()

    def stop_background(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def _loop(self) -> None:
        settings = get_settings()
        while not self._stop.wait(settings.search_refresh_seconds):
            try:
                if settings.search_index_in_process:
                    from app.search import tasks

                    tasks.index_round(full=tasks.full_round_due())
                session = new_session()
                try:
                    self.catch_up(session)
                    due = time.monotonic() - self.completion_built_at >= COMPLETION_REBUILD_SECONDS
                    if self.completion_dirty and due:
                        self.rebuild_completion(session)
                finally:
                    session.close()
            except Exception:  # the next round retries
                logger.exception("search catch-up failed")


_runtime: SearchRuntime | None = None
_runtime_lock = threading.Lock()


def get_runtime() -> SearchRuntime:
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                _runtime = SearchRuntime()
                if get_settings().search_background_refresh:
                    _runtime.start_background()
    return _runtime


def reset_runtime() -> None:
    global _runtime
    with _runtime_lock:
        if _runtime is not None:
            _runtime.stop_background()
        _runtime = None
