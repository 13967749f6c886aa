"""Scan throughput at the line: realistic volume on PostgreSQL, 32 concurrent scanners, and the
ceiling of the same stack doing one INSERT per request.

    .venv/bin/python -m bench.scan_load [--seconds 20] [--workers 2] [--connections 32]

Seeds a fresh PostgreSQL database (2,000 lots, 50,000 units, 200 batches in progress) with
plain SQL, serves the app as the README recommends for production (uvicorn, two workers), and
drives a mix of accepted and blocked scans (each scanner a keep-alive connection) for a fixed
time. Then it serves bench/ceiling_app.py the same way and drives one-INSERT requests. Prints
scans/s, p50/p99 latency, the ceiling and the ratio, and checks that every 201 answered is a
committed, accepted scan in the database. Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
from datetime import UTC, date, datetime, timedelta

import psycopg

from bench.harness import fresh_database, machine, make_users, percentile, served
from bench.loadgen import Result, drive
from models.users import Role
from services.barcodes.gtin import gtin_check_digit

TYPES = 20
LOTS = 2_000
UNITS_PER_SERIAL_LOT = 50
BATCHES = 200


def _gtin(n: int) -> str:
    body = f"0061414{n:06d}"
    return body + str(gtin_check_digit(body))


def seed(url: str) -> dict[str, list[str]]:
    """Bulk-insert types, lots, units and batches; returns barcodes by what a scan will do."""
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    now = datetime.now(UTC)
    today = date.today()
    rng = random.Random(7)
    released_units: list[str] = []
    blocked_units: list[str] = []
    lot_codes: list[str] = []
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO component_type (id, code, name, category, tracking, risk, gtin, "
            "has_expiry, expiry_warning_days, is_assembly, created_at, created_by) VALUES "
            "(%s, %s, %s, 'bag', %s, 'high', %s, true, 30, false, %s, 'bench')",
            [
                (
                    t,
                    f"TYPE-{t:02d}",
                    f"Type {t}",
                    "serial" if t <= TYPES // 2 else "lot",
                    _gtin(t),
                    now,
                )
                for t in range(1, TYPES + 1)
            ],
        )
        lots, units = [], []
        unit_id = 0
        for lot_id in range(1, LOTS + 1):
            serial = lot_id <= LOTS // 2
            type_id = rng.randint(1, TYPES // 2) if serial else rng.randint(TYPES // 2 + 1, TYPES)
            status = rng.choices(["released", "quarantined", "recalled"], [90, 5, 5])[0]
            quantity = UNITS_PER_SERIAL_LOT if serial else 100_000
            code = f"L-{lot_id:06d}"
            lots.append(
                (
                    lot_id,
                    code,
                    type_id,
                    f"SL{lot_id:05d}",
                    quantity,
                    quantity,
                    UNITS_PER_SERIAL_LOT if serial else 0,
                    today + timedelta(days=400),
                    f"COA-{lot_id}",
                    status,
                    now,
                )
            )
            if serial:
                for _ in range(UNITS_PER_SERIAL_LOT):
                    unit_id += 1
                    barcode = f"U-{unit_id:08d}"
                    units.append((unit_id, barcode, lot_id, type_id, now))
                    (released_units if status == "released" else blocked_units).append(barcode)
            elif status == "released":
                lot_codes.append(code)
        cur.executemany(
            "INSERT INTO lot (id, code, component_type_id, supplier_lot, quantity_received, "
            "quantity_left, units_registered, expiry_date, coa_ref, status, received_at, "
            "received_by) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,'bench')",
            lots,
        )
        with cur.copy(
            "COPY unit (id, barcode, lot_id, component_type_id, created_at, status, "
            "created_by) FROM STDIN"
        ) as copy:
            for row in units:
                copy.write_row((*row, "available", "bench"))
        cur.executemany(
            "INSERT INTO batch (id, batch_number, product, coi, status, created_at, created_by, "
            "started_at) VALUES (%s, %s, 'CAR-T', %s, 'in_progress', %s, 'bench', %s)",
            [(b, f"B-{b:04d}", f"COI-{b:05d}", now, now) for b in range(1, BATCHES + 1)],
        )
        cur.execute("UPDATE counter SET value = %s WHERE name = 'lot'", (LOTS,))
        cur.execute("UPDATE counter SET value = %s WHERE name = 'unit'", (unit_id,))
        for table in ("component_type", "lot", "batch"):
            cur.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
        cur.execute("ANALYZE")
    rng.shuffle(released_units)
    return {"accept": released_units, "block": blocked_units, "lots": lot_codes}


def scan_requests(keys: list[str], seed_data: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """80 % units that will be accepted, 10 % lot-tracked scans by lot code (accepted), 10 %
    units of quarantined or recalled lots (blocked)."""
    accept = list(seed_data["accept"])
    block, lots = seed_data["block"], seed_data["lots"]
    counter = iter(range(10**9))
    rng = random.Random(11)

    def next_request(worker: int) -> tuple[str, str, bytes, str]:
        n = next(counter)
        kind = n % 10
        if kind == 9:
            barcode, quantity = rng.choice(block), 1
        elif kind == 8:
            barcode, quantity = rng.choice(lots), 1
        else:
            barcode, quantity = accept.pop(), 1
        body = {
            "barcode": barcode,
            "batch": f"B-{rng.randint(1, BATCHES):04d}",
            "station": f"ST-{worker:02d}",
            "quantity": quantity,
            "client_scan_id": f"w{worker}-{n}",
        }
        return (
            "POST",
            "/api/v1/scans",
            json.dumps(body).encode(),
            f"Authorization: Bearer {keys[worker % len(keys)]}\r\n",
        )

    return next_request


def report(label: str, result: Result, ok: int) -> float:
    rate = ok / result.seconds
    lat = result.latencies_ms
    print(
        f"{label}: {rate:,.0f} ok/s over {result.seconds:.1f} s "
        f"({sum(result.statuses.values()):,} requests, "
        f"statuses {dict(sorted(result.statuses.items()))}); "
        f"latency p50 {statistics.median(lat):.1f} ms, p99 {percentile(lat, 0.99):.1f} ms"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with fresh_database("postgresql") as url:
        data = seed(url)
        keys = list(make_users(url, [Role.operator, Role.supervisor, Role.qa]).values())
        print(
            f"seeded {LOTS:,} lots, {len(data['accept']) + len(data['block']):,} units, "
            f"{BATCHES} batches in progress"
        )
        requests = scan_requests(keys, data)  # one stream: no barcode or client id used twice
        with served(url, workers=args.workers) as base:
            warm = asyncio.run(drive(base, 4, 2, requests))
            result = asyncio.run(drive(base, args.connections, args.seconds, requests))
        accepted = result.statuses.get(201, 0)
        scans = report(
            f"scans ({args.workers} workers, {args.connections} connections)", result, accepted
        )
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo) as conn:
            stored = conn.execute("SELECT count(*) FROM scan WHERE outcome = 'accepted'").fetchone()
            conn.execute("CREATE TABLE bench_ceiling (id bigserial PRIMARY KEY, payload text)")
            conn.commit()
        answered = accepted + warm.statuses.get(201, 0)
        print(
            f"durability: {answered:,} answered 201, {stored[0] if stored else 0:,} accepted "
            "scans committed"
        )
        with served(url, workers=args.workers, app="bench.ceiling_app:app") as base:

            def insert(worker: int) -> tuple[str, str, bytes, str]:
                return ("POST", "/insert", b'{"barcode": "U-00000001"}', "")

            asyncio.run(drive(base, 4, 2, insert))
            ceiling = asyncio.run(drive(base, args.connections, args.seconds, insert))
        top = report(
            "ceiling (one INSERT per request, same stack)", ceiling, ceiling.statuses.get(201, 0)
        )
        print(f"ratio accepted scans / ceiling: {scans / top:.2f}")


if __name__ == "__main__":
    main()
