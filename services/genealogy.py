"""Genealogy: where a lot went (forward trace), as one recursive SQL query on both databases.

The graph has two kinds of node, lots and batches, and three kinds of edge:
- lot -> batch: an accepted, unreversed scan of the lot (or of one of its units) into the batch;
- lot -> lot: a part of the lot built into an assembly, whose internal lot is the next node;
- batch -> lot: a lot the batch produced (`lot.source_batch_id`).
The walk carries its path as text, which keeps it cycle-safe and gives the shortest path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Date, Integer, String, bindparam, column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import UtcDateTime
from models.batches import Batch
from models.lots import Lot
from models.units import AssemblyPart, Unit

MAX_DEPTH = 64

# Each step of both walks is a plain join that PostgreSQL and SQLite drive through the indexes
# from the few rows reached so far (a UNION of edge kinds inside the recursive step made
# PostgreSQL hash every scan in the database at each step: 1.4 s at a million scans, and a join
# to the scans after the walk merged the whole index: 0.6 s). The kinds of step (lot -> batch
# that used it, lot -> assembly, batch -> lot it made) are the rows of `step`; the path text
# keeps the walk cycle-safe and names every node on the way.
WHERE_USED = text(
    """
WITH RECURSIVE step(kind) AS (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3),
reach(lot_id, batch_id, depth, path) AS (
    SELECT CAST(:lot_id AS INTEGER), CAST(NULL AS INTEGER), 0,
           ',L' || CAST(:lot_id AS VARCHAR) || ','
    UNION ALL
    SELECT COALESCE(u.lot_id, o.id), s.batch_id, r.depth + 1,
           r.path || CASE WHEN s.batch_id IS NULL
                          THEN 'L' || CAST(COALESCE(u.lot_id, o.id) AS VARCHAR)
                          ELSE 'B' || CAST(s.batch_id AS VARCHAR) END || ','
    FROM reach r
    CROSS JOIN step
    LEFT JOIN scan s ON step.kind = 1 AND s.lot_id = r.lot_id
         AND s.outcome = 'accepted' AND s.reversed_at IS NULL
    LEFT JOIN assembly_part p ON step.kind = 2 AND p.part_lot_id = r.lot_id
    LEFT JOIN unit u ON u.id = p.assembly_unit_id
    LEFT JOIN lot o ON step.kind = 3 AND o.source_batch_id = r.batch_id
    WHERE r.depth < :max_depth
      AND COALESCE(s.batch_id, u.lot_id, o.id) IS NOT NULL
      AND r.path NOT LIKE '%,' || CASE WHEN s.batch_id IS NULL
                                       THEN 'L' || CAST(COALESCE(u.lot_id, o.id) AS VARCHAR)
                                       ELSE 'B' || CAST(s.batch_id AS VARCHAR) END || ',%'
),
used(batch_id, depth, path, rank) AS (
    SELECT batch_id, depth, path,
           ROW_NUMBER() OVER (PARTITION BY batch_id ORDER BY depth, path)
    FROM reach WHERE batch_id IS NOT NULL
)
SELECT used.batch_id, used.depth, used.path, b.batch_number, b.status, b.coi
FROM used JOIN batch b ON b.id = used.batch_id
WHERE used.rank = 1
ORDER BY used.depth, used.batch_id
"""
)


@dataclass(frozen=True)
class Use:
    batch_id: int
    depth: int
    path: list[tuple[str, int]]  # ("L", lot id) and ("B", batch id), from the lot to the batch
    batch_number: str
    status: str
    coi: str | None


async def where_used(session: AsyncSession, lot_id: int) -> list[Use]:
    """Every batch that used the lot at any depth, each with its shortest path."""
    rows = await session.execute(WHERE_USED, {"lot_id": lot_id, "max_depth": MAX_DEPTH})
    return [
        Use(
            batch_id=batch_id,
            depth=depth,
            path=_parse(path),
            batch_number=number,
            status=status,
            coi=coi,
        )
        for batch_id, depth, path, number, status, coi in rows
    ]


def _parse(path: str) -> list[tuple[str, int]]:
    return [(step[0], int(step[1:])) for step in path.strip(",").split(",")]


async def forward_trace(session: AsyncSession, lot_id: int) -> list[dict[str, Any]]:
    """The where-used answer as plain rows (`WhereUsed` fields): at ten thousand batches,
    building and re-validating models would cost more than the query."""
    uses = await where_used(session, lot_id)
    paths = await describe_paths(session, uses, numbers={u.batch_id: u.batch_number for u in uses})
    return [
        {
            "batch": u.batch_number,
            "status": u.status,
            "coi": u.coi,
            "depth": u.depth,
            "path": paths[u.batch_id],
        }
        for u in uses
    ]


async def describe_paths(
    session: AsyncSession, uses: list[Use], numbers: dict[int, str] | None = None
) -> dict[int, list[str]]:
    """Readable paths: lot codes, assembly barcodes for assemblies' internal lots, batch numbers."""
    lot_ids = {node for use in uses for kind, node in use.path if kind == "L"}
    batch_ids = {node for use in uses for kind, node in use.path if kind == "B"}
    lot_codes = (
        dict(
            (
                await session.execute(
                    select(col(Lot.id), col(Lot.code)).where(col(Lot.id).in_(lot_ids))
                )
            ).all()
        )
        if lot_ids
        else {}
    )
    assemblies = (
        dict(
            (
                await session.execute(
                    select(col(Unit.lot_id), col(Unit.barcode))
                    .where(col(Unit.lot_id).in_(lot_ids))
                    .where(col(Unit.id).in_(select(col(AssemblyPart.assembly_unit_id))))
                )
            ).all()
        )
        if lot_ids
        else {}
    )
    numbers = dict(numbers or {})
    missing = batch_ids - numbers.keys()
    if missing:
        numbers.update(
            (row.id, row.batch_number)
            for row in (
                await session.execute(
                    select(col(Batch.id), col(Batch.batch_number)).where(col(Batch.id).in_(missing))
                )
            ).all()
        )

    def label(kind: str, node: int) -> str:
        if kind == "B":
            return f"batch {numbers[node]}"
        if node in assemblies:
            return f"assembly {assemblies[node]}"
        return f"lot {lot_codes[node]}"

    return {use.batch_id: [label(k, n) for k, n in use.path] for use in uses}


