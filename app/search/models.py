"""The search index in the database: one document per clip, product and creator.

``search_document`` holds the text that is searched (folded names for trigram matching, the
language it is stemmed in), the social signals the ranking uses, the availability of products,
and the sentence embedding (384 float16, as bytes). The full-text structures are kept by the
database itself, from the migration:

* PostgreSQL: a stored generated ``tsv`` column (weighted ``to_tsvector`` in the document's
  language, plus the unstemmed ``simple`` words for prefixes) with a GIN index, and a GIN
  ``gin_trgm_ops`` index on ``names`` for typo-tolerant matching (``pg_trgm``).
* SQLite: two FTS5 tables over this table (``search_fts``: Porter-stemmed words with prefix
  indexes, plus light French stems; ``search_trigram``: the trigram tokenizer over ``names``),
  kept in step by triggers.

Neither is a mapped column or table: ``DATABASE_MANAGED`` lists them for the schema check.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")


class DocumentKind(StrEnum):
    clip = "clip"
    product = "product"
    creator = "creator"


class SearchDocument(Base):
    __tablename__ = "search_document"
    __table_args__ = (
        UniqueConstraint("kind", "entity_id"),
        # each process's vector index and completion index catch up on this
        Index("ix_search_document_updated_at", "updated_at"),
        # candidate lists ordered by popularity (hashtag pages, broad queries)
        Index("ix_search_document_kind_visible_popularity", "kind", "visible", "popularity"),
        # the embedding job's queue
        Index("ix_search_document_embedded", "embedded_hash", "text_hash"),
    )

    # integer key: the FTS5 rowid and the vector index's key
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[uuid.UUID]
    # clips: the creator; products: the organisation; creators: themselves
    owner_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(Text, default="")  # caption / product title / display name
    subtitle: Mapped[str] = mapped_column(Text, default="")  # creator handle and name / brand / handle
    hashtags: Mapped[str] = mapped_column(Text, default="")  # space-separated, folded, no '#'
    body: Mapped[str] = mapped_column(Text, default="")  # description, category / bio
    language: Mapped[str] = mapped_column(String(16), default="english")
    stems: Mapped[str] = mapped_column(Text, default="")  # light French stems (SQLite only reads them)
    names: Mapped[str] = mapped_column(Text, default="")  # folded title + subtitle + hashtags: trigrams
    visible: Mapped[bool] = mapped_column(default=True)
    # social signals (refreshed by the indexing job) and their combined score in 0..1
    followers: Mapped[int] = mapped_column(BigInteger, default=0)
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    shares: Mapped[int] = mapped_column(BigInteger, default=0)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    completes: Mapped[int] = mapped_column(BigInteger, default=0)
    comments: Mapped[int] = mapped_column(BigInteger, default=0)
    popularity: Mapped[float] = mapped_column(Float, default=0.0)
    # hash of the text that is embedded; the embedding job fills ``embedding`` when they differ
    text_hash: Mapped[str] = mapped_column(String(32), default="")
    embedded_hash: Mapped[str | None] = mapped_column(String(32))
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    source_created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SearchHashtag(Base):
    """Hashtags of clip documents: the hashtag pages and hashtag search."""

    __tablename__ = "search_hashtag"

    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("search_document.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SearchState(Base):
    """Watermarks of the indexing job (one row per source)."""

    __tablename__ = "search_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    synced_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# Database objects the migration creates that are not mapped here (schema checks skip them).
DATABASE_MANAGED_TABLE_PREFIXES = ("search_fts", "search_trigram")
DATABASE_MANAGED_COLUMNS = {("search_document", "tsv")}
DATABASE_MANAGED_INDEXES = {"ix_search_document_tsv", "ix_search_document_names_trgm"}
Base.metadata.info.setdefault("database_managed", []).append(
    (DATABASE_MANAGED_TABLE_PREFIXES, DATABASE_MANAGED_COLUMNS, DATABASE_MANAGED_INDEXES)
)
