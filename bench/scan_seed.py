"""The line as bench/scan_load.py drives it, bulk-inserted with plain SQL into a fresh database.

Twenty component types (ten serial, ten lot-tracked); 2,000 lots, 90 % released, 5 %
quarantined, 5 % recalled; a tenth of the lots made by one of 50 completed batches (a batch
output lot: each scan of it also asks whether its source batch has an open blocking flag);
serial lots of 100 units; 200 batches in progress, each with a BOM line for every type (so every
scan checks the BOM and counts what the batch already used); and one hot lot of `hot_units`
units that the hot-lot run alone uses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import psycopg

from services.barcodes.gtin import gtin_check_digit

TYPES = 20
LOTS = 2_000
UNITS_PER_SERIAL_LOT = 100
BATCHES = 200  # in progress: the scans go into these
SOURCE_BATCHES = 50  # completed: they made a tenth of the lots
BOM_QUANTITY = 100_000  # per type and batch: no run uses that many, so no OVER_BOM warnings


@dataclass
class Line:
    """Barcodes by what scanning them does, and the batches that take scans."""

    accept: list[str] = field(default_factory=list)  # units of released lots
    block: list[str] = field(default_factory=list)  # units of quarantined or recalled lots
    lots: list[str] = field(default_factory=list)  # codes of released lot-tracked lots
    hot: list[str] = field(default_factory=list)  # units of the one hot lot
    batches: list[str] = field(default_factory=list)
    from_batches: int = 0  # lots made by a batch


def _gtin(n: int) -> str:
    body = f"0061414{n:06d}"
    return body + str(gtin_check_digit(body))


def seed(url: str, hot_units: int) -> Line:
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    now = datetime.now(UTC)
    expiry = date.today() + timedelta(days=400)
    rng = random.Random(7)
    line = Line()
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
        in_progress = [(b, f"B-{b:04d}", "in_progress", now, None) for b in range(1, BATCHES + 1)]
        completed = [
            (BATCHES + s, f"B-S{s:03d}", "completed", now, now)
            for s in range(1, SOURCE_BATCHES + 1)
        ]
        cur.executemany(
            "INSERT INTO batch (id, batch_number, product, coi, status, created_at, created_by, "
            "started_at, ended_at) VALUES (%s, %s, 'CAR-T', NULL, %s, %s, 'bench', %s, %s)",
            [(b, number, status, now, now, ended) for b, number, status, _, ended in in_progress]
            + [(b, number, status, now, now, ended) for b, number, status, _, ended in completed],
        )
        cur.executemany(
            "INSERT INTO bom_line (batch_id, step, component_type_id, quantity) "
            "VALUES (%s, NULL, %s, %s)",
            [(b, t, BOM_QUANTITY) for b in range(1, BATCHES + 1) for t in range(1, TYPES + 1)],
        )
        line.batches = [number for _, number, *_ in in_progress]
        lots, units = [], []
        unit_id = 0
        for lot_id in range(1, LOTS + 2):
            hot = lot_id == LOTS + 1
            serial = hot or lot_id <= LOTS // 2
            type_id = 1 if hot else (rng.randint(1, 10) if serial else rng.randint(11, TYPES))
            status = (
                "released"
                if hot
                else rng.choices(["released", "quarantined", "recalled"], [90, 5, 5])[0]
            )
            count = hot_units if hot else UNITS_PER_SERIAL_LOT
            quantity = count if serial else 100_000
            source = (
                None if hot or rng.random() >= 0.1 else BATCHES + rng.randint(1, SOURCE_BATCHES)
            )
            line.from_batches += source is not None
            code = f"L-{lot_id:06d}"
            lots.append(
                (
                    lot_id,
                    code,
                    type_id,
                    f"SL{lot_id:05d}",
                    quantity,
                    quantity,
                    count if serial else 0,
                    expiry,
                    f"COA-{lot_id}",
                    status,
                    now,
                    source,
                )
            )
            if serial:
                for _ in range(count):
                    unit_id += 1
                    barcode = f"U-{unit_id:08d}"
                    units.append((unit_id, barcode, lot_id, type_id, now))
                    if hot:
                        line.hot.append(barcode)
                    else:
                        (line.accept if status == "released" else line.block).append(barcode)
            elif status == "released":
                line.lots.append(code)
        cur.executemany(
            "INSERT INTO lot (id, code, component_type_id, supplier_lot, quantity_received, "
            "quantity_left, units_registered, expiry_date, coa_ref, status, received_at, "
            "received_by, source_batch_id) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,'bench',%s)",
            lots,
        )
        with cur.copy(
            "COPY unit (id, barcode, lot_id, component_type_id, created_at, status, "
            "created_by) FROM STDIN"
        ) as copy:
            for row in units:
                copy.write_row((*row, "available", "bench"))
        cur.execute("UPDATE counter SET value = %s WHERE name = 'lot'", (LOTS + 1,))
        cur.execute("UPDATE counter SET value = %s WHERE name = 'unit'", (unit_id,))
        for table in ("component_type", "lot", "batch", "bom_line"):
            cur.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
        cur.execute("ANALYZE")
    rng.shuffle(line.accept)
    return line