# --- backward trace: what went into a batch -----------------------------------------------------

CONTAINERS = text(
    """
WITH RECURSIVE step(kind) AS (SELECT 1 UNION ALL SELECT 2),
down(lot_id, depth, path) AS (
    SELECT DISTINCT s.lot_id, 1,
           ',B' || CAST(:batch_id AS VARCHAR) || ',L' || CAST(s.lot_id AS VARCHAR) || ','
    FROM scan s
    WHERE s.batch_id = :batch_id AND s.outcome = 'accepted' AND s.reversed_at IS NULL
    UNION ALL
    SELECT COALESCE(s.lot_id, p.part_lot_id),
           d.depth + CASE WHEN s.lot_id IS NULL THEN 1 ELSE 2 END,
           d.path || CASE WHEN s.lot_id IS NULL THEN ''
                          ELSE 'B' || CAST(l.source_batch_id AS VARCHAR) || ',' END
                  || 'L' || CAST(COALESCE(s.lot_id, p.part_lot_id) AS VARCHAR) || ','
    FROM down d
    JOIN lot l ON l.id = d.lot_id
    CROSS JOIN step
    LEFT JOIN scan s ON step.kind = 1 AND s.batch_id = l.source_batch_id
         AND s.outcome = 'accepted' AND s.reversed_at IS NULL
    LEFT JOIN unit u ON step.kind = 2 AND u.lot_id = l.id
    LEFT JOIN assembly_part p ON p.assembly_unit_id = u.id
    WHERE d.depth < :max_depth
      AND COALESCE(s.lot_id, p.part_lot_id) IS NOT NULL
      AND d.path NOT LIKE '%,L' || CAST(COALESCE(s.lot_id, p.part_lot_id) AS VARCHAR) || ',%'
)
SELECT 'B', CAST(:batch_id AS INTEGER), 0, ',B' || CAST(:batch_id AS VARCHAR) || ','
UNION ALL
SELECT 'B', l.source_batch_id, d.depth + 1,
       d.path || 'B' || CAST(l.source_batch_id AS VARCHAR) || ','
FROM down d JOIN lot l ON l.id = d.lot_id
WHERE l.source_batch_id IS NOT NULL
UNION ALL
SELECT 'A', u.id, d.depth, d.path
FROM down d JOIN unit u ON u.lot_id = d.lot_id
WHERE EXISTS (SELECT 1 FROM assembly_part p WHERE p.assembly_unit_id = u.id)
"""
)

SCANNED = (
    text(
        """
SELECT s.batch_id AS container, s.id AS scan_id, s.unit_id, s.lot_id, s.quantity,
       s.lot_status_at_scan AS status_at_use, s.expiry_at_scan AS expiry, s.at, s.actor,
       s.station, s.step, s.flags, s.override
FROM scan s
WHERE s.batch_id IN :batches AND s.outcome = 'accepted' AND s.reversed_at IS NULL
ORDER BY s.id
"""
    )
    .bindparams(bindparam("batches", expanding=True))
    .columns(
        column("container", Integer),
        column("scan_id", Integer),
        column("unit_id", Integer),
        column("lot_id", Integer),
        column("quantity", Integer),
        column("status_at_use", String),
        column("expiry", Date),
        column("at", UtcDateTime()),
        column("actor", String),
        column("station", String),
        column("step", String),
        column("flags", JSON),
        column("override", JSON),
    )
)

BUILT_IN = text(
    """
SELECT p.assembly_unit_id AS container, p.part_unit_id AS unit_id, p.part_lot_id AS lot_id,
       p.quantity
FROM assembly_part p
WHERE p.assembly_unit_id IN :assemblies
ORDER BY p.id
"""
).bindparams(bindparam("assemblies", expanding=True))
