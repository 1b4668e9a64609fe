"""Refunds: full and partial, each a record with its lines

``order_refund`` / ``order_refund_line``; refunded counters on orders and order lines (CHECKed:
a refund never exceeds what was paid, per line and per order); a ``payment`` row per refund
(one charge per order stays unique, through a partial index); what the analytics sales rollups
hold of each order, line by line (``analytics_order_fact.lines``). Orders refunded before this
revision get their refund record, with the units their restock put back.

On SQLite the counters' checks are triggers: adding a CHECK there means rebuilding ``order`` and
``order_line``, which the foreign keys pointing at them forbid.

Revision ID: 0015_refunds
Revises: 0014_search
Create Date: 2026-11-30 09:10:00
"""

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0015_refunds"
down_revision: str | None = "0014_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECKS = [
    ("order", "ck_order_refund_within_total", "refunded_minor >= 0 AND refunded_minor <= total_minor"),
    (
        "order_line",
        "ck_order_line_refunded_quantity_in_range",
        "refunded_quantity >= 0 AND refunded_quantity <= quantity",
    ),
    (
        "order_line",
        "ck_order_line_refunded_minor_in_range",
        "refunded_minor >= 0 AND refunded_minor <= line_total_minor",
    ),
    (
        "order_line",
        "ck_order_line_restocked_quantity_in_range",
        "restocked_quantity >= 0 AND restocked_quantity <= refunded_quantity",
    ),
]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _sqlite_check(table: str, name: str, condition: str) -> list[str]:
    """The CHECK as triggers on the new row (``NEW.<column>``)."""
    new = re.sub(
        r"\b([a-z_]+)\b", lambda m: m.group(1) if m.group(1) == "AND" else f"NEW.{m.group(1)}", condition
    )
    return [
        f'CREATE TRIGGER {name}_{event} BEFORE {event.upper()} ON "{table}" '
        f"WHEN NOT ({new}) BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {name}'); END"
        for event in ("insert", "update")
    ]


