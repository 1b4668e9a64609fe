"""Creator programme: admission, rates and collaborations, captured commissions, the append-only
commission ledger, payouts, storefront curation and idea lists

Revision ID: 0011_creators
Revises: 0009_jobs
Create Date: 2026-11-29 14:35:58.537046
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_creators"
down_revision: str | None = "0009_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admission_threshold",
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_admission_threshold")),
    )
    op.create_table(
        "creator_account",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["user.id"], name=op.f("fk_creator_account_creator_id_user"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("creator_id", "currency", name=op.f("pk_creator_account")),
    )
    op.create_table(
        "creator_admission",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "admitted",
                "waitlisted",
                "rejected",
                "suspended",
                name="admissionstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("category_chosen", sa.Boolean(), nullable=False),
        sa.Column("evaluation", sa.JSON(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_evaluation_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overridden_by", sa.Uuid(), nullable=True),
        sa.Column("override_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["user.id"], name=op.f("fk_creator_admission_creator_id_user"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["overridden_by"],
            ["user.id"],
            name=op.f("fk_creator_admission_overridden_by_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("creator_id", name=op.f("pk_creator_admission")),
    )
    with op.batch_alter_table("creator_admission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_creator_admission_next_evaluation_at"), ["next_evaluation_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_creator_admission_status"), ["status"], unique=False)

    op.create_table(
        "idea_list",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["user.id"], name=op.f("fk_idea_list_creator_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idea_list")),
    )
    with op.batch_alter_table("idea_list", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idea_list_creator_id"), ["creator_id"], unique=False)

    op.create_table(
        "merchant_programme",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("default_rate_bps", sa.Integer(), nullable=True),
        sa.Column("return_window_days", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["merchant_organisation.id"],
            name=op.f("fk_merchant_programme_organisation_id_merchant_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_merchant_programme")),
    )
    op.create_table(
        "order_line_commission",
        sa.Column("order_line_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("clip_id", sa.Uuid(), nullable=True),
        sa.Column("tag_id", sa.Uuid(), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "buy_button", "product_tap", "view", name="attributionsource", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("touched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("collaboration_id", sa.Uuid(), nullable=True),
        sa.Column("rate_source", sa.String(length=32), nullable=False),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("base_minor", sa.Integer(), nullable=False),
        sa.Column("commission_minor", sa.Integer(), nullable=False),
        sa.Column("no_commission_reason", sa.String(length=32), nullable=True),
        sa.Column(
            "state",
            sa.Enum("pending", "payable", "void", name="commissionstate", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("refunded_minor", sa.Integer(), nullable=False),
        sa.Column("payable_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "commission_minor >= 0", name=op.f("ck_order_line_commission_commission_not_negative")
        ),
        sa.CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= base_minor",
            name=op.f("ck_order_line_commission_refund_in_range"),
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["user.id"],
            name=op.f("fk_order_line_commission_creator_id_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_line_commission")),
        sa.UniqueConstraint("order_line_id", name=op.f("uq_order_line_commission_order_line_id")),
    )
    with op.batch_alter_table("order_line_commission", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_line_commission_creator_id_product_id", ["creator_id", "product_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_order_line_commission_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_order_line_commission_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_order_line_commission_payable_at"), ["payable_at"], unique=False)

    op.create_table(
        "commission_balance_checkpoint",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("upto_entry_id", sa.BigInteger(), nullable=False),
        sa.Column("entry_count", sa.BigInteger(), nullable=False),
        sa.Column("pending_minor", sa.BigInteger(), nullable=False),
        sa.Column("payable_minor", sa.BigInteger(), nullable=False),
        sa.Column("in_payout_minor", sa.BigInteger(), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["user.id"],
            name=op.f("fk_commission_balance_checkpoint_creator_id_user"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("creator_id", "currency", name=op.f("pk_commission_balance_checkpoint")),
    )
    op.create_table(
        "payout_run",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("threshold_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user.id"], name=op.f("fk_payout_run_created_by_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_run")),
        sa.UniqueConstraint("key", name=op.f("uq_payout_run_key")),
    )
    op.create_table(
        "collaboration",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("open", "targeted", name="collaborationkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("brief", sa.Text(), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "rate_bps >= 0 AND rate_bps <= 10000", name=op.f("ck_collaboration_rate_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user.id"], name=op.f("fk_collaboration_created_by_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["merchant_organisation.id"],
            name=op.f("fk_collaboration_organisation_id_merchant_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_collaboration_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collaboration")),
    )
    with op.batch_alter_table("collaboration", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_collaboration_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_collaboration_product_id"), ["product_id"], unique=False)

    op.create_table(
        "commission_rate",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("scope_key", sa.String(length=260), nullable=False),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.Column("product_id", sa.Uuid(), nullable=True),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "rate_bps >= 0 AND rate_bps <= 10000", name=op.f("ck_commission_rate_rate_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["merchant_organisation.id"],
            name=op.f("fk_commission_rate_organisation_id_merchant_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_commission_rate_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_rate")),
        sa.UniqueConstraint(
            "organisation_id", "scope_key", name=op.f("uq_commission_rate_organisation_id_scope_key")
        ),
    )
    with op.batch_alter_table("commission_rate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commission_rate_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "idea_list_item",
        sa.Column("idea_list_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["idea_list_id"],
            ["idea_list.id"],
            name=op.f("fk_idea_list_item_idea_list_id_idea_list"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_idea_list_item_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("idea_list_id", "product_id", name=op.f("pk_idea_list_item")),
    )
    op.create_table(
        "payout",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("created", "paid", "failed", name="payoutstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("provider_reference", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payout_amount_positive")),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["user.id"], name=op.f("fk_payout_creator_id_user"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["payout_run.id"], name=op.f("fk_payout_run_id_payout_run"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout")),
        sa.UniqueConstraint(
            "run_id", "creator_id", "currency", name=op.f("uq_payout_run_id_creator_id_currency")
        ),
    )
    with op.batch_alter_table("payout", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payout_creator_id"), ["creator_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payout_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payout_status"), ["status"], unique=False)

    op.create_table(
        "storefront_product",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["user.id"],
            name=op.f("fk_storefront_product_creator_id_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_storefront_product_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("creator_id", "product_id", name=op.f("pk_storefront_product")),
    )
    op.create_table(
        "collaboration_invitation",
        sa.Column("collaboration_id", sa.Uuid(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("invited", "accepted", "declined", name="invitationstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["collaboration_id"],
            ["collaboration.id"],
            name=op.f("fk_collaboration_invitation_collaboration_id_collaboration"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["user.id"],
            name=op.f("fk_collaboration_invitation_creator_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("collaboration_id", "creator_id", name=op.f("pk_collaboration_invitation")),
    )
    with op.batch_alter_table("collaboration_invitation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_collaboration_invitation_creator_id"), ["creator_id"], unique=False
        )

    op.create_table(
        "commission_entry",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "commission",
                "release",
                "reversal",
                "payout",
                "payout_paid",
                "payout_failed",
                name="entrykind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("pending_delta", sa.BigInteger(), nullable=False),
        sa.Column("payable_delta", sa.BigInteger(), nullable=False),
        sa.Column("in_payout_delta", sa.BigInteger(), nullable=False),
        sa.Column("paid_delta", sa.BigInteger(), nullable=False),
        sa.Column("line_id", sa.Uuid(), nullable=True),
        sa.Column("reverses_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("payout_id", sa.Uuid(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("clip_id", sa.Uuid(), nullable=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("memo", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["user.id"], name=op.f("fk_commission_entry_creator_id_user"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["order_line_commission.id"],
            name=op.f("fk_commission_entry_line_id_order_line_commission"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payout_id"],
            ["payout.id"],
            name=op.f("fk_commission_entry_payout_id_payout"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["commission_entry.id"],
            name=op.f("fk_commission_entry_reverses_id_commission_entry"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_entry")),
    )
    with op.batch_alter_table("commission_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_commission_entry_balances",
            [
                "creator_id",
                "currency",
                "id",
                "pending_delta",
                "payable_delta",
                "in_payout_delta",
                "paid_delta",
            ],
            unique=False,
        )
        batch_op.create_index("ix_commission_entry_creator_id_id", ["creator_id", "id"], unique=False)
        batch_op.create_index(
            "ix_commission_entry_creator_id_clip_id_id", ["creator_id", "clip_id", "id"], unique=False
        )
        batch_op.create_index("ix_commission_entry_line_id", ["line_id"], unique=False)
        batch_op.create_index(
            "ix_commission_entry_organisation_id_creator_id", ["organisation_id", "creator_id"], unique=False
        )
        batch_op.create_index(
            "uq_commission_entry_line_once",
            ["line_id", "kind"],
            unique=True,
            postgresql_where=sa.text("kind IN ('commission', 'release')"),
            sqlite_where=sa.text("kind IN ('commission', 'release')"),
        )

    op.create_table(
        "payout_item",
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payout_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["commission_entry.id"],
            name=op.f("fk_payout_item_entry_id_commission_entry"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payout_id"], ["payout.id"], name=op.f("fk_payout_item_payout_id_payout"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_payout_item")),
    )
    with op.batch_alter_table("payout_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payout_item_payout_id"), ["payout_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payout_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payout_item_payout_id"))

    op.drop_table("payout_item")
    with op.batch_alter_table("commission_entry", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_commission_entry_line_once",
            postgresql_where=sa.text("kind IN ('commission', 'release')"),
            sqlite_where=sa.text("kind IN ('commission', 'release')"),
        )
        batch_op.drop_index("ix_commission_entry_organisation_id_creator_id")
        batch_op.drop_index("ix_commission_entry_line_id")
        batch_op.drop_index("ix_commission_entry_creator_id_clip_id_id")
        batch_op.drop_index("ix_commission_entry_creator_id_id")
        batch_op.drop_index("ix_commission_entry_balances")

    op.drop_table("commission_entry")
    with op.batch_alter_table("collaboration_invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collaboration_invitation_creator_id"))

    op.drop_table("collaboration_invitation")
    op.drop_table("storefront_product")
    with op.batch_alter_table("payout", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payout_status"))
        batch_op.drop_index(batch_op.f("ix_payout_run_id"))
        batch_op.drop_index(batch_op.f("ix_payout_creator_id"))

    op.drop_table("payout")
    op.drop_table("idea_list_item")
    with op.batch_alter_table("commission_rate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commission_rate_organisation_id"))

    op.drop_table("commission_rate")
    with op.batch_alter_table("collaboration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collaboration_product_id"))
        batch_op.drop_index(batch_op.f("ix_collaboration_organisation_id"))

    op.drop_table("collaboration")
    op.drop_table("payout_run")
    op.drop_table("commission_balance_checkpoint")
    with op.batch_alter_table("order_line_commission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_line_commission_payable_at"))
        batch_op.drop_index(batch_op.f("ix_order_line_commission_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_order_line_commission_order_id"))
        batch_op.drop_index("ix_order_line_commission_creator_id_product_id")

    op.drop_table("order_line_commission")
    op.drop_table("merchant_programme")
    with op.batch_alter_table("idea_list", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idea_list_creator_id"))

    op.drop_table("idea_list")
    with op.batch_alter_table("creator_admission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_creator_admission_status"))
        batch_op.drop_index(batch_op.f("ix_creator_admission_next_evaluation_at"))

    op.drop_table("creator_admission")
    op.drop_table("creator_account")
    op.drop_table("admission_threshold")
