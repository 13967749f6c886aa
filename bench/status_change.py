"""A QA status change on a lot used by many batches: how long it takes and how many statements.

    .venv/bin/python -m bench.status_change [--batches 1000] [--db postgresql|sqlite]

Generates (with COPY on PostgreSQL, then copied into SQLite for --db sqlite) one released lot
scanned once into each of --batches batches, then recalls it through the app in this process
(httpx over ASGI, so an engine listener can count every statement the request runs) and prints
the time, the statements, and the after-use flags raised. Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
from sqlalchemy import event

from api.main import create_app
from bench.genealogy import copy_to_sqlite
from bench.harness import PASSWORD, fresh_database, machine, make_users
from models.users import Role
from services.config import Settings


def generate(conninfo: str, batches: int) -> int:
    """One released lot (id 1) scanned into each batch; returns the lot's id."""
    now = datetime.now(UTC)
    expiry = date.today() + timedelta(days=365)
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO component_type (id, code, name, category, tracking, risk, "
            "has_expiry, expiry_warning_days, is_assembly, created_at, created_by) VALUES "
            "(1, 'MEDIUM', 'Medium', 'other', 'lot', 'high', true, 30, false, %s, 'bench')",
            (now,),
        )
        with cur.copy(
            "COPY batch (id, batch_number, product, coi, status, created_at, created_by) FROM STDIN"
        ) as copy:
            for b in range(1, batches + 1):
                copy.write_row(
                    (b, f"B-{b:05d}", "CAR-T", f"COI-{b:05d}", "in_progress", now, "bench")
                )
        cur.execute(
            "INSERT INTO lot (id, code, component_type_id, supplier_lot, quantity_received, "
            "quantity_left, units_registered, expiry_date, status, received_at, received_by) "
            "VALUES (1, 'L-000001', 1, 'S1', %s, %s, 0, %s, 'released', %s, 'bench')",
            (10**6, 10**6 - batches, expiry, now),
        )
        with cur.copy(
            "COPY scan (id, barcode, outcome, flags, batch_id, quantity, lot_id, "
            "lot_status_at_scan, expiry_at_scan, actor, at, response_status) FROM STDIN"
        ) as copy:
            for b in range(1, batches + 1):
                copy.write_row(
                    (
                        b,
                        "L-000001",
                        "accepted",
                        "[]",
                        b,
                        1,
                        1,
                        "released",
                        expiry,
                        "bench",
                        now,
                        201,
                    )
                )
        for table in ("component_type", "lot", "batch", "scan"):
            cur.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
        cur.execute("UPDATE counter SET value = 1 WHERE name = 'lot'")
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return 1


async def recall(url: str, key: str, lot: int) -> None:
    app = create_app(Settings(database_url=url))
    async with app.router.lifespan_context(app):
        seen: list[str] = []

        def record(*args: Any) -> None:
            seen.append(str(args[2]))

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", record)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench/api/v1") as http:
            body = {
                "status": "recalled",
                "reason": "Supplier recall",
                "signature": {"password": PASSWORD, "meaning": "Lot recalled"},
            }
            started = time.perf_counter()
            r = await http.post(
                f"/lots/{lot}/status", json=body, headers={"Authorization": f"Bearer {key}"}
            )
            elapsed = time.perf_counter() - started
        event.remove(app.state.engine.sync_engine, "before_cursor_execute", record)
        r.raise_for_status()
        own = [s for s in seen if "audit_head" not in s]  # the sequencer's rounds run beside it
        print(
            f"recall of a lot used by {len(r.json()['flags_raised']):,} batches: "
            f"{elapsed * 1000:.0f} ms, {len(own):,} statements "
            f"({sum('INSERT' in s[:12] for s in own):,} INSERT, "
            f"{sum(s.lstrip().startswith('SELECT') for s in own):,} SELECT, "
            f"{sum(s.lstrip().startswith('UPDATE') for s in own):,} UPDATE)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with fresh_database("postgresql") as url:
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        lot = generate(conninfo, args.batches)
        if args.db == "sqlite":
            with fresh_database("sqlite") as sqlite_url:
                copy_to_sqlite(conninfo, sqlite_url.removeprefix("sqlite+aiosqlite:///"))
                key = make_users(sqlite_url, [Role.qa])[Role.qa]
                asyncio.run(recall(sqlite_url, key, lot))
            return
        key = make_users(url, [Role.qa])[Role.qa]
        asyncio.run(recall(url, key, lot))


if __name__ == "__main__":
    main()
