"""Keeping ``search_document`` in step with clips, products, creators and their social signals.

A catch-up scan on ``updated_at``: each source has a watermark in ``search_state``; a round reads
the rows changed since (minus an overlap, so a transaction that committed late is not missed),
writes the documents whose text or visibility changed, and refreshes the signals of clips whose
counters moved and of creators who gained followers. A full round (no watermark, or the periodic
maintenance job) rereads everything, which also catches unfollows and deletions. Writes are
idempotent, so several processes running rounds at once only waste work.

Embeddings are computed apart, in batches, by :func:`embed_pending` (a job), never in a request:
a document whose text changed has ``text_hash != embedded_hash`` until then.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.search import sources, text
from app.search.models import DocumentKind, SearchDocument, SearchHashtag, SearchState

OVERLAP = timedelta(seconds=10)
TEXT_FIELDS = ("owner_id", "title", "subtitle", "hashtags", "body", "language", "stems", "names", "visible")
SIGNAL_FIELDS = ("followers", "likes", "shares", "views", "completes", "comments")


def embedding_text(kind: str, title: str, subtitle: str, body: str) -> str:
    """What the sentence model reads for a document."""
    if kind == DocumentKind.product:
        return ". ".join(x for x in (title, subtitle, body[:300]) if x)
    if kind == DocumentKind.creator:
        return ". ".join(x for x in (title, body[:300]) if x)
    return title


def _hash(value: str) -> str:
    return hashlib.blake2b(value.encode(), digest_size=16).hexdigest()


def document_fields(doc: sources.SourceDoc) -> dict[str, Any]:
    tags = text.hashtags(doc.title) if doc.kind == DocumentKind.clip else []
    language = text.detect_language(f"{doc.title} {doc.body}")
    names = text.fold(" ".join(x for x in (doc.title, doc.subtitle, " ".join(tags)) if x))[:2000]
    return {
        "owner_id": doc.owner_id,
        "title": doc.title,
        "subtitle": doc.subtitle,
        "hashtags": " ".join(tags),
        "body": doc.body,
        "language": language,
        "stems": text.french_stems(f"{doc.title} {doc.body}") if language == "french" else "",
        "names": names,
        "visible": doc.visible,
        "text_hash": _hash(embedding_text(doc.kind, doc.title, doc.subtitle, doc.body)),
    }


def popularity(kind: str, s: dict[str, int]) -> float:
    """The social signals folded into 0..1 (log-damped, so a few huge numbers do not swamp the
    text relevance). Clips: likes, shares, comments, completion rate (smoothed towards 25 % for
    clips with few views), the creator's followers. Creators: followers and likes."""
    followers = s.get("followers", 0)
    if kind == DocumentKind.clip:
        completion = (s.get("completes", 0) + 1) / (s.get("views", 0) + 4)
        raw = (
            math.log1p(s.get("likes", 0))
            + 1.5 * math.log1p(s.get("shares", 0))
            + 1.2 * math.log1p(s.get("comments", 0))
            + 0.5 * math.log1p(followers)
            + 2.0 * min(completion, 1.0)
        )
    elif kind == DocumentKind.creator:
        raw = 1.2 * math.log1p(followers) + 0.3 * math.log1p(s.get("likes", 0))
    else:
        raw = math.log1p(s.get("likes", 0))
    return 1.0 - math.exp(-raw / 6.0)


# ------------------------------------------------------------------------------ documents


def upsert_documents(session: Session, docs: list[sources.SourceDoc]) -> int:
    """Write the documents whose searchable fields changed; returns how many were written."""
    written = 0
    for start in range(0, len(docs), sources.CHUNK):
        chunk = docs[start : start + sources.CHUNK]
        by_kind: dict[str, list[uuid.UUID]] = {}
        for d in chunk:
            by_kind.setdefault(d.kind, []).append(d.entity_id)
        existing: dict[tuple[str, uuid.UUID], Any] = {}
        for kind, ids in by_kind.items():
            rows = session.execute(
                select(
                    SearchDocument.id,
                    SearchDocument.entity_id,
                    SearchDocument.text_hash,
                    *[getattr(SearchDocument, f) for f in TEXT_FIELDS],
                ).where(SearchDocument.kind == kind, SearchDocument.entity_id.in_(ids))
            )
            existing.update({(kind, r.entity_id): r for r in rows})
        new_rows: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        tag_changes: dict[int, list[str]] = {}
        new_tags: list[tuple[sources.SourceDoc, list[str]]] = []
        now = utcnow()
        for d in chunk:
            fields = document_fields(d)
            row = existing.get((d.kind, d.entity_id))
            if row is None:
                new_rows.append(
                    {"kind": d.kind, "entity_id": d.entity_id, "source_created_at": d.created_at,
                     "updated_at": now, **fields, **dict.fromkeys(SIGNAL_FIELDS, 0), "popularity": 0.0}
                )  # fmt: skip
                if fields["hashtags"]:
                    new_tags.append((d, fields["hashtags"].split()))
                continue
            if all(getattr(row, f) == fields[f] for f in (*TEXT_FIELDS, "text_hash")):
                continue
            updates.append({"_id": row.id, "updated_at": now, **fields})
            if row.hashtags != fields["hashtags"]:
                tag_changes[row.id] = fields["hashtags"].split()
        if new_rows:
            session.execute(insert(SearchDocument), new_rows)
        if updates:
            stmt = (
                update(SearchDocument)
                .where(SearchDocument.id == bindparam("_id"))
                .values({f: bindparam(f) for f in (*TEXT_FIELDS, "text_hash", "updated_at")})
            )
            session.connection().execute(stmt, updates)
        if new_tags:
            new_ids: dict[uuid.UUID, int] = {
                r[0]: r[1]
                for r in session.execute(
                    select(SearchDocument.entity_id, SearchDocument.id).where(
                        SearchDocument.kind == DocumentKind.clip,
                        SearchDocument.entity_id.in_([d.entity_id for d, _ in new_tags]),
                    )
                )
            }
            for d, tags in new_tags:
                tag_changes[new_ids[d.entity_id]] = tags
        if tag_changes:
            session.execute(delete(SearchHashtag).where(SearchHashtag.document_id.in_(list(tag_changes))))
            tag_rows = [
                {"tag": t, "document_id": doc_id} for doc_id, tags in tag_changes.items() for t in tags
            ]
            if tag_rows:
                session.execute(insert(SearchHashtag), tag_rows)
        written += len(new_rows) + len(updates)
    session.flush()
    return written


