"""Genealogy at volume: forward and backward traces over a million scans.

    .venv/bin/python -m bench.genealogy [--calls 50] [--warmup 10] [--explain] [--sqlite]
    .venv/bin/python -m bench.genealogy --diamond 18 [--diamond-scans 1] [--calls 5] [--warmup 1]

Generates on PostgreSQL, with COPY, three levels: 2,000 component lots -> 1,000 intermediate
batches (100 scans each) -> their 1,000 output lots -> 9,000 final batches (100 scans each, three
of them of intermediate output lots): 1,000,000 scans over 10,000 batches. One component lot is
used by every intermediate batch, so its forward trace reaches all 10,000 batches. Then it
serves the app and times GET /lots/{id}/where-used for that lot and
GET /batches/{n}/genealogy for a final batch, printing p50 and p99 over repeated calls.
With --sqlite it then copies the same rows into a migrated SQLite file and times that too.

With --diamond LEVELS it generates the shape that counts paths instead: a root lot; at each
level two batches, each scanning every lot the level above made (--diamond-scans times each) and
making one lot. The last level's batches are reached by 2^(LEVELS-1) paths each. It times the
forward trace of the root lot and the backward trace of the last level's first batch.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import time
from contextlib import closing
from datetime import UTC, date, datetime, timedelta

import httpx
import psycopg

from bench.harness import fresh_database, machine, make_users, percentile, served
from models.users import Role
from services.genealogy.backward import BACKWARD
from services.genealogy.forward import MAX_DEPTH, WHERE_USED

COMPONENT_LOTS = 2_000
INTERMEDIATE = 1_000
FINAL = 9_000
SCANS_PER_BATCH = 100
OUTPUTS_PER_FINAL = 3


def generate(conninfo: str) -> tuple[int, str]:
    """Returns the hot component lot's id and a final batch's number."""
    rng = random.Random(5)
    now = datetime.now(UTC)
    expiry = date.today() + timedelta(days=365)
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO component_type (id, code, name, category, tracking, risk, "
            "has_expiry, expiry_warning_days, is_assembly, created_at, created_by) VALUES "
            "(1, 'PART', 'Part', 'bag', 'lot', 'high', true, 30, false, %s, 'bench'), "
            "(2, 'VECTOR', 'Vector', 'vector', 'lot', 'high', true, 30, false, %s, "
            "'bench')",
            (now, now),
        )
        batches = INTERMEDIATE + FINAL
        with cur.copy(
            "COPY batch (id, batch_number, product, coi, status, created_at, created_by) FROM STDIN"
        ) as copy:
            for b in range(1, batches + 1):
                copy.write_row(
                    (
                        b,
                        f"B-{b:05d}",
                        "Vector" if b <= INTERMEDIATE else "CAR-T",
                        f"COI-{b:05d}",
                        "completed",
                        now,
                        "bench",
                    )
                )
        with cur.copy(
            "COPY lot (id, code, component_type_id, supplier_lot, quantity_received, "
            "quantity_left, units_registered, expiry_date, status, received_at, "
            "received_by, source_batch_id) FROM STDIN"
        ) as copy:
            for lot in range(1, COMPONENT_LOTS + 1):
                copy.write_row(
                    (
                        lot,
                        f"L-{lot:06d}",
                        1,
                        f"S{lot}",
                        10**6,
                        10**5,
                        0,
                        expiry,
                        "released",
                        now,
                        "bench",
                        None,
                    )
                )
            for i in range(1, INTERMEDIATE + 1):
                lot = COMPONENT_LOTS + i
                copy.write_row(
                    (
                        lot,
                        f"L-{lot:06d}",
                        2,
                        f"V{i}",
                        10**6,
                        10**5,
                        0,
                        expiry,
                        "released",
                        now,
                        "bench",
                        i,
                    )
                )
        hot = 1
        scan_id = 0
        with cur.copy(
            "COPY scan (id, barcode, outcome, flags, batch_id, quantity, lot_id, "
            "lot_status_at_scan, expiry_at_scan, actor, at, response_status) "
            "FROM STDIN"
        ) as copy:
            for batch in range(1, batches + 1):
                lots = [rng.randint(2, COMPONENT_LOTS) for _ in range(SCANS_PER_BATCH)]
                if batch <= INTERMEDIATE:
                    lots[0] = hot
                else:
                    for k in range(OUTPUTS_PER_FINAL):
                        lots[k] = COMPONENT_LOTS + rng.randint(1, INTERMEDIATE)
                for lot in lots:
                    scan_id += 1
                    copy.write_row(
                        (
                            scan_id,
                            f"L-{lot:06d}",
                            "accepted",
                            "[]",
                            batch,
                            1,
                            lot,
                            "released",
                            expiry,
                            "bench",
                            now,
                            201,
                        )
                    )
        for table in ("component_type", "lot", "batch", "scan"):
            cur.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
        cur.execute(
            "UPDATE counter SET value = %s WHERE name = 'lot'", (COMPONENT_LOTS + INTERMEDIATE,)
        )
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return hot, f"B-{INTERMEDIATE + FINAL:05d}"


def generate_diamond(conninfo: str, levels: int, scans: int) -> tuple[int, str]:
    """Returns the root lot's id and the last level's first batch number. Batch `b` (levels
    numbered from 1, batches 2 * level - 1 and 2 * level) makes lot `b + 1`; lot 1 is the root."""
    now = datetime.now(UTC)
    expiry = date.today() + timedelta(days=365)
    batches = 2 * levels
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO component_type (id, code, name, category, tracking, risk, "
            "has_expiry, expiry_warning_days, is_assembly, created_at, created_by) VALUES "
            "(1, 'CELLS', 'Cells', 'other', 'lot', 'high', true, 30, false, %s, 'bench')",
            (now,),
        )
        with cur.copy(
            "COPY batch (id, batch_number, product, coi, status, created_at, created_by) FROM STDIN"
        ) as copy:
            for b in range(1, batches + 1):
                copy.write_row(
                    (b, f"D-{b:03d}", "CAR-T", f"COI-{b:03d}", "completed", now, "bench")
                )
        with cur.copy(
            "COPY lot (id, code, component_type_id, supplier_lot, quantity_received, "
            "quantity_left, units_registered, expiry_date, status, received_at, "
            "received_by, source_batch_id) FROM STDIN"
        ) as copy:
            for lot in range(1, batches + 2):
                source = lot - 1 if lot > 1 else None
                copy.write_row(
                    (
                        lot,
                        f"L-{lot:06d}",
                        1,
                        f"S{lot}",
                        10**6,
                        10**5,
                        0,
                        expiry,
                        "released",
                        now,
                        "bench",
                        source,
                    )
                )
        scan_id = 0
        with cur.copy(
            "COPY scan (id, barcode, outcome, flags, batch_id, quantity, lot_id, "
            "lot_status_at_scan, expiry_at_scan, actor, at, response_status) "
            "FROM STDIN"
        ) as copy:
            for b in range(1, batches + 1):
                level = (b + 1) // 2
                used = [1] if level == 1 else [2 * (level - 1), 2 * (level - 1) + 1]
                for lot in used:
                    for _ in range(scans):
                        scan_id += 1
                        copy.write_row(
                            (
                                scan_id,
                                f"L-{lot:06d}",
                                "accepted",
                                "[]",
                                b,
                                1,
                                lot,
                                "released",
                                expiry,
                                "bench",
                                now,
                                201,
                            )
                        )
        for table in ("component_type", "lot", "batch", "scan"):
            cur.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
        cur.execute("UPDATE counter SET value = %s WHERE name = 'lot'", (batches + 1,))
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return 1, f"D-{batches - 1:03d}"


def timed(
    http: httpx.Client, path: str, headers: dict[str, str], calls: int, warmup: int
) -> tuple[str, int]:
    for _ in range(warmup):  # the pool's connection prepares the statement, as in a running service
        http.get(path, headers=headers).raise_for_status()
    samples = []
    size = 0
    for _ in range(calls):
        start = time.perf_counter()
        r = http.get(path, headers=headers)
        samples.append((time.perf_counter() - start) * 1000)
        r.raise_for_status()
        size = len(r.json()) if isinstance(r.json(), list) else len(r.json()["items"])
    return (
        f"p50 {statistics.median(samples):.1f} ms, p99 {percentile(samples, 0.99):.1f} ms "
        f"over {calls} calls after {warmup} warm-up calls"
    ), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--sqlite", action="store_true", help="then copy the rows into SQLite and time it too"
    )
    parser.add_argument(
        "--diamond", type=int, metavar="LEVELS", help="two batches per level, each using both lots"
    )
    parser.add_argument("--diamond-scans", type=int, default=1, help="scans of each lot used")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with fresh_database("postgresql") as url:
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        started = time.perf_counter()
        if args.diamond:
            hot, final = generate_diamond(conninfo, args.diamond, args.diamond_scans)
            print(
                f"generated a diamond of {args.diamond} levels ({2 * args.diamond} batches, "
                f"{args.diamond_scans} scan(s) of each lot used) in "
                f"{time.perf_counter() - started:.0f} s"
            )
        else:
            hot, final = generate(conninfo)
            print(
                f"generated {INTERMEDIATE + FINAL:,} batches and "
                f"{(INTERMEDIATE + FINAL) * SCANS_PER_BATCH:,} scans in "
                f"{time.perf_counter() - started:.0f} s"
            )
        if args.explain:
            with psycopg.connect(conninfo) as conn:
                final_id = int(final.removeprefix("B-").removeprefix("D-"))
                for label, query, params in (
                    (
                        "forward (where-used)",
                        str(WHERE_USED),
                        {"lot_id": hot, "max_depth": MAX_DEPTH},
                    ),
                    (
                        "backward",
                        str(BACKWARD),
                        {"batch_id": final_id, "max_depth": MAX_DEPTH},
                    ),
                ):
                    sql = query
                    for name, value in params.items():
                        sql = sql.replace(f":{name}", str(value))
                    plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall()
                    print(f"--- EXPLAIN ANALYZE {label}")
                    print("\n".join(row[0] for row in plan))
        trace(url, hot, final, args)
        if args.sqlite:
            with fresh_database("sqlite") as sqlite_url:
                started = time.perf_counter()
                copy_to_sqlite(conninfo, sqlite_url.removeprefix("sqlite+aiosqlite:///"))
                print(f"--- SQLite: the same rows copied in {time.perf_counter() - started:.0f} s")
                trace(sqlite_url, hot, final, args)


def trace(url: str, hot: int, final: str, args: argparse.Namespace) -> None:
    """Serve the database at `url` and time both traces over HTTP."""
    keys = make_users(url, [Role.auditor])
    headers = {"Authorization": f"Bearer {keys[Role.auditor]}"}
    with served(url) as base, httpx.Client(base_url=f"{base}/api/v1", timeout=120) as http:
        figures, size = timed(http, f"/lots/{hot}/where-used", headers, args.calls, args.warmup)
        print(f"forward trace of lot {hot} ({size:,} batches): {figures}")
        figures, size = timed(http, f"/batches/{final}/genealogy", headers, args.calls, args.warmup)
        print(f"backward trace of batch {final} ({size:,} items): {figures}")


COPIED = {
    "component_type": "id, code, name, category, tracking, risk, has_expiry, "
    "expiry_warning_days, is_assembly, created_at, created_by",
    "batch": "id, batch_number, product, coi, status, created_at, created_by",
    "lot": "id, code, component_type_id, supplier_lot, quantity_received, quantity_left, "
    "units_registered, expiry_date, status, received_at, received_by, source_batch_id",
    "scan": "id, barcode, outcome, flags, batch_id, quantity, lot_id, lot_status_at_scan, "
    "expiry_at_scan, actor, at, response_status",
}


def copy_to_sqlite(conninfo: str, path: str) -> None:
    """The generated rows, read back from PostgreSQL, into the migrated SQLite file at `path`,
    stored as the app stores them there (UTC times without offset, JSON as text)."""

    def stored(value: object) -> object:
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list | dict):
            return json.dumps(value)
        return value

    with psycopg.connect(conninfo) as source, closing(sqlite3.connect(path)) as target:
        for table, columns in COPIED.items():
            marks = ", ".join("?" for _ in columns.split(","))
            with source.cursor(name=f"copy_{table}") as cursor:
                cursor.execute(f"SELECT {columns} FROM {table}")  # type: ignore[arg-type, unused-ignore]
                while rows := cursor.fetchmany(50_000):
                    target.executemany(
                        f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                        [tuple(stored(value) for value in row) for row in rows],
                    )
        target.execute(
            "UPDATE counter SET value = ? WHERE name = 'lot'", (COMPONENT_LOTS + INTERMEDIATE,)
        )
        target.commit()


if __name__ == "__main__":
    main()
