"""Feed speed: an index for the engine's scan of recently changed clips

The feed engine of every API process looks, about once a second, for clips changed since its last
look (``updated_at > t``); the ``(status, updated_at)`` index cannot serve that range, so the scan
read the whole clip table each time.

Revision ID: 0005_feed_speed
Revises: 0004_feed
Create Date: 2026-11-23 00:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_feed_speed"
down_revision: str | None = "0004_feed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.create_index("ix_clip_updated_at", ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.drop_index("ix_clip_updated_at")