def upgrade() -> None:
    op.create_table(
        "order_refund",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("restock", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_order_refund_amount_positive")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user.id"], name=op.f("fk_order_refund_created_by_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order.id"], name=op.f("fk_order_refund_order_id_order"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["merchant_organisation.id"],
            name=op.f("fk_order_refund_organisation_id_merchant_organisation"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_refund")),
        sa.UniqueConstraint(
            "order_id", "idempotency_key", name=op.f("uq_order_refund_order_id_idempotency_key")
        ),
        sa.UniqueConstraint("order_id", "number", name=op.f("uq_order_refund_order_id_number")),
    )
    with op.batch_alter_table("order_refund", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_refund_order_id"), ["order_id"], unique=False)

    op.create_table(
        "order_refund_line",
        sa.Column("refund_id", sa.Uuid(), nullable=False),
        sa.Column("order_line_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("restocked_quantity", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_order_refund_line_amount_not_negative")),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_order_refund_line_quantity_not_negative")),
        sa.CheckConstraint(
            "restocked_quantity >= 0 AND restocked_quantity <= quantity",
            name=op.f("ck_order_refund_line_restocked_in_range"),
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_line.id"],
            name=op.f("fk_order_refund_line_order_line_id_order_line"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["refund_id"],
            ["order_refund.id"],
            name=op.f("fk_order_refund_line_refund_id_order_refund"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_refund_line")),
        sa.UniqueConstraint(
            "refund_id", "order_line_id", name=op.f("uq_order_refund_line_refund_id_order_line_id")
        ),
    )
    with op.batch_alter_table("order_refund_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_refund_line_order_line_id"), ["order_line_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_order_refund_line_refund_id"), ["refund_id"], unique=False)

    with op.batch_alter_table("analytics_order_fact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lines", sa.JSON(), nullable=True))
    with op.batch_alter_table("order", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refunded_minor", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refunded_quantity", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("refunded_minor", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("restocked_quantity", sa.Integer(), server_default="0", nullable=False))

    # (nothing references payment: rebuilding it on SQLite is safe)
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refund_id", sa.Uuid(), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_payment_order_id_kind"), type_="unique")
        batch_op.create_index(
            "uq_payment_order_id_charge",
            ["order_id"],
            unique=True,
            postgresql_where=sa.text("kind = 'charge'"),
            sqlite_where=sa.text("kind = 'charge'"),
        )
        batch_op.create_unique_constraint(batch_op.f("uq_payment_refund_id"), ["refund_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_payment_refund_id_order_refund"),
            "order_refund",
            ["refund_id"],
            ["id"],
            ondelete="CASCADE",
        )

    _backfill()

    for table, name, condition in CHECKS:
        if _sqlite():
            for statement in _sqlite_check(table, name, condition):
                op.execute(statement)
        else:
            op.create_check_constraint(op.f(name), table, condition)


def _backfill() -> None:
    """Orders refunded before this revision: counters, one refund record, its payment row."""
    bind = op.get_bind()
    order = sa.table(
        "order",
        sa.column("id", sa.Uuid()),
        sa.column("status", sa.String()),
        sa.column("organisation_id", sa.Uuid()),
        sa.column("currency", sa.String()),
        sa.column("total_minor", sa.Integer()),
        sa.column("refunded_minor", sa.Integer()),
        sa.column("refunded_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    line = sa.table(
        "order_line",
        sa.column("id", sa.Uuid()),
        sa.column("order_id", sa.Uuid()),
        sa.column("position", sa.Integer()),
        sa.column("sku_id", sa.Uuid()),
        sa.column("quantity", sa.Integer()),
        sa.column("line_total_minor", sa.Integer()),
        sa.column("refunded_quantity", sa.Integer()),
        sa.column("refunded_minor", sa.Integer()),
        sa.column("restocked_quantity", sa.Integer()),
    )
    ledger = sa.table(
        "stock_ledger_entry",
        sa.column("order_id", sa.Uuid()),
        sa.column("sku_id", sa.Uuid()),
        sa.column("reason", sa.String()),
        sa.column("delta", sa.Integer()),
    )
    refund = sa.table(
        "order_refund",
        sa.column("id", sa.Uuid()),
        sa.column("order_id", sa.Uuid()),
        sa.column("number", sa.Integer()),
        sa.column("organisation_id", sa.Uuid()),
        sa.column("currency", sa.String()),
        sa.column("amount_minor", sa.Integer()),
        sa.column("restock", sa.Boolean()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    refund_line = sa.table(
        "order_refund_line",
        sa.column("id", sa.Uuid()),
        sa.column("refund_id", sa.Uuid()),
        sa.column("order_line_id", sa.Uuid()),
        sa.column("position", sa.Integer()),
        sa.column("quantity", sa.Integer()),
        sa.column("amount_minor", sa.Integer()),
        sa.column("restocked_quantity", sa.Integer()),
    )
    payment = sa.table(
        "payment",
        sa.column("order_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("refund_id", sa.Uuid()),
    )
    refunded = bind.execute(sa.select(order).where(order.c.status == "refunded")).all()
    for o in refunded:
        lines = bind.execute(sa.select(line).where(line.c.order_id == o.id).order_by(line.c.position)).all()
        restocked = dict(
            bind.execute(
                sa.select(ledger.c.sku_id, sa.func.sum(ledger.c.delta))
                .where(ledger.c.order_id == o.id, ledger.c.reason == "restock")
                .group_by(ledger.c.sku_id)
            ).all()
        )
        bind.execute(sa.update(order).where(order.c.id == o.id).values(refunded_minor=o.total_minor))
        for item in lines:
            bind.execute(
                sa.update(line)
                .where(line.c.id == item.id)
                .values(
                    refunded_quantity=item.quantity,
                    refunded_minor=item.line_total_minor,
                    restocked_quantity=max(0, min(item.quantity, int(restocked.get(item.sku_id) or 0))),
                )
            )
        if o.total_minor <= 0:
            continue
        refund_id = uuid.uuid4()
        bind.execute(
            sa.insert(refund).values(
                id=refund_id,
                order_id=o.id,
                number=1,
                organisation_id=o.organisation_id,
                currency=o.currency,
                amount_minor=o.total_minor,
                restock=bool(restocked),
                created_at=o.refunded_at or o.updated_at or datetime.now(UTC),
            )
        )
        for position, item in enumerate(lines):
            bind.execute(
                sa.insert(refund_line).values(
                    id=uuid.uuid4(),
                    refund_id=refund_id,
                    order_line_id=item.id,
                    position=position,
                    quantity=item.quantity,
                    amount_minor=item.line_total_minor,
                    restocked_quantity=max(0, min(item.quantity, int(restocked.get(item.sku_id) or 0))),
                )
            )
        bind.execute(
            sa.update(payment)
            .where(payment.c.order_id == o.id, payment.c.kind == "refund")
            .values(refund_id=refund_id)
        )


def downgrade() -> None:
    for table, name, _condition in reversed(CHECKS):
        if _sqlite():
            for event in ("insert", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{event}")
        else:
            op.drop_constraint(op.f(name), table, type_="check")
    # Keep one refund payment per order (the pre-revision rule) before its unique constraint: the
    # latest, for everything refunded. (Orders refunded in part go back to paid below: the
    # pre-revision schema cannot say more than "this much went back" in their payment row.)
    op.execute(
        'UPDATE payment SET amount_minor = (SELECT o.refunded_minor FROM "order" o WHERE o.id = payment.order_id) '
        "WHERE kind = 'refund' AND refund_id IS NOT NULL"
    )
    op.execute(
        "DELETE FROM payment WHERE kind = 'refund' AND refund_id IS NOT NULL AND refund_id NOT IN "
        "(SELECT r.id FROM order_refund r WHERE r.number = "
        "(SELECT max(r2.number) FROM order_refund r2 WHERE r2.order_id = r.order_id))"
    )
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_payment_refund_id_order_refund"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_payment_refund_id"), type_="unique")
        batch_op.drop_index(
            "uq_payment_order_id_charge",
            postgresql_where=sa.text("kind = 'charge'"),
            sqlite_where=sa.text("kind = 'charge'"),
        )
        batch_op.create_unique_constraint(batch_op.f("uq_payment_order_id_kind"), ["order_id", "kind"])
        batch_op.drop_column("refund_id")

    # Partially refunded orders were paid orders before this revision.
    op.execute("UPDATE \"order\" SET status = 'paid' WHERE status = 'partially_refunded'")
    # order and order_line are referenced by other tables: drop their columns in place on SQLite
    # (rebuilding them would fire the foreign keys' ON DELETE actions).
    columns = [
        ("order_line", "restocked_quantity"),
        ("order_line", "refunded_minor"),
        ("order_line", "refunded_quantity"),
        ("order", "refunded_minor"),
    ]
    for table, column in columns:
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN {column}')
    with op.batch_alter_table("analytics_order_fact", schema=None) as batch_op:
        batch_op.drop_column("lines")

    with op.batch_alter_table("order_refund_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_refund_line_refund_id"))
        batch_op.drop_index(batch_op.f("ix_order_refund_line_order_line_id"))
    op.drop_table("order_refund_line")
    with op.batch_alter_table("order_refund", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_refund_order_id"))
    op.drop_table("order_refund")
