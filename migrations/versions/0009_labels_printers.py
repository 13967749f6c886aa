"""labels at the printer: printers, registered ZPL template versions, print jobs, and the
labels they issued against each lot (issued = applied + voided + outstanding)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "label_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("registered_at", TS, nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_template")),
        sa.UniqueConstraint("name", "sha256", name=op.f("uq_label_template_name_sha256")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_label_template_name_version")),
    )
    op.create_table(
        "printer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("dpi", sa.Integer(), nullable=False),
        sa.Column("stock", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "stock IN ('100x50mm', '4x2in', '2x1in')", name=op.f("ck_printer_stock")
        ),
        sa.CheckConstraint("dpi IN (203, 300)", name=op.f("ck_printer_dpi")),
        sa.CheckConstraint("port BETWEEN 1 AND 65535", name=op.f("ck_printer_port")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_printer")),
        sa.UniqueConstraint("name", name=op.f("uq_printer_name")),
    )
    op.create_table(
        "print_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_job_id", sa.String(length=64), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("output", sa.String(length=8), nullable=False),
        sa.Column("printer_id", sa.Integer(), nullable=True),
        sa.Column("stock", sa.String(length=16), nullable=False),
        sa.Column("dpi", sa.Integer(), nullable=False),
        sa.Column("symbology", sa.String(length=16), nullable=False),
        sa.Column("paper", sa.String(length=8), nullable=True),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("units", sa.JSON(), nullable=True),
        sa.Column("template_name", sa.String(length=16), nullable=True),
        sa.Column("template_version", sa.Integer(), nullable=True),
        sa.Column("template_sha256", sa.String(length=64), nullable=True),
        sa.Column("reprint", sa.Boolean(), nullable=False),
        sa.Column("reprint_reason", sa.Text(), nullable=True),
        sa.Column("lot_status", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.CheckConstraint("kind IN ('lot', 'unit')", name=op.f("ck_print_job_kind")),
        sa.CheckConstraint(
            "output = 'pdf' OR printer_id IS NOT NULL", name=op.f("ck_print_job_printer_given")
        ),
        sa.CheckConstraint("output IN ('printer', 'pdf')", name=op.f("ck_print_job_output")),
        sa.CheckConstraint(
            "status IN ('sending', 'sent', 'failed')", name=op.f("ck_print_job_status")
        ),
        sa.CheckConstraint("copies > 0", name=op.f("ck_print_job_copies_positive")),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_print_job_lot_id_lot")),
        sa.ForeignKeyConstraint(
            ["printer_id"], ["printer.id"], name=op.f("fk_print_job_printer_id_printer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_print_job")),
        sa.UniqueConstraint("client_job_id", name=op.f("uq_print_job_client_job_id")),
    )
    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_print_job_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_print_job_printer_id"), ["printer_id"], unique=False)

    op.create_table(
        "label",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("print_job_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("reprint", sa.Boolean(), nullable=False),
        sa.Column("lot_status", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("issued_at", TS, nullable=True),
        sa.Column("applied_at", TS, nullable=True),
        sa.Column("applied_by", sa.String(length=64), nullable=True),
        sa.Column("voided_at", TS, nullable=True),
        sa.Column("voided_by", sa.String(length=64), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("void_signature", sa.JSON(), nullable=True),
        sa.CheckConstraint("kind = 'lot' OR unit_id IS NOT NULL", name=op.f("ck_label_unit_given")),
        sa.CheckConstraint("kind IN ('lot', 'unit')", name=op.f("ck_label_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'issued', 'applied', 'voided')", name=op.f("ck_label_status")
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_label_lot_id_lot")),
        sa.ForeignKeyConstraint(
            ["print_job_id"], ["print_job.id"], name=op.f("fk_label_print_job_id_print_job")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_label_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label")),
    )
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_label_lot_id_status"), ["lot_id", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_label_print_job_id"), ["print_job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_label_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_unit_id"))
        batch_op.drop_index(batch_op.f("ix_label_print_job_id"))
        batch_op.drop_index(batch_op.f("ix_label_lot_id_status"))

    op.drop_table("label")
    with op.batch_alter_table("print_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_print_job_printer_id"))
        batch_op.drop_index(batch_op.f("ix_print_job_lot_id"))

    op.drop_table("print_job")
    op.drop_table("printer")
    op.drop_table("label_template")
