"""Event ingest: no index on feed_event.clip_id; clip_like indexed by clip

Nothing looks events up by clip: the index on ``feed_event.clip_id`` only cost every ingested
event a random B-tree insert (the largest share of each batch's write on SQLite). The aggregator
recounts the likes of the clips a run touched, which needs ``clip_like`` by clip (its primary key
leads with the user).

Revision ID: 0006_event_ingest
Revises: 0005_feed_speed
Create Date: 2026-11-23 01:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_event_ingest"
down_revision: str | None = "0005_feed_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feed_event", schema=None) as batch_op:
        batch_op.drop_index("ix_feed_event_clip_id")
    with op.batch_alter_table("clip_like", schema=None) as batch_op:
        batch_op.create_index("ix_clip_like_clip_id", ["clip_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("clip_like", schema=None) as batch_op:
        batch_op.drop_index("ix_clip_like_clip_id")
    with op.batch_alter_table("feed_event", schema=None) as batch_op:
        batch_op.create_index("ix_feed_event_clip_id", ["clip_id"], unique=False)
