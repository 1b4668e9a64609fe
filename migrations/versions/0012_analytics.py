"""Analytics rollups, engagement authenticity, discovery shortlist; event context columns

The event log records who sent each event (device id, client address, the account's kind and
creation time) and whether it was flagged as inauthentic; ``feed_event_retraction`` lists the
events discounted after they were counted, for the feed engines to take back out.

Revision ID: 0012_analytics
Revises: 0011_creators
Create Date: 2026-11-29 14:35:28.622075
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_analytics"
down_revision: str | None = "0011_creators"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_account",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("engagements", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("unwatched", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("flags", sa.Integer(), server_default="0", nullable=False),
        sa.Column("codes", sa.Text(), nullable=True),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_analytics_account")),
    )
    with op.batch_alter_table("analytics_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analytics_account_flagged_at"), ["flagged_at"], unique=False)

    op.create_table(
        "analytics_account_creator",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("engagements", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("user_id", "creator_id", name=op.f("pk_analytics_account_creator")),
    )
    op.create_table(
        "analytics_burst_engager",
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint(
            "target_id", "window_start", "user_id", name=op.f("pk_analytics_burst_engager")
        ),
    )
    op.create_table(
        "analytics_clip_dim",
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("clip_id", name=op.f("pk_analytics_clip_dim")),
    )
    with op.batch_alter_table("analytics_clip_dim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_analytics_clip_dim_creator_id"), ["creator_id"], unique=False)

    op.create_table(
        "analytics_clip_map",
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("entity_kind", sa.String(length=8), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("clip_id", "entity_kind", "entity_id", name=op.f("pk_analytics_clip_map")),
    )
    with op.batch_alter_table("analytics_clip_map", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_clip_map_entity", ["entity_kind", "entity_id"], unique=False)

    op.create_table(
        "analytics_creator_viewer",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("engagements", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("creator_id", "user_id", name=op.f("pk_analytics_creator_viewer")),
    )
    op.create_table(
        "analytics_cursor",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_cursor")),
    )
    op.create_table(
        "analytics_engagement",
        sa.Column("entity_kind", sa.String(length=8), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("grain", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filtered", sa.Boolean(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("views", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("watch_ms", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("completes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("replays", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("skips", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("likes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("unlikes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("shares", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("follows", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("unfollows", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("product_taps", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("add_to_carts", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "entity_kind", "entity_id", "grain", "bucket", "filtered", name=op.f("pk_analytics_engagement")
        ),
    )
    op.create_table(
        "analytics_flag_tally",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("events", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("creator_id", "day", "code", name=op.f("pk_analytics_flag_tally")),
    )
    op.create_table(
        "analytics_order_fact",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_analytics_order_fact")),
    )
    op.create_table(
        "analytics_reach",
        sa.Column("entity_kind", sa.String(length=8), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint(
            "entity_kind", "entity_id", "bucket", "user_id", name=op.f("pk_analytics_reach")
        ),
    )
    op.create_table(
        "analytics_sales",
        sa.Column("entity_kind", sa.String(length=8), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("grain", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("orders", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("units", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("revenue_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "entity_kind", "entity_id", "grain", "bucket", "currency", name=op.f("pk_analytics_sales")
        ),
    )
    op.create_table(
        "analytics_shared_key",
        sa.Column("key_kind", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_kind", "key", "user_id", name=op.f("pk_analytics_shared_key")),
    )
    op.create_table(
        "analytics_shortlist",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "creator_id", name=op.f("pk_analytics_shortlist")),
    )
    op.create_table(
        "analytics_watch",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "clip_id", name=op.f("pk_analytics_watch")),
    )
    op.create_table(
        "feed_event_retraction",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_event_retraction")),
    )
    with op.batch_alter_table("feed_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("client_ip", sa.String(length=45), nullable=True))
        batch_op.add_column(sa.Column("account_guest", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("account_created_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("flagged", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("feed_event", schema=None) as batch_op:
        batch_op.drop_column("flagged")
        batch_op.drop_column("account_created_at")
        batch_op.drop_column("account_guest")
        batch_op.drop_column("client_ip")
        batch_op.drop_column("device_id")

    op.drop_table("feed_event_retraction")
    op.drop_table("analytics_watch")
    op.drop_table("analytics_shortlist")
    op.drop_table("analytics_shared_key")
    op.drop_table("analytics_sales")
    op.drop_table("analytics_reach")
    op.drop_table("analytics_order_fact")
    op.drop_table("analytics_flag_tally")
    op.drop_table("analytics_engagement")
    op.drop_table("analytics_cursor")
    op.drop_table("analytics_creator_viewer")
    with op.batch_alter_table("analytics_clip_map", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_clip_map_entity")

    op.drop_table("analytics_clip_map")
    with op.batch_alter_table("analytics_clip_dim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_clip_dim_creator_id"))

    op.drop_table("analytics_clip_dim")
    op.drop_table("analytics_burst_engager")
    op.drop_table("analytics_account_creator")
    with op.batch_alter_table("analytics_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_analytics_account_flagged_at"))

    op.drop_table("analytics_account")
