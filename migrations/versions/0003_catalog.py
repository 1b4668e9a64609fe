"""Catalog, stock, reservations, ledger, imports, orders, payments, webhooks, product tags on clips.

Revision ID: 0003_catalog
Revises: 0002_clips
Create Date: 2026-11-22 21:30:43.766108
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_catalog"
down_revision: str | None = "0002_clips"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_event",
        sa.Column("provider_event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_event")),
        sa.UniqueConstraint("provider_event_id", name=op.f("uq_webhook_event_provider_event_id")),
    )
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_event_order_id"), ["order_id"], unique=False)

    op.create_table(
        "catalog_import",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("file_key", sa.String(length=255), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "succeeded",
                "completed_with_errors",
                "failed",
                name="importstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("done_rows", sa.Integer(), nullable=False),
        sa.Column("products_written", sa.Integer(), nullable=False),
        sa.Column("skus_written", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user.id"], name=op.f("fk_catalog_import_created_by_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["merchant_organisation.id"],
            name=op.f("fk_catalog_import_organisation_id_merchant_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_import")),
    )
    with op.batch_alter_table("catalog_import", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_import_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "order",
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending_payment",
                "paid",
                "cancelled",
                "expired",
                "failed",
                "refund_required",
                "refunded",
                name="orderstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_minor", sa.Integer(), nullable=False),
        sa.Column("total_minor", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("clip_id", sa.Uuid(), nullable=True),
        sa.Column("tag_id", sa.Uuid(), nullable=True),
        sa.Column("creator_id", sa.Uuid(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("total_minor >= 0", name=op.f("ck_order_total_not_negative")),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["user.id"], name=op.f("fk_order_buyer_id_user"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["merchant_organisation.id"],
            name=op.f("fk_order_organisation_id_merchant_organisation"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order")),
        sa.UniqueConstraint("buyer_id", "idempotency_key", name=op.f("uq_order_buyer_id_idempotency_key")),
    )
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_clip_id"), ["clip_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_creator_id"), ["creator_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_status"), ["status"], unique=False)

    op.create_table(
        "product",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("handle", sa.String(length=160), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("brand", sa.String(length=120), nullable=True),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["merchant_organisation.id"],
            name=op.f("fk_product_organisation_id_merchant_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
        sa.UniqueConstraint("organisation_id", "handle", name=op.f("uq_product_organisation_id_handle")),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "payment",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("charge", "refund", name="paymentkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("provider_reference", sa.String(length=255), nullable=True),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order.id"], name=op.f("fk_payment_order_id_order"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment")),
        sa.UniqueConstraint("order_id", "kind", name=op.f("uq_payment_order_id_kind")),
    )
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_order_id"), ["order_id"], unique=False)

    op.create_table(
        "product_image",
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key_prefix", sa.String(length=255), nullable=True),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("source_url", sa.String(length=1000), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("alt", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_product_image_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_image")),
    )
    with op.batch_alter_table("product_image", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_image_product_id"), ["product_id"], unique=False)

    op.create_table(
        "product_interest",
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("interest_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interest_id"],
            ["interest.id"],
            name=op.f("fk_product_interest_interest_id_interest"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_product_interest_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "interest_id", name=op.f("pk_product_interest")),
    )
    op.create_table(
        "sku",
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("price_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("compare_at_minor", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stock_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price_minor >= 0", name=op.f("ck_sku_price_not_negative")),
        sa.CheckConstraint("quantity - reserved >= 0", name=op.f("ck_sku_available_not_negative")),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_sku_quantity_not_negative")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_sku_reserved_not_negative")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["merchant_organisation.id"],
            name=op.f("fk_sku_organisation_id_merchant_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_sku_product_id_product"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sku")),
        sa.UniqueConstraint("organisation_id", "code", name=op.f("uq_sku_organisation_id_code")),
    )
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sku_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sku_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sku_stock_changed_at"), ["stock_changed_at"], unique=False)

    op.create_table(
        "order_line",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("sku_code", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.Integer(), nullable=False),
        sa.Column("line_total_minor", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_line_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order.id"], name=op.f("fk_order_line_order_id_order"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["merchant_organisation.id"],
            name=op.f("fk_order_line_organisation_id_merchant_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_order_line_product_id_product"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["sku.id"], name=op.f("fk_order_line_sku_id_sku"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_line")),
    )
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_line_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_line_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_line_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "stock_ledger_entry",
        sa.Column("sku_id", sa.Uuid(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "initial",
                "set",
                "adjust",
                "import",
                "reserve",
                "release",
                "expire",
                "sale",
                "restock",
                name="ledgerreason",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("quantity_before", sa.Integer(), nullable=False),
        sa.Column("quantity_after", sa.Integer(), nullable=False),
        sa.Column("reserved_before", sa.Integer(), nullable=False),
        sa.Column("reserved_after", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user.id"], name=op.f("fk_stock_ledger_entry_actor_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["sku.id"], name=op.f("fk_stock_ledger_entry_sku_id_sku"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_ledger_entry")),
    )
    with op.batch_alter_table("stock_ledger_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_ledger_entry_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_stock_ledger_entry_sku_id_created_at", ["sku_id", "created_at"], unique=False
        )

    op.create_table(
        "stock_reservation",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("order_line_id", sa.Uuid(), nullable=False),
        sa.Column("sku_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "active", "sold", "released", "expired", name="reservationstate", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_stock_reservation_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order.id"], name=op.f("fk_stock_reservation_order_id_order"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_line.id"],
            name=op.f("fk_stock_reservation_order_line_id_order_line"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["sku.id"], name=op.f("fk_stock_reservation_sku_id_sku"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_reservation")),
    )
    with op.batch_alter_table("stock_reservation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_reservation_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_stock_reservation_order_line_id"), ["order_line_id"], unique=False
        )
        batch_op.create_index(
            "ix_stock_reservation_sku_id_state_expires_at", ["sku_id", "state", "expires_at"], unique=False
        )

    op.create_table(
        "product_tag",
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("sku_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("start_ms", sa.Integer(), nullable=False),
        sa.Column("end_ms", sa.Integer(), nullable=False),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("label", sa.String(length=80), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active", "pending", "rejected", "removed", name="tagstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum("creator", "merchant", name="tagsource", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_ms > start_ms", name=op.f("ck_product_tag_end_after_start")),
        sa.CheckConstraint("start_ms >= 0", name=op.f("ck_product_tag_start_not_negative")),
        sa.CheckConstraint("x IS NULL OR (x >= 0 AND x <= 1)", name=op.f("ck_product_tag_x_in_unit_range")),
        sa.CheckConstraint("y IS NULL OR (y >= 0 AND y <= 1)", name=op.f("ck_product_tag_y_in_unit_range")),
        sa.ForeignKeyConstraint(
            ["clip_id"], ["clip.id"], name=op.f("fk_product_tag_clip_id_clip"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user.id"], name=op.f("fk_product_tag_created_by_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["merchant_organisation.id"],
            name=op.f("fk_product_tag_organisation_id_merchant_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["sku.id"], name=op.f("fk_product_tag_sku_id_sku"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_tag")),
    )
    with op.batch_alter_table("product_tag", schema=None) as batch_op:
        batch_op.create_index("ix_product_tag_clip_id_status", ["clip_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_tag_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_tag_sku_id"), ["sku_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("product_tag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_tag_sku_id"))
        batch_op.drop_index(batch_op.f("ix_product_tag_organisation_id"))
        batch_op.drop_index("ix_product_tag_clip_id_status")

    op.drop_table("product_tag")
    with op.batch_alter_table("stock_reservation", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_reservation_sku_id_state_expires_at")
        batch_op.drop_index(batch_op.f("ix_stock_reservation_order_line_id"))
        batch_op.drop_index(batch_op.f("ix_stock_reservation_order_id"))

    op.drop_table("stock_reservation")
    with op.batch_alter_table("stock_ledger_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_ledger_entry_sku_id_created_at")
        batch_op.drop_index(batch_op.f("ix_stock_ledger_entry_order_id"))

    op.drop_table("stock_ledger_entry")
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_line_sku_id"))
        batch_op.drop_index(batch_op.f("ix_order_line_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_order_line_order_id"))

    op.drop_table("order_line")
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sku_stock_changed_at"))
        batch_op.drop_index(batch_op.f("ix_sku_product_id"))
        batch_op.drop_index(batch_op.f("ix_sku_organisation_id"))

    op.drop_table("sku")
    op.drop_table("product_interest")
    with op.batch_alter_table("product_image", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_image_product_id"))

    op.drop_table("product_image")
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_order_id"))

    op.drop_table("payment")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_organisation_id"))

    op.drop_table("product")
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_status"))
        batch_op.drop_index(batch_op.f("ix_order_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_order_expires_at"))
        batch_op.drop_index(batch_op.f("ix_order_creator_id"))
        batch_op.drop_index(batch_op.f("ix_order_clip_id"))
        batch_op.drop_index(batch_op.f("ix_order_buyer_id"))

    op.drop_table("order")
    with op.batch_alter_table("catalog_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_import_organisation_id"))

    op.drop_table("catalog_import")
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_event_order_id"))

    op.drop_table("webhook_event")
