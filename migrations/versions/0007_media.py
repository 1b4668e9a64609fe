"""Media pipeline: clips published at their first playable rung; storyboards

Revision ID: 0007_media
Revises: 0006_event_ingest
Create Date: 2026-11-29 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_media"
down_revision: str | None = "0006_event_ingest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.add_column(sa.Column("playback_complete", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("storyboard", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.drop_column("storyboard")
        batch_op.drop_column("playback_complete")
