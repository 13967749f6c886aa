"""people: enrolment codes, stations, badges, sessions, PINs; audit events name their credential

The audit trail's append-only triggers are recreated to cover the new `credential` column, so an
event's credential can no more be changed than its actor. Columns are added with plain ALTER
TABLE (no batch copy on SQLite, which would drop the triggers with the old table).

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)

OLD_COLUMNS = [
    "id",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "before",
    "after",
    "reason",
    "signature",
]
NEW_COLUMNS = [*OLD_COLUMNS, "credential"]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP;
    END IF;
    IF OLD.seq IS NOT NULL OR {changed} THEN
        RAISE EXCEPTION 'audit_event is append-only: an event is never changed once written';
    END IF;
    RETURN NEW;
END
$$
"""

SQLITE_UPDATE = """
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
WHEN OLD.seq IS NOT NULL OR {changed}
BEGIN
    SELECT RAISE(ABORT, 'audit_event is append-only: an event is never changed once written');
END
"""


def _triggers(columns: list[str]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" for c in columns)
        op.execute(PG_FUNCTION.format(changed=changed))
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
        op.execute(
            SQLITE_UPDATE.format(changed=" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns))
        )


def upgrade() -> None:
    op.add_column("audit_event", sa.Column("credential", sa.JSON(), nullable=True))
    _triggers(NEW_COLUMNS)
    op.add_column("user", sa.Column("pin_hash", sa.String(length=255), nullable=True))
    op.add_column(
        "user", sa.Column("failed_pins", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "user",
        sa.Column("pin_locked", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "enrolment_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("superseded_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_enrolment_code_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_enrolment_code_code_hash")),
    )
    op.create_index(op.f("ix_enrolment_code_user_id"), "enrolment_code", ["user_id"])
    op.create_table(
        "station",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("enrolment_hash", sa.String(length=64), nullable=True),
        sa.Column("enrolment_expires_at", TS, nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("enrolled_at", TS, nullable=True),
        sa.Column("disabled_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station")),
        sa.UniqueConstraint("name", name=op.f("uq_station_name")),
        sa.UniqueConstraint("enrolment_hash", name=op.f("uq_station_enrolment_hash")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_station_token_hash")),
    )
    op.create_table(
        "badge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("badge_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoke_reason", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_badge_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_badge")),
        sa.UniqueConstraint("badge_hash", name=op.f("uq_badge_badge_hash")),
    )
    op.create_index(op.f("ix_badge_user_id"), "badge", ["user_id"])
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("badge_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("idle_until", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("ended_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["badge_id"], ["badge.id"], name=op.f("fk_user_session_badge_id_badge")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=op.f("fk_user_session_station_id_station")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_user_session_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_session_token_hash")),
    )
    op.create_index(op.f("ix_user_session_user_id"), "user_session", ["user_id"])
    open_ = sa.text("ended_at IS NULL")
    op.create_index(
        "uq_user_session_open_station",
        "user_session",
        ["station_id"],
        unique=True,
        postgresql_where=open_,
        sqlite_where=open_,
    )


def downgrade() -> None:
    op.drop_index("uq_user_session_open_station", "user_session")
    op.drop_table("user_session")
    op.drop_table("badge")
    op.drop_table("station")
    op.drop_table("enrolment_code")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("pin_locked")
        batch.drop_column("failed_pins")
        batch.drop_column("pin_hash")
    _triggers(OLD_COLUMNS)
    op.drop_column("audit_event", "credential")
