"""append-only audit trail: triggers refuse UPDATE and DELETE on audit_event

Only the sequencer's one update is allowed: setting seq, prev_hash and hash on an event that has
none yet, with every other column unchanged. Even the application's own connection cannot
rewrite history; the hash chain stays as the check against anyone who bypasses the triggers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
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

PG_FUNCTION = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
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
""".format(changed=" OR ".join(f"NEW.{c}::text IS DISTINCT FROM OLD.{c}::text" for c in COLUMNS))

SQLITE_UPDATE = """
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
WHEN OLD.seq IS NOT NULL OR {changed}
BEGIN
    SELECT RAISE(ABORT, 'audit_event is append-only: an event is never changed once written');
END
""".format(changed=" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in COLUMNS))

SQLITE_DELETE = """
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused');
END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
        )
    else:
        op.execute(SQLITE_UPDATE)
        op.execute(SQLITE_DELETE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION audit_event_append_only()")
    else:
        op.execute("DROP TRIGGER audit_event_no_delete")
        op.execute("DROP TRIGGER audit_event_no_update")