# ------------------------------------------------------------------------------ signals


def _doc_ids(session: Session, kind: str, entity_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
    out: dict[uuid.UUID, Any] = {}
    ids = list(entity_ids)
    for start in range(0, len(ids), sources.CHUNK):
        rows = session.execute(
            select(
                SearchDocument.id,
                SearchDocument.entity_id,
                SearchDocument.owner_id,
                *[getattr(SearchDocument, f) for f in SIGNAL_FIELDS],
            ).where(
                SearchDocument.kind == kind, SearchDocument.entity_id.in_(ids[start : start + sources.CHUNK])
            )
        )
        out.update({r.entity_id: r for r in rows})
    return out


def _write_signals(
    session: Session, kind: str, docs: dict[uuid.UUID, Any], values: dict[uuid.UUID, dict[str, int]]
) -> int:
    updates = []
    now = utcnow()
    for entity_id, row in docs.items():
        signals = values.get(entity_id, {})
        merged = {f: int(signals.get(f, getattr(row, f))) for f in SIGNAL_FIELDS}
        if all(merged[f] == getattr(row, f) for f in SIGNAL_FIELDS):
            continue
        updates.append({"_id": row.id, "popularity": popularity(kind, merged), "updated_at": now, **merged})
    if updates:
        stmt = (
            update(SearchDocument)
            .where(SearchDocument.id == bindparam("_id"))
            .values({f: bindparam(f) for f in (*SIGNAL_FIELDS, "popularity", "updated_at")})
        )
        session.connection().execute(stmt, updates)
    return len(updates)


def refresh_clip_signals(session: Session, clip_ids: list[uuid.UUID]) -> int:
    docs = _doc_ids(session, DocumentKind.clip, clip_ids)
    if not docs:
        return 0
    ids = list(docs)
    stats = sources.clip_stats(session, ids)
    followers = sources.follower_counts(session, list({r.owner_id for r in docs.values() if r.owner_id}))
    extra = sources.extra_signals(session, DocumentKind.clip, ids)
    values: dict[uuid.UUID, dict[str, int]] = {}
    for entity_id, row in docs.items():
        v = {"likes": 0, "shares": 0, "views": 0, "completes": 0, **stats.get(entity_id, {})}
        v["followers"] = followers.get(row.owner_id, 0) if row.owner_id else 0
        for name, counts in extra.items():
            v[name] = counts.get(entity_id, 0)
        values[entity_id] = v
    return _write_signals(session, DocumentKind.clip, docs, values)


def refresh_creator_signals(session: Session, creator_ids: list[uuid.UUID]) -> int:
    docs = _doc_ids(session, DocumentKind.creator, creator_ids)
    if not docs:
        return 0
    followers = sources.follower_counts(session, list(docs))
    values = {entity_id: {"followers": followers.get(entity_id, 0)} for entity_id in docs}
    for name, counts in sources.extra_signals(session, DocumentKind.creator, list(docs)).items():
        for entity_id in docs:
            values[entity_id][name] = counts.get(entity_id, 0)
    written = _write_signals(session, DocumentKind.creator, docs, values)
    # the creators' clips carry their follower count too
    clip_ids = list(
        session.scalars(
            select(SearchDocument.entity_id).where(
                SearchDocument.kind == DocumentKind.clip, SearchDocument.owner_id.in_(list(docs))
            )
        )
    )
    return written + (refresh_clip_signals(session, clip_ids) if clip_ids else 0)


# ------------------------------------------------------------------------------ rounds


def _watermark(session: Session, name: str) -> datetime | None:
    return session.scalar(select(SearchState.synced_at).where(SearchState.name == name))


def _set_watermark(session: Session, name: str, value: datetime) -> None:
    state = session.get(SearchState, name)
    if state is None:
        session.add(SearchState(name=name, synced_at=value))
    else:
        state.synced_at = value
    session.flush()


def sync_changes(session: Session, *, full: bool = False) -> dict[str, int]:
    """One catch-up round over every source; ``full`` rereads everything."""
    counts: dict[str, int] = {}
    for name, reader in (
        ("clips", sources.changed_clips),
        ("products", sources.changed_products),
        ("creators", sources.changed_creators),
    ):
        started = utcnow()
        mark = None if full else _watermark(session, name)
        docs = reader(session, mark - OVERLAP if mark else None)
        counts[name] = upsert_documents(session, docs)
        if full:
            counts[name] += _hide_missing(session, name[:-1], {d.entity_id for d in docs})
        elif name == "clips":
            refresh_clip_signals(session, [d.entity_id for d in docs])
        elif name == "creators":
            refresh_creator_signals(session, [d.entity_id for d in docs])
        if name == "creators" and docs and not full:
            # a renamed creator's clips show the new handle
            counts["clips"] += upsert_documents(session, _clips_of(session, [d.entity_id for d in docs]))
        _set_watermark(session, name, started)
    started = utcnow()
    mark = None if full else _watermark(session, "signals")
    since = mark - OVERLAP if mark else None
    clip_ids = sources.clips_with_changed_stats(session, since)
    creator_ids = sources.creators_with_new_follows(session, since)
    if full:
        clip_ids = list(
            session.scalars(select(SearchDocument.entity_id).where(SearchDocument.kind == DocumentKind.clip))
        )
        creator_ids = list(
            session.scalars(
                select(SearchDocument.entity_id).where(SearchDocument.kind == DocumentKind.creator)
            )
        )
    counts["signals"] = refresh_clip_signals(session, clip_ids) + refresh_creator_signals(
        session, creator_ids
    )
    _set_watermark(session, "signals", started)
    if full:
        _set_watermark(session, "full", started)
    return counts


def full_round_due(session: Session, every: timedelta) -> bool:
    """Whether the last full round is older than ``every`` (or there was none)."""
    last = _watermark(session, "full")
    return last is None or utcnow() - last >= every


def _hide_missing(session: Session, kind: str, present: set[uuid.UUID]) -> int:
    """Documents whose source row is gone (hard-deleted) stop being visible."""
    rows = session.execute(
        select(SearchDocument.id, SearchDocument.entity_id).where(
            SearchDocument.kind == kind, SearchDocument.visible.is_(True)
        )
    ).all()
    gone = [r.id for r in rows if r.entity_id not in present]
    if gone:
        session.execute(
            update(SearchDocument)
            .where(SearchDocument.id.in_(gone))
            .values(visible=False, updated_at=utcnow())
        )
    return len(gone)


def _clips_of(session: Session, creator_ids: list[uuid.UUID]) -> list[sources.SourceDoc]:
    clip_ids = list(
        session.scalars(
            select(SearchDocument.entity_id).where(
                SearchDocument.kind == DocumentKind.clip, SearchDocument.owner_id.in_(creator_ids)
            )
        )
    )
    return sources.changed_clips(session, None, ids=clip_ids) if clip_ids else []


# ------------------------------------------------------------------------------ embeddings


def pending_embeddings(session: Session, limit: int) -> list[tuple[int, str, str]]:
    """Documents whose embedding is missing or stale: (id, text hash, text to embed)."""
    rows = session.execute(
        select(
            SearchDocument.id,
            SearchDocument.kind,
            SearchDocument.title,
            SearchDocument.subtitle,
            SearchDocument.body,
            SearchDocument.text_hash,
        )
        .where(
            SearchDocument.visible.is_(True),
            or_(
                SearchDocument.embedded_hash.is_(None),
                SearchDocument.embedded_hash != SearchDocument.text_hash,
            ),
        )
        .limit(limit)
    ).all()
    return [(r.id, r.text_hash, embedding_text(r.kind, r.title, r.subtitle, r.body)) for r in rows]


def store_embeddings(session: Session, rows: list[tuple[int, str, bytes]]) -> int:
    """Store (id, text hash it was computed from, vector bytes); skipped when the text changed
    meanwhile (the next round embeds the new text)."""
    if not rows:
        return 0
    now = utcnow()
    stmt = (
        update(SearchDocument)
        .where(and_(SearchDocument.id == bindparam("_id"), SearchDocument.text_hash == bindparam("_hash")))
        .values(embedding=bindparam("_vec"), embedded_hash=bindparam("_hash"), updated_at=now)
    )
    result = session.connection().execute(
        stmt, [{"_id": doc_id, "_hash": text_hash, "_vec": vec} for doc_id, text_hash, vec in rows]
    )
    return int(result.rowcount or 0)
