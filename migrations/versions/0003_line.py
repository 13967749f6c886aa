"""line: batches, BOM lines, scans, batch flags, assembly parts, lots made by batches

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_number", sa.String(length=64), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("coi", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("completion", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "status IN ('planned', 'in_progress', 'completed', 'aborted')",
            name=op.f("ck_batch_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch")),
        sa.UniqueConstraint("batch_number", name=op.f("uq_batch_batch_number")),
    )
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batch_coi"), ["coi"], unique=False)

    op.create_table(
        "bom_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=True),
        sa.Column("component_type_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_bom_line_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_bom_line_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["component_type_id"],
            ["component_type.id"],
            name=op.f("fk_bom_line_component_type_id_component_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bom_line")),
    )
    with op.batch_alter_table("bom_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bom_line_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "assembly_part",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assembly_unit_id", sa.Integer(), nullable=False),
        sa.Column("part_unit_id", sa.Integer(), nullable=True),
        sa.Column("part_lot_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_assembly_part_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["assembly_unit_id"], ["unit.id"], name=op.f("fk_assembly_part_assembly_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["part_lot_id"], ["lot.id"], name=op.f("fk_assembly_part_part_lot_id_lot")
        ),
        sa.ForeignKeyConstraint(
            ["part_unit_id"], ["unit.id"], name=op.f("fk_assembly_part_part_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assembly_part")),
        sa.UniqueConstraint("part_unit_id", name=op.f("uq_assembly_part_part_unit_id")),
    )
    with op.batch_alter_table("assembly_part", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assembly_part_assembly_unit_id"), ["assembly_unit_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_assembly_part_part_lot_id"), ["part_lot_id"], unique=False
        )

    op.create_table(
        "scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("barcode", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=True),
        sa.Column("station", sa.String(length=64), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("lot_status_at_scan", sa.String(length=12), nullable=True),
        sa.Column("expiry_at_scan", sa.Date(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("client_scan_id", sa.String(length=64), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("override", sa.JSON(), nullable=True),
        sa.Column("reversal", sa.JSON(), nullable=True),
        sa.Column("reversed_at", TS, nullable=True),
        sa.CheckConstraint("outcome IN ('accepted', 'blocked')", name=op.f("ck_scan_outcome")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_scan_quantity_positive")),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_scan_batch_id_batch")),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_scan_lot_id_lot")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_scan_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan")),
        sa.UniqueConstraint("actor", "client_scan_id", name=op.f("uq_scan_actor_client_scan_id")),
    )
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scan_batch_id_id"), ["batch_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_scan_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(
            "uq_scan_unit_accepted",
            ["unit_id"],
            unique=True,
            sqlite_where=sa.text("outcome = 'accepted' AND reversed_at IS NULL"),
            postgresql_where=sa.text("outcome = 'accepted' AND reversed_at IS NULL"),
        )

    op.create_table(
        "batch_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("scan_id", sa.Integer(), nullable=True),
        sa.Column("deviation_ref", sa.String(length=100), nullable=True),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution", sa.JSON(), nullable=True),
        sa.CheckConstraint("severity IN ('block', 'warn')", name=op.f("ck_batch_flag_severity")),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_batch_flag_status")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_batch_flag_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_batch_flag_lot_id_lot")),
        sa.ForeignKeyConstraint(["scan_id"], ["scan.id"], name=op.f("fk_batch_flag_scan_id_scan")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_batch_flag_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_flag")),
    )
    with op.batch_alter_table("batch_flag", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_batch_flag_status_batch_id"), ["status", "batch_id"], unique=False
        )
        batch_op.create_index(
            "uq_batch_flag_open_batch_lot_code",
            ["batch_id", "lot_id", "code"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_batch_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_lot_source_batch_id"), ["source_batch_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_lot_source_batch_id_batch"), "batch", ["source_batch_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_lot_source_batch_id_batch"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_lot_source_batch_id"))
        batch_op.drop_column("source_batch_id")

    with op.batch_alter_table("batch_flag", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_batch_flag_open_batch_lot_code",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index(batch_op.f("ix_batch_flag_status_batch_id"))

    op.drop_table("batch_flag")
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_scan_unit_accepted",
            sqlite_where=sa.text("outcome = 'accepted' AND reversed_at IS NULL"),
            postgresql_where=sa.text("outcome = 'accepted' AND reversed_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_scan_lot_id"))
        batch_op.drop_index(batch_op.f("ix_scan_batch_id_id"))

    op.drop_table("scan")
    with op.batch_alter_table("assembly_part", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assembly_part_part_lot_id"))
        batch_op.drop_index(batch_op.f("ix_assembly_part_assembly_unit_id"))

    op.drop_table("assembly_part")
    with op.batch_alter_table("bom_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bom_line_batch_id"))

    op.drop_table("bom_line")
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_coi"))

    op.drop_table("batch")
