"""warehouse: component types, lots, adjustments, recalls, units, code counters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "component_type",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("tracking", sa.String(length=8), nullable=False),
        sa.Column("risk", sa.String(length=8), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("manufacturer", sa.String(length=200), nullable=True),
        sa.Column("catalog_number", sa.String(length=100), nullable=True),
        sa.Column("has_expiry", sa.Boolean(), nullable=False),
        sa.Column("expiry_warning_days", sa.Integer(), nullable=False),
        sa.Column("is_assembly", sa.Boolean(), nullable=False),
        sa.Column("hold_hours", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "risk IN ('high', 'medium', 'low')", name=op.f("ck_component_type_risk")
        ),
        sa.CheckConstraint(
            "tracking IN ('serial', 'lot')", name=op.f("ck_component_type_tracking")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_component_type")),
        sa.UniqueConstraint("code", name=op.f("uq_component_type_code")),
        sa.UniqueConstraint("gtin", name=op.f("uq_component_type_gtin")),
    )
    counter = op.create_table(
        "counter",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counter")),
    )
    op.bulk_insert(counter, [{"name": "lot", "value": 0}, {"name": "unit", "value": 0}])
    op.create_table(
        "lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("component_type_id", sa.Integer(), nullable=False),
        sa.Column("supplier_lot", sa.String(length=20), nullable=False),
        sa.Column("supplier", sa.String(length=200), nullable=True),
        sa.Column("quantity_received", sa.Integer(), nullable=False),
        sa.Column("quantity_left", sa.Integer(), nullable=False),
        sa.Column("units_registered", sa.Integer(), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("retest_date", sa.Date(), nullable=True),
        sa.Column("manufactured_on", sa.Date(), nullable=True),
        sa.Column("coa_ref", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.Column("release", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "status IN ('quarantined', 'released', 'rejected', 'recalled')",
            name=op.f("ck_lot_status"),
        ),
        sa.CheckConstraint(
            "quantity_left <= quantity_received", name=op.f("ck_lot_quantity_left_bounded")
        ),
        sa.CheckConstraint("quantity_left >= 0", name=op.f("ck_lot_quantity_left_not_negative")),
        sa.CheckConstraint("quantity_received > 0", name=op.f("ck_lot_quantity_received_positive")),
        sa.CheckConstraint(
            "units_registered <= quantity_received", name=op.f("ck_lot_units_bounded")
        ),
        sa.ForeignKeyConstraint(
            ["component_type_id"],
            ["component_type.id"],
            name=op.f("fk_lot_component_type_id_component_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot")),
        sa.UniqueConstraint("code", name=op.f("uq_lot_code")),
    )
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lot_component_type_id_supplier_lot"),
            ["component_type_id", "supplier_lot"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_lot_status_expiry_date"), ["status", "expiry_date"], unique=False
        )

    op.create_table(
        "recall",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("component_type_id", sa.Integer(), nullable=False),
        sa.Column("supplier_lot", sa.String(length=20), nullable=False),
        sa.Column("notice_ref", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.JSON(), nullable=False),
        sa.Column("lots", sa.JSON(), nullable=False),
        sa.Column("impact", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_type_id"],
            ["component_type.id"],
            name=op.f("fk_recall_component_type_id_component_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall")),
        sa.UniqueConstraint(
            "component_type_id",
            "supplier_lot",
            name=op.f("uq_recall_component_type_id_supplier_lot"),
        ),
    )
    op.create_table(
        "lot_adjustment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason_code", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "reason_code IN ('damaged', 'qc_sample', 'destroyed', 'returned')",
            name=op.f("ck_lot_adjustment_reason_code"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_lot_adjustment_quantity_positive")),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_lot_adjustment_lot_id_lot")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_adjustment")),
    )
    with op.batch_alter_table("lot_adjustment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lot_adjustment_lot_id"), ["lot_id"], unique=False)

    op.create_table(
        "unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("barcode", sa.String(length=32), nullable=False),
        sa.Column("serial", sa.String(length=20), nullable=True),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("component_type_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("discarded_at", TS, nullable=True),
        sa.Column("discard_reason_code", sa.String(length=16), nullable=True),
        sa.Column("discard_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('available', 'consumed', 'discarded')", name=op.f("ck_unit_status")
        ),
        sa.ForeignKeyConstraint(
            ["component_type_id"],
            ["component_type.id"],
            name=op.f("fk_unit_component_type_id_component_type"),
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_unit_lot_id_lot")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit")),
        sa.UniqueConstraint("barcode", name=op.f("uq_unit_barcode")),
        sa.UniqueConstraint(
            "component_type_id", "serial", name=op.f("uq_unit_component_type_id_serial")
        ),
    )
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_lot_id"), ["lot_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_lot_id"))

    op.drop_table("unit")
    with op.batch_alter_table("lot_adjustment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lot_adjustment_lot_id"))

    op.drop_table("lot_adjustment")
    op.drop_table("recall")
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lot_status_expiry_date"))
        batch_op.drop_index(batch_op.f("ix_lot_component_type_id_supplier_lot"))

    op.drop_table("lot")
    op.drop_table("counter")
    op.drop_table("component_type")
