"""Search: documents, hashtags, full-text structures kept by the database

PostgreSQL: ``pg_trgm``; a stored generated ``tsvector`` column (weighted, in the document's
language: English or French Snowball stems, plus unstemmed ``simple`` words for prefixes) with a
GIN index; a GIN trigram index on the folded names. SQLite: FTS5 tables (Porter stems with
prefix indexes; trigram tokenizer) kept in step by triggers.

Revision ID: 0014_search
Revises: 0013_social
Create Date: 2026-11-29 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_search"
down_revision: str | None = "0013_social"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tsv(config: str) -> str:
    return (
        f"setweight(to_tsvector('{config}'::regconfig, coalesce(title, '') || ' ' || coalesce(hashtags, '')), 'A')"
        f" || setweight(to_tsvector('simple'::regconfig, coalesce(subtitle, '')), 'B')"
        f" || setweight(to_tsvector('{config}'::regconfig, coalesce(body, '')), 'C')"
        f" || setweight(to_tsvector('simple'::regconfig, coalesce(names, '')), 'D')"
    )


PG_TSV = (
    "ALTER TABLE search_document ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
    f"(CASE WHEN language = 'french' THEN {_tsv('french')} ELSE {_tsv('english')} END) STORED"
)

FTS_COLUMNS = "title, hashtags, subtitle, body, stems"
SQLITE_UP = [
    # external-content FTS5 tables: the text lives in search_document only
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    f"{FTS_COLUMNS}, content='search_document', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2', prefix='2 3 4')",
    "CREATE VIRTUAL TABLE search_trigram USING fts5("
    "names, content='search_document', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER search_document_ai AFTER INSERT ON search_document BEGIN "
    f"INSERT INTO search_fts(rowid, {FTS_COLUMNS}) "
    "VALUES (new.id, new.title, new.hashtags, new.subtitle, new.body, new.stems); "
    "INSERT INTO search_trigram(rowid, names) VALUES (new.id, new.names); END",
    "CREATE TRIGGER search_document_ad AFTER DELETE ON search_document BEGIN "
    f"INSERT INTO search_fts(search_fts, rowid, {FTS_COLUMNS}) "
    "VALUES ('delete', old.id, old.title, old.hashtags, old.subtitle, old.body, old.stems); "
    "INSERT INTO search_trigram(search_trigram, rowid, names) VALUES ('delete', old.id, old.names); END",
    "CREATE TRIGGER search_document_au AFTER UPDATE OF title, hashtags, subtitle, body, stems, names "
    "ON search_document BEGIN "
    f"INSERT INTO search_fts(search_fts, rowid, {FTS_COLUMNS}) "
    "VALUES ('delete', old.id, old.title, old.hashtags, old.subtitle, old.body, old.stems); "
    "INSERT INTO search_trigram(search_trigram, rowid, names) VALUES ('delete', old.id, old.names); "
    f"INSERT INTO search_fts(rowid, {FTS_COLUMNS}) "
    "VALUES (new.id, new.title, new.hashtags, new.subtitle, new.body, new.stems); "
    "INSERT INTO search_trigram(rowid, names) VALUES (new.id, new.names); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS search_document_au",
    "DROP TRIGGER IF EXISTS search_document_ad",
    "DROP TRIGGER IF EXISTS search_document_ai",
    "DROP TABLE IF EXISTS search_trigram",
    "DROP TABLE IF EXISTS search_fts",
]


def upgrade() -> None:
    op.create_table(
        "search_document",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("subtitle", sa.Text(), nullable=False),
        sa.Column("hashtags", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("stems", sa.Text(), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=False),
        sa.Column("likes", sa.BigInteger(), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("completes", sa.BigInteger(), nullable=False),
        sa.Column("comments", sa.BigInteger(), nullable=False),
        sa.Column("popularity", sa.Float(), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("embedded_hash", sa.String(length=32), nullable=True),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("source_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_document")),
        sa.UniqueConstraint("kind", "entity_id", name=op.f("uq_search_document_kind_entity_id")),
    )
    with op.batch_alter_table("search_document", schema=None) as batch_op:
        batch_op.create_index("ix_search_document_updated_at", ["updated_at"], unique=False)
        batch_op.create_index(
            "ix_search_document_kind_visible_popularity", ["kind", "visible", "popularity"], unique=False
        )
        batch_op.create_index("ix_search_document_embedded", ["embedded_hash", "text_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_search_document_owner_id"), ["owner_id"], unique=False)
    op.create_table(
        "search_hashtag",
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["search_document.id"],
            name=op.f("fk_search_hashtag_document_id_search_document"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tag", "document_id", name=op.f("pk_search_hashtag")),
    )
    with op.batch_alter_table("search_hashtag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_hashtag_document_id"), ["document_id"], unique=False)
    op.create_table(
        "search_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_search_state")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(PG_TSV)
        op.execute("CREATE INDEX ix_search_document_tsv ON search_document USING gin (tsv)")
        op.execute(
            "CREATE INDEX ix_search_document_names_trgm ON search_document USING gin (names gin_trgm_ops)"
        )
    elif dialect == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_document_names_trgm")
        op.execute("DROP INDEX IF EXISTS ix_search_document_tsv")
        # the extension stays: other objects may use it
    with op.batch_alter_table("search_hashtag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_hashtag_document_id"))
    op.drop_table("search_hashtag")
    op.drop_table("search_state")
    with op.batch_alter_table("search_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_document_owner_id"))
        batch_op.drop_index("ix_search_document_embedded")
        batch_op.drop_index("ix_search_document_kind_visible_popularity")
        batch_op.drop_index("ix_search_document_updated_at")
    op.drop_table("search_document")
