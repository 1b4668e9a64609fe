"""Analytics: a week grain, comments, commission in the sales rollups, sales per seller

The rollups get a third grain, the UTC week from Monday (``grain`` 2): a long range reads its full
weeks from it. Engagement week rows are summed here from the day rows. The sales rollups get the
commission booked for each sale, net of reversals (``commission_minor``); the engagement rollups
count comments posted and removed (``comment`` / ``uncomment`` events the service writes). The
clip map's entity index holds the clip id too (a merchant's first carrying clips, from the index).

``analytics_seller``: a merchant's paid orders per seller (the clip or creator an order is
attributed to), kept by the order sync beside ``analytics_sales``. The sales rollups are derived
data: this revision empties them and what the sync remembers of each order, so the next sync
(the workers' maintenance, or an API process's background thread) counts every order again into
both tables, exactly once (200,000 orders take about 100 s on PostgreSQL).

Revision ID: 0016_analytics_grains
Revises: 0015_refunds
Create Date: 2026-11-30 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_analytics_grains"
down_revision: str | None = "0015_refunds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ENGAGEMENT = [
    "impressions",
    "views",
    "watch_ms",
    "completes",
    "replays",
    "skips",
    "likes",
    "unlikes",
    "shares",
    "follows",
    "unfollows",
    "product_taps",
    "add_to_carts",
]


def _week(column: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"date_bin('7 days', {column}, TIMESTAMPTZ '2000-01-03 00:00:00+00')"  # (a Monday)
    return f"(date(substr({column}, 1, 10), '-6 days', 'weekday 1') || ' 00:00:00.000000')"


def upgrade() -> None:
    op.create_table(
        "analytics_seller",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("seller_kind", sa.String(length=8), nullable=False),
        sa.Column("grain", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seller_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("orders", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("units", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("revenue_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("commission_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "organisation_id",
            "seller_kind",
            "grain",
            "bucket",
            "seller_id",
            "currency",
            name=op.f("pk_analytics_seller"),
        ),
    )
    op.drop_index("ix_analytics_clip_map_entity", table_name="analytics_clip_map")
    op.create_index(
        "ix_analytics_clip_map_entity", "analytics_clip_map", ["entity_kind", "entity_id", "clip_id"]
    )
    for column in ("comments", "uncomments"):
        op.add_column(
            "analytics_engagement", sa.Column(column, sa.BigInteger(), server_default="0", nullable=False)
        )
    op.add_column(
        "analytics_sales",
        sa.Column("commission_minor", sa.BigInteger(), server_default="0", nullable=False),
    )
    columns = ", ".join(ENGAGEMENT)
    sums = ", ".join(f"SUM({c})" for c in ENGAGEMENT)
    week = _week("bucket")
    op.execute(
        f"INSERT INTO analytics_engagement (entity_kind, entity_id, grain, bucket, filtered, {columns}) "
        f"SELECT entity_kind, entity_id, 2, {week}, filtered, {sums} FROM analytics_engagement "
        f"WHERE grain = 1 GROUP BY entity_kind, entity_id, {week}, filtered"
    )
    # counted again by the next sync, into both tables, with their commission
    op.execute("DELETE FROM analytics_sales")
    op.execute("DELETE FROM analytics_order_fact")
    op.execute("DELETE FROM analytics_cursor WHERE name = 'orders'")


def downgrade() -> None:
    op.drop_index("ix_analytics_clip_map_entity", table_name="analytics_clip_map")
    op.create_index("ix_analytics_clip_map_entity", "analytics_clip_map", ["entity_kind", "entity_id"])
    op.execute("DELETE FROM analytics_engagement WHERE grain = 2")
    op.execute("DELETE FROM analytics_sales WHERE grain = 2")
    op.drop_table("analytics_seller")
    with op.batch_alter_table("analytics_sales") as batch:
        batch.drop_column("commission_minor")
    with op.batch_alter_table("analytics_engagement") as batch:
        batch.drop_column("uncomments")
        batch.drop_column("comments")
