"""Search queries: full text, typos, prefixes, semantic matches, social ranking.

A query gathers candidates from three matchers, then ranks their union:

1. **Full text** in the database. PostgreSQL: the generated ``tsv`` column (GIN) against
   ``websearch_to_tsquery`` in English and in French, or-ed with the unstemmed words with the
   last one as a prefix (as-you-type), scored by ``ts_rank``. SQLite: FTS5 (Porter stems with
   prefix indexes, plus light French stems) scored by ``bm25``.
2. **Trigrams** for typos, when full text finds little. PostgreSQL: each query word is corrected
   to the closest words of the documents (the process's vocabulary, ``runtime.Vocabulary``), the
   documents holding the corrected words are found by full text, and scored by ``pg_trgm``'s
   ``word_similarity`` with the query as typed (measured: ``pg_trgm``'s ``<%`` on the names
   visits every document holding a word the typo is close to, 0.1-0.4 s for a common word at
   100,000 clips). SQLite: the FTS5 trigram table gathers documents sharing trigrams with the
   query's words, then the same similarity is computed here.
3. **Semantic**: the query's sentence embedding against the process's HNSW index of document
   embeddings (``runtime.py``), kept above ``search_semantic_min_similarity``.

score = (w_text x text + w_semantic x semantic + w_trigram x trigram [only without a text match])
x (1 + w_social x popularity) x availability (products: live stock through the catalog).
``debug=true`` returns each part.

Results respect visibility (public ready clips, active products and creators: the documents'
``visible``), moderation (``hidden_clip_ids`` of the social domain) and the viewer's blocks.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import is_postgres
from app.search import embedding, sources
from app.search import text as textutil
from app.search.exceptions import InvalidCursor
from app.search.models import DocumentKind, SearchDocument, SearchHashtag
from app.search.runtime import get_runtime

TRIGRAM_MIN_SIMILARITY = 0.5
# the trigram matcher runs when full text finds fewer matches than this
TRIGRAM_WHEN_FEWER = 20
CORRECTIONS_PER_WORD = 3  # PostgreSQL's typo matcher: known words tried for each query word...
CORRECTION_MIN_SIMILARITY = (
    0.3  # ...that share this share of their trigrams with it (one typo in 7 letters: ~0.33)
)
AVAILABILITY_FACTOR = {"in_stock": 1.0, "low_stock": 0.95, "out_of_stock": 0.5}
MAX_RESULTS = 500  # a query's ranked list (pages beyond are not served)


# ------------------------------------------------------------------------------ cursors


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        offset = int(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidCursor("The cursor is not one this service issued")
    if kind != "o" or not 0 <= offset <= MAX_RESULTS:
        raise InvalidCursor("The cursor is not one this service issued")
    return offset


# ------------------------------------------------------------------------------ matchers


# PostgreSQL: which documents of a kind match a tsquery, and how they are ranked. A common word
# matches thousands of a kind's documents, and ranking them all reads every one (measured at
# 100,000 clips: 80-120 ms for one common word); so a query that matches more than
# ``BROAD_MATCHES`` documents ranks its ``n`` most popular matches, found in popularity order
# (~5 ms), and a rarer one ranks all its matches, found by the GIN index. Which case a query is
# in is counted, not left to the planner: its estimates are per table, not per kind (a brand's
# name, frequent among products and absent from clips, made it walk all 100,000 clips in
# popularity order: 190 ms). The final score multiplies relevance by popularity, so a common
# word's top results come from its most popular matches.
BROAD_MATCHES = 2000


def _ranked_matches(
    session: Session, kind: str, query: str, value: str, order: str, params: dict[str, Any], n: int
) -> dict[int, float]:
    """id -> ``value`` of up to ``n`` visible ``kind`` documents matching ``query`` (a statement
    whose column ``query`` is a tsquery), highest ``order`` first (expressions over the document
    ``m`` and the query ``q``)."""
    params = {**params, "kind": kind, "n": n, "broad": BROAD_MATCHES}
    # counted with the GIN index alone (its bitmap scan stops reading rows at the limit)
    planner = "SELECT set_config('enable_seqscan', :on, true), set_config('enable_indexscan', :on, true)"
    session.execute(text(planner), {"on": "off"})
    ids = session.scalars(
        text(
            f"SELECT id FROM search_document, ({query}) AS q "
            "WHERE kind = :kind AND visible AND tsv @@ q.query LIMIT :broad"
        ),
        params,
    ).all()
    session.execute(text(planner), {"on": "on"})
    if not ids:
        return {}
    if len(ids) < BROAD_MATCHES:  # every match is known: all are ranked
        source = "SELECT * FROM search_document WHERE id = ANY(:ids)"
        params["ids"] = list(ids)
    else:  # the most popular matches
        source = (
            f"SELECT d.* FROM search_document AS d, ({query}) AS q0 WHERE d.kind = :kind AND d.visible "
            "AND d.tsv @@ q0.query ORDER BY d.popularity DESC LIMIT :n"
        )
    rows = session.execute(
        text(
            f"SELECT m.id, {value} FROM ({source}) AS m, ({query}) AS q "
            f"ORDER BY {order} DESC, m.popularity DESC, m.id LIMIT :n"
        ),
        params,
    )
    return {r[0]: float(r[1]) for r in rows}


def _fts_postgres(session: Session, kind: str, q: str, words: list[str], n: int) -> dict[int, float]:
    prefix = " & ".join([*words[:-1], f"{words[-1]}:*"])
    query = (
        "SELECT websearch_to_tsquery('english', :q) || websearch_to_tsquery('french', :q) "
        "|| to_tsquery('simple', :prefix) AS query"
    )
    rank = "ts_rank(m.tsv, q.query)"
    params = {"q": q, "prefix": prefix, "social": get_settings().search_weight_social}
    return _ranked_matches(session, kind, query, rank, f"{rank} * (1 + :social * m.popularity)", params, n)


def _fts5_quote(word: str) -> str:
    return '"' + word.replace('"', "") + '"'


def _fts_sqlite(session: Session, kind: str, words: list[str], n: int) -> dict[int, float]:
    terms = [_fts5_quote(w) for w in words[:-1]] + [_fts5_quote(words[-1]) + "*"]
    stems = [_fts5_quote(textutil.french_stem(w)) for w in words[:-1]]
    stems.append(_fts5_quote(textutil.french_stem(words[-1])) + "*")
    match = f"{{title hashtags subtitle body}}: ({' AND '.join(terms)}) OR stems: ({' AND '.join(stems)})"
    rows = session.execute(
        text(
            "SELECT d.id, -bm25(search_fts, 10.0, 10.0, 4.0, 1.0, 6.0) AS rank "
            "FROM search_fts JOIN search_document d ON d.id = search_fts.rowid "
            "WHERE search_fts MATCH :match AND d.kind = :kind AND d.visible "
            "ORDER BY bm25(search_fts, 10.0, 10.0, 4.0, 1.0, 6.0) LIMIT :n"
        ),
        {"match": match, "kind": kind, "n": n},
    ).all()
    return {r[0]: float(r[1]) for r in rows}


def _corrected_query(words: list[str]) -> str | None:
    """A ``simple`` tsquery of the query's words, each or-ed with its closest known words (the last
    one as a prefix too); None when no word has a correction (full text already tried them)."""
    vocabulary = get_runtime().vocabulary
    parts, corrected = [], False
    for i, word in enumerate(words):
        if len(word) < 3 or word in vocabulary:  # (a known word is not a typo)
            alternatives = [word]
        else:
            close = [
                w for w, _ in vocabulary.corrections(word, CORRECTIONS_PER_WORD, CORRECTION_MIN_SIMILARITY)
            ]
            corrected |= any(w != word for w in close)
            alternatives = list(dict.fromkeys([word, *close]))
        last = i == len(words) - 1
        parts.append("(" + " | ".join(f"{a}:*" if last and a == word else a for a in alternatives) + ")")
    return " & ".join(parts) if corrected else None


def _trigram_postgres(session: Session, kind: str, q: str, words: list[str], n: int) -> dict[int, float]:
    corrected = _corrected_query(words)
    if corrected is None:
        return {}
    similarity = "word_similarity(:q, m.names)"
    found = _ranked_matches(
        session, kind, "SELECT to_tsquery('simple', :corrected) AS query", similarity, similarity,
        {"q": q, "corrected": corrected}, n,
    )  # fmt: skip
    return {doc_id: sim for doc_id, sim in found.items() if sim >= TRIGRAM_MIN_SIMILARITY}


def _trigram_sqlite(session: Session, kind: str, q: str, words: list[str], n: int) -> dict[int, float]:
    grams = sorted({w[i : i + 3] for w in words if len(w) >= 3 for i in range(len(w) - 2)})
    if not grams:
        return {}
    match = " OR ".join(_fts5_quote(g) for g in grams)
    rows = session.execute(
        text(
            "SELECT d.id, d.names FROM search_trigram JOIN search_document d ON d.id = search_trigram.rowid "
            "WHERE search_trigram MATCH :match AND d.kind = :kind AND d.visible "
            "ORDER BY bm25(search_trigram) LIMIT :n"
        ),
        {"match": match, "kind": kind, "n": n * 2},
    ).all()
    similarity = textutil.QuerySimilarity(q)
    scored = {r[0]: similarity(r[1]) for r in rows}
    best = sorted(((s, i) for i, s in scored.items() if s >= TRIGRAM_MIN_SIMILARITY), reverse=True)[:n]
    return {i: s for s, i in best}


def text_matches(session: Session, kind: str, q: str, n: int) -> dict[int, float]:
    """Full-text candidates: document id -> raw rank (higher is better)."""
    words = textutil.query_words(q)
    if not words:
        return {}
    if is_postgres(session):
        return _fts_postgres(session, kind, q, words, n)
    return _fts_sqlite(session, kind, words, n)


def trigram_matches(session: Session, kind: str, q: str, n: int) -> dict[int, float]:
    """Typo-tolerant candidates: document id -> word similarity in 0..1."""
    words = textutil.query_words(q)
    if not words or sum(len(w) for w in words) < 3:
        return {}
    folded = " ".join(words)
    if is_postgres(session):
        return _trigram_postgres(session, kind, folded, words, n)
    return _trigram_sqlite(session, kind, folded, words, n)


def semantic_matches(session: Session, kind: str, q: str, n: int) -> dict[int, float]:
    """Document id -> cosine similarity of the embeddings (at least the configured minimum)."""
    runtime = get_runtime()
    vector = runtime.query_vector(q)
    if vector is None:
        return {}
    floor = get_settings().search_semantic_min_similarity
    return {doc_id: sim for doc_id, sim in runtime.nearest(kind, vector, n) if sim >= floor}


# ------------------------------------------------------------------------------ ranking


@dataclass
class Ranked:
    doc: Any
    score: float
    # (text part, raw text rank, trigram, semantic similarity, relevance, social multiplier,
    # availability factor): what ``debug`` explains
    parts: tuple[float, float | None, float, float | None, float, float, float]
    live: tuple[int, int, str, str, uuid.UUID] | None = None  # products: live availability

    def explain(self) -> dict[str, Any]:
        text_part, text_rank, trigram, semantic, relevance, social, availability = self.parts
        d = self.doc
        return {
            "text": round(text_part, 4),
            "text_rank": text_rank,
            "trigram": round(trigram, 4),
            "semantic": round(semantic, 4) if semantic is not None else None,
            "relevance": round(relevance, 4),
            "social": {
                "popularity": round(d.popularity, 4),
                "multiplier": round(social, 4),
                "followers": d.followers,
                "likes": d.likes,
                "shares": d.shares,
                "comments": d.comments,
                "views": d.views,
                "completes": d.completes,
            },
            "availability": availability,
        }


_DOC_COLUMNS = (
    SearchDocument.id,
    SearchDocument.kind,
    SearchDocument.entity_id,
    SearchDocument.owner_id,
    SearchDocument.title,
    SearchDocument.subtitle,
    SearchDocument.hashtags,
    SearchDocument.followers,
    SearchDocument.likes,
    SearchDocument.shares,
    SearchDocument.views,
    SearchDocument.completes,
    SearchDocument.comments,
    SearchDocument.popularity,
    SearchDocument.source_created_at,
)


def _documents(session: Session, ids: list[int]) -> list[Any]:
    if not ids:
        return []
    return list(
        session.execute(
            select(*_DOC_COLUMNS).where(SearchDocument.id.in_(ids), SearchDocument.visible.is_(True))
        )
    )


def _excluded(
    session: Session, kind: str, viewer_id: uuid.UUID | None
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """(hidden clip ids, blocked user ids) for this viewer."""
    hidden = sources.hidden_clip_ids(session) if kind == DocumentKind.clip else set()
    return hidden, sources.blocked_user_ids(session, viewer_id)


def rank(
    session: Session,
    kind: str,
    docs: list[Any],
    *,
    text_scores: dict[int, float],
    trigram_scores: dict[int, float],
    semantic_scores: dict[int, float],
    viewer_id: uuid.UUID | None,
    need: int | None = None,
) -> list[Ranked]:
    """The documents ranked, best first. With ``need``, the list may stop after the first ``need``
    (their order exact): products' live availability is then read for the best candidates only,
    batch by batch, until no candidate left can overtake the ``need``-th (measured at 50,000
    products: reading it for every candidate was half of a product query's time)."""
    settings = get_settings()
    hidden, blocked = _excluded(session, kind, viewer_id)
    docs = [
        d
        for d in docs
        if d.entity_id not in hidden and d.owner_id not in blocked and d.entity_id not in blocked
    ]
    best_text = max(text_scores.values(), default=0.0) or 1.0
    floor = settings.search_semantic_min_similarity
    scored = []  # (score before availability, document, parts)
    for d in docs:
        raw_text = text_scores.get(d.id)
        text_part = 0.5 + 0.5 * raw_text / best_text if raw_text is not None else 0.0
        similarity = semantic_scores.get(d.id)
        semantic_part = (similarity - floor) / (1.0 - floor) if similarity is not None else 0.0
        trigram = trigram_scores.get(d.id, 0.0)
        relevance = (
            settings.search_weight_text * text_part
            + settings.search_weight_semantic * semantic_part
            + (settings.search_weight_trigram * trigram if raw_text is None else 0.0)
        )
        social = 1.0 + settings.search_weight_social * d.popularity
        scored.append((relevance * social, d, (text_part, raw_text, trigram, similarity, relevance, social)))
    order = lambda r: (-r.score, -r.doc.popularity, r.doc.id)  # noqa: E731
    if kind != DocumentKind.product:
        ranked = [Ranked(d, score, (*parts, 1.0)) for score, d, parts in scored]
        ranked.sort(key=order)
        return ranked
    # products: availability (a factor <= 1, or out of the list) read best candidates first
    scored.sort(key=lambda t: (-t[0], -t[1].popularity, t[1].id))
    ranked = []
    batch = len(scored) if need is None else need + 20
    start = 0
    while start < len(scored):
        chunk = scored[start : start + batch]
        live = sources.product_availability(session, [d.entity_id for _, d, _ in chunk])
        for upper, d, parts in chunk:
            state = live.get(d.entity_id)
            if state is None:  # no active SKU: nothing to buy
                continue
            availability = AVAILABILITY_FACTOR.get(state[3], 1.0)
            ranked.append(Ranked(d, upper * availability, (*parts, availability), state))
        start += len(chunk)
        batch *= 2
        if need is not None and len(ranked) >= need and start < len(scored):
            ranked.sort(key=order)
            if ranked[need - 1].score > scored[start][0]:  # nothing left can overtake
                break
    ranked.sort(key=order)
    return ranked


def search_documents(
    session: Session, kind: str, q: str, viewer_id: uuid.UUID | None, need: int = MAX_RESULTS
) -> list[Ranked]:
    """The ranked list of one kind's documents for a query (at least its first ``need``)."""
    runtime = get_runtime()
    runtime.ensure_fresh(session)
    n = get_settings().search_candidates
    text_scores = text_matches(session, kind, q, n)
    # typo tolerance when the words as typed find little
    trigram_scores = (
        trigram_matches(session, kind, q, n // 4) if len(text_scores) < TRIGRAM_WHEN_FEWER else {}
    )
    semantic_scores = semantic_matches(session, kind, q, n)
    ids = list({*text_scores, *trigram_scores, *semantic_scores})
    docs = _documents(session, ids)
    ranked = rank(
        session,
        kind,
        docs,
        text_scores=text_scores,
        trigram_scores=trigram_scores,
        semantic_scores=semantic_scores,
        viewer_id=viewer_id,
        need=need,
    )
    return [r for r in ranked if r.score > 0][:MAX_RESULTS]


def hit(r: Ranked, debug: bool) -> dict[str, Any]:
    d = r.doc
    item: dict[str, Any] = {"type": d.kind, "id": d.entity_id, "score": round(r.score, 6)}
    if d.kind == DocumentKind.clip:
        handle = (d.subtitle or "").split(" ", 1)[0] or None
        item.update(
            title=d.title,
            creator_id=d.owner_id,
            handle=handle,
            hashtags=d.hashtags.split() if d.hashtags else [],
            likes=d.likes,
            shares=d.shares,
            views=d.views,
            comments=d.comments,
        )
    elif d.kind == DocumentKind.product:
        item.update(title=d.title, brand=d.subtitle or None)
        if r.live is not None:
            available, price, currency, label, sku_id = r.live
            item.update(
                available=available, availability=label, price_minor=price, currency=currency, sku_id=sku_id
            )
    else:
        item.update(title=d.title, handle=d.subtitle, followers=d.followers, likes=d.likes)
    if debug:
        item["debug"] = r.explain()
    return {k: v for k, v in item.items() if v is not None}


def hashtag_hits(q: str, limit: int) -> list[dict[str, Any]]:
    completion = get_runtime().completion
    found = completion.suggest(textutil.normalise_tag(q) or q, MAX_RESULTS, {"hashtag"})
    return [
        {"type": "hashtag", "title": s.text, "tag": s.handle, "clips": completion.hashtag_counts.get(s.handle or "", 0),
         "score": round(score, 6)}
        for s, score in found
    ]  # fmt: skip


def search(
    session: Session,
    *,
    q: str,
    kind: str,
    viewer_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
    debug: bool,
) -> dict[str, Any]:
    offset = decode_cursor(cursor)
    if kind == "hashtag":
        runtime = get_runtime()
        runtime.ensure_fresh(session)
        items = hashtag_hits(q, limit)
        page = items[offset : offset + limit]
        more = offset + limit < len(items)
    else:
        # one more than the page: whether there is a next page
        ranked = search_documents(session, kind, q, viewer_id, need=min(MAX_RESULTS, offset + limit + 1))
        page = [hit(r, debug) for r in ranked[offset : offset + limit]]
        more = offset + limit < len(ranked)
    return {"items": page, "next_cursor": encode_cursor(offset + limit) if more else None}


def suggest(session: Session, q: str, limit: int) -> list[dict[str, Any]]:
    runtime = get_runtime()
    runtime.ensure_fresh(session)
    out = []
    for s, score in runtime.completion.suggest(q, limit):
        item: dict[str, Any] = {"type": s.type, "text": s.text, "score": round(score, 6)}
        if s.id is not None:
            item["id"] = s.id
        if s.type == "creator":
            item["handle"] = s.handle
        elif s.type == "hashtag":
            item["tag"] = s.handle
        out.append(item)
    return out


# ------------------------------------------------------------------------------ hashtag pages


def hashtag_page(
    session: Session, tag: str, *, viewer_id: uuid.UUID | None, limit: int, cursor: str | None, debug: bool
) -> dict[str, Any]:
    """Public ready clips carrying ``#tag``, ranked like search results (every clip matches the
    tag equally, so the social signals decide)."""
    offset = decode_cursor(cursor)
    normalised = textutil.normalise_tag(tag)
    ids = list(
        session.scalars(
            select(SearchDocument.id)
            .join(SearchHashtag, SearchHashtag.document_id == SearchDocument.id)
            .where(SearchHashtag.tag == normalised, SearchDocument.visible.is_(True))
            .order_by(SearchDocument.popularity.desc(), SearchDocument.id.desc())
            .limit(MAX_RESULTS + 50)
        )
    )
    docs = _documents(session, ids)
    ranked = rank(
        session,
        DocumentKind.clip,
        docs,
        text_scores=dict.fromkeys(ids, 1.0),
        trigram_scores={},
        semantic_scores={},
        viewer_id=viewer_id,
    )[:MAX_RESULTS]
    page = [hit(r, debug) for r in ranked[offset : offset + limit]]
    more = offset + limit < len(ranked)
    return {
        "tag": normalised,
        "clips": len(ranked),
        "items": page,
        "next_cursor": encode_cursor(offset + limit) if more else None,
    }


# ------------------------------------------------------------------------------ tag suggestions


def clip_vector(session: Session, clip_id: uuid.UUID, caption: str) -> np.ndarray | None:
    """The clip's stored embedding when it is current, else the caption embedded now (one short
    text, as for a query)."""
    row = session.execute(
        select(SearchDocument.embedding, SearchDocument.embedded_hash, SearchDocument.text_hash).where(
            SearchDocument.kind == DocumentKind.clip, SearchDocument.entity_id == clip_id
        )
    ).first()
    if row is not None and row[0] is not None and row[1] == row[2]:
        return embedding.from_bytes(row[0])
    if not caption.strip() or not embedding.available():
        return None
    return get_runtime().query_vector(caption)


def tag_suggestions(
    session: Session,
    *,
    clip_id: uuid.UUID,
    caption: str,
    organisation_id: uuid.UUID | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Catalogue products close to the clip's caption and hashtags (same vectors as search),
    among those the caller may tag: active products with an active SKU (a merchant: its own)."""
    runtime = get_runtime()
    runtime.ensure_fresh(session)
    vector = clip_vector(session, clip_id, caption)
    semantic: dict[int, float] = {}
    if vector is not None:
        k = 400 if organisation_id is None else 2000
        semantic = dict(runtime.nearest(DocumentKind.product, vector, k))
    # the caption's words as a text query too (a brand or product name said outright)
    words = textutil.query_words(caption.replace("#", " "))
    text_scores: dict[int, float] = {}
    if words:
        query = " OR ".join(words)
        if is_postgres(session):
            text_scores = _fts_postgres_any(session, words, 100)
        else:
            text_scores = _fts_sqlite_any(session, query, words, 100)
    docs = _documents(session, list({*semantic, *text_scores}))
    if organisation_id is not None:
        docs = [d for d in docs if d.owner_id == organisation_id]
    live = sources.product_availability(session, [d.entity_id for d in docs])
    best_text = max(text_scores.values(), default=0.0) or 1.0
    out = []
    for d in docs:
        state = live.get(d.entity_id)
        if state is None:
            continue
        similarity = semantic.get(d.id, 0.0)
        text_part = text_scores.get(d.id, 0.0) / best_text
        availability = AVAILABILITY_FACTOR.get(state[3], 1.0)
        score = (similarity + 0.3 * text_part) * availability
        out.append(
            {
                "product_id": d.entity_id,
                "sku_id": state[4],
                "title": d.title,
                "brand": d.subtitle or None,
                "price_minor": state[1],
                "currency": state[2],
                "available": state[0],
                "availability": state[3],
                "similarity": round(similarity, 4),
                "score": round(score, 6),
            }
        )
    out.sort(key=lambda item: (-item["score"], str(item["product_id"])))
    return out[:limit]


def _fts_postgres_any(session: Session, words: list[str], n: int) -> dict[int, float]:
    query = " | ".join(words)
    rows = session.execute(
        text(
            "SELECT id, ts_rank(tsv, query) FROM search_document, "
            "(SELECT to_tsquery('english', :q) || to_tsquery('french', :q) AS query) AS q "
            "WHERE kind = 'product' AND visible AND tsv @@ query ORDER BY 2 DESC LIMIT :n"
        ),
        {"q": query, "n": n},
    ).all()
    return {r[0]: float(r[1]) for r in rows}


def _fts_sqlite_any(session: Session, _query: str, words: list[str], n: int) -> dict[int, float]:
    match = "{title hashtags subtitle body}: (" + " OR ".join(_fts5_quote(w) for w in words) + ")"
    rows = session.execute(
        text(
            "SELECT d.id, -bm25(search_fts) FROM search_fts JOIN search_document d ON d.id = search_fts.rowid "
            "WHERE search_fts MATCH :match AND d.kind = 'product' AND d.visible "
            "ORDER BY bm25(search_fts) LIMIT :n"
        ),
        {"match": match, "n": n},
    ).all()
    return {r[0]: float(r[1]) for r in rows}
