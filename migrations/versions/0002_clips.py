"""Clips: clip, clip_interest, upload_session.

Revision ID: 0002_clips
Revises: 0001_foundation
Create Date: 2026-11-22 21:32:57.804277
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_clips"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clip",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "uploading",
                "processing",
                "ready",
                "failed",
                "deleted",
                name="clipstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column(
            "visibility",
            sa.Enum("public", "unlisted", "private", name="visibility", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("processing_progress", sa.Integer(), nullable=False),
        sa.Column("failure_code", sa.String(length=32), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("aspect_ratio", sa.Double(), nullable=True),
        sa.Column("has_audio", sa.Boolean(), nullable=True),
        sa.Column("poster_key", sa.String(length=512), nullable=True),
        sa.Column("thumbnail_keys", sa.JSON(), nullable=True),
        sa.Column("renditions", sa.JSON(), nullable=True),
        sa.Column("hls_master_key", sa.String(length=512), nullable=True),
        sa.Column("mp4_key", sa.String(length=512), nullable=True),
        sa.Column("source_key", sa.String(length=512), nullable=True),
        sa.Column("storage_prefix", sa.String(length=255), nullable=False),
        sa.Column("processing_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processing_attempts", sa.Integer(), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["user.id"], name=op.f("fk_clip_creator_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clip")),
    )
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clip_creator_id"), ["creator_id"], unique=False)
        batch_op.create_index("ix_clip_status_updated_at", ["status", "updated_at"], unique=False)

    op.create_table(
        "clip_interest",
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("interest_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"], ["clip.id"], name=op.f("fk_clip_interest_clip_id_clip"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["interest_id"],
            ["interest.id"],
            name=op.f("fk_clip_interest_interest_id_interest"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("clip_id", "interest_id", name=op.f("pk_clip_interest")),
    )
    with op.batch_alter_table("clip_interest", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clip_interest_interest_id"), ["interest_id"], unique=False)

    op.create_table(
        "upload_session",
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("declared_size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("checksum_sha256", sa.String(length=64), nullable=True),
        sa.Column(
            "mode",
            sa.Enum("single", "multipart", "proxy", name="uploadmode", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("multipart_upload_id", sa.String(length=1024), nullable=True),
        sa.Column("part_size", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "completed",
                "aborted",
                "expired",
                name="uploadstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"], ["clip.id"], name=op.f("fk_upload_session_clip_id_clip"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_upload_session_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_session")),
    )
    with op.batch_alter_table("upload_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upload_session_clip_id"), ["clip_id"], unique=False)
        batch_op.create_index("ix_upload_session_status_expires_at", ["status", "expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_upload_session_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("upload_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_session_user_id"))
        batch_op.drop_index("ix_upload_session_status_expires_at")
        batch_op.drop_index(batch_op.f("ix_upload_session_clip_id"))

    op.drop_table("upload_session")
    with op.batch_alter_table("clip_interest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clip_interest_interest_id"))

    op.drop_table("clip_interest")
    with op.batch_alter_table("clip", schema=None) as batch_op:
        batch_op.drop_index("ix_clip_status_updated_at")
        batch_op.drop_index(batch_op.f("ix_clip_creator_id"))

    op.drop_table("clip")
