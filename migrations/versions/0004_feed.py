"""Feed: events, clip counters, likes, follows

Revision ID: 0004_feed
Revises: 0003_catalog
Create Date: 2026-11-22 21:31:48.319435
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_feed"
down_revision: str | None = "0003_catalog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clip_stat",
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("views", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("completes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("replays", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("skips", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("likes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("shares", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("product_taps", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("add_to_carts", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("purchases", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("watch_ms", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("clip_id", name=op.f("pk_clip_stat")),
    )
    op.create_table(
        "clip_like",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_clip_like_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "clip_id", name=op.f("pk_clip_like")),
    )
    op.create_table(
        "creator_follow",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["user.id"], name=op.f("fk_creator_follow_creator_id_user"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_creator_follow_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "creator_id", name=op.f("pk_creator_follow")),
    )
    with op.batch_alter_table("creator_follow", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_creator_follow_creator_id"), ["creator_id"], unique=False)

    op.create_table(
        "feed_event",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("clip_id", sa.Uuid(), nullable=True),
        sa.Column("creator_id", sa.Uuid(), nullable=True),
        sa.Column("watch_ms", sa.Integer(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("client_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("aggregated", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_feed_event_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_event")),
        sa.UniqueConstraint("user_id", "event_id", name=op.f("uq_feed_event_user_id_event_id")),
    )
    with op.batch_alter_table("feed_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_event_clip_id"), ["clip_id"], unique=False)
        batch_op.create_index(
            "ix_feed_event_pending",
            ["id"],
            unique=False,
            postgresql_where=sa.text("NOT aggregated"),
            sqlite_where=sa.text("NOT aggregated"),
        )


def downgrade() -> None:
    with op.batch_alter_table("feed_event", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_feed_event_pending",
            postgresql_where=sa.text("NOT aggregated"),
            sqlite_where=sa.text("NOT aggregated"),
        )
        batch_op.drop_index(batch_op.f("ix_feed_event_clip_id"))

    op.drop_table("feed_event")
    with op.batch_alter_table("creator_follow", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_creator_follow_creator_id"))

    op.drop_table("creator_follow")
    op.drop_table("clip_like")
    op.drop_table("clip_stat")
