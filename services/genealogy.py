"""Genealogy: where a lot went (forward trace), as one recursive SQL query on both databases.

The graph has two kinds of node, lots and batches, and three kinds of edge:
- lot -> batch: an accepted, unreversed scan of the lot (or of one of its units) into the batch;
- lot -> lot: a part of the lot built into an assembly, whose internal lot is the next node;
- batch -> lot: a lot the batch produced (`lot.source_batch_id`).
The walk carries its path as text, which keeps it cycle-safe and gives the shortest path.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import JSON, Date, Integer, String, bindparam, column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import UtcDateTime
from models.batches import Batch, BatchStatus, WhereUsed
from models.lots import Lot
from models.units import AssemblyPart, Unit

MAX_DEPTH = 64

WHERE_USED = text(
    """
WITH RECURSIVE walk(kind, node, depth, path) AS (
    SELECT 'L', CAST(:lot_id AS INTEGER), 0, ',L' || CAST(:lot_id AS VARCHAR) || ','
    UNION ALL
    SELECT nxt.kind, nxt.node, walk.depth + 1,
           walk.path || nxt.kind || CAST(nxt.node AS VARCHAR) || ','
    FROM walk
    JOIN (
        SELECT 'L' AS src_kind, s.lot_id AS src, 'B' AS kind, s.batch_id AS node
        FROM scan s
        WHERE s.outcome = 'accepted' AND s.reversed_at IS NULL AND s.lot_id IS NOT NULL
        UNION ALL
        SELECT 'L', p.part_lot_id, 'L', u.lot_id
        FROM assembly_part p JOIN unit u ON u.id = p.assembly_unit_id
        UNION ALL
        SELECT 'B', l.source_batch_id, 'L', l.id
        FROM lot l WHERE l.source_batch_id IS NOT NULL
    ) nxt ON nxt.src_kind = walk.kind AND nxt.src = walk.node
    WHERE walk.depth < :max_depth
      AND walk.path NOT LIKE '%,' || nxt.kind || CAST(nxt.node AS VARCHAR) || ',%'
)
SELECT kind, node, depth, path FROM walk WHERE depth > 0
"""
)


@dataclass(frozen=True)
class Use:
    batch_id: int
    depth: int
    path: list[tuple[str, int]]  # ("L", lot id) and ("B", batch id), from the lot to the batch


async def where_used(session: AsyncSession, lot_id: int) -> list[Use]:
    """Every batch that used the lot at any depth, each with its shortest path."""
    rows = (await session.execute(WHERE_USED, {"lot_id": lot_id, "max_depth": MAX_DEPTH})).all()
    best: dict[int, tuple[int, str]] = {}
    for kind, node, depth, path in rows:
        if kind != "B":
            continue
        if node not in best or (depth, path) < best[node]:
            best[node] = (depth, path)
    return sorted(
        (
            Use(batch_id=node, depth=depth, path=_parse(path))
            for node, (depth, path) in best.items()
        ),
        key=lambda use: (use.depth, use.batch_id),
    )


def _parse(path: str) -> list[tuple[str, int]]:
    return [(step[0], int(step[1:])) for step in path.strip(",").split(",")]


async def forward_trace(session: AsyncSession, lot_id: int) -> list[WhereUsed]:
    uses = await where_used(session, lot_id)
    if not uses:
        return []
    paths = await describe_paths(session, uses)
    found = {
        b.id: b
        for b in (
            await session.execute(
                select(Batch).where(col(Batch.id).in_([u.batch_id for u in uses]))
            )
        ).scalars()
    }
    return [
        WhereUsed(
            batch=found[u.batch_id].batch_number,
            status=BatchStatus(found[u.batch_id].status),
            coi=found[u.batch_id].coi,
            depth=u.depth,
            path=paths[u.batch_id],
        )
        for u in uses
    ]


async def describe_paths(session: AsyncSession, uses: list[Use]) -> dict[int, list[str]]:
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
    numbers = (
        dict(
            (
                await session.execute(
                    select(col(Batch.id), col(Batch.batch_number)).where(
                        col(Batch.id).in_(batch_ids)
                    )
                )
            ).all()
        )
        if batch_ids
        else {}
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
WITH RECURSIVE container(kind, node, depth, path) AS (
    SELECT 'B', CAST(:batch_id AS INTEGER), 0, ',B' || CAST(:batch_id AS VARCHAR) || ','
    UNION ALL
    SELECT nxt.kind, nxt.node,
           container.depth + CASE WHEN nxt.via IS NULL THEN 1 ELSE 2 END,
           container.path || COALESCE('L' || CAST(nxt.via AS VARCHAR) || ',', '')
               || nxt.kind || CAST(nxt.node AS VARCHAR) || ','
    FROM container
    JOIN (
        SELECT 'B' AS src_kind, s.batch_id AS src, 'B' AS kind, l.source_batch_id AS node,
               l.id AS via
        FROM scan s JOIN lot l ON l.id = s.lot_id
        WHERE s.outcome = 'accepted' AND s.reversed_at IS NULL
          AND l.source_batch_id IS NOT NULL
        UNION ALL
        SELECT 'B', s.batch_id, 'A', s.unit_id, NULL
        FROM scan s
        WHERE s.outcome = 'accepted' AND s.reversed_at IS NULL AND s.unit_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM assembly_part ap WHERE ap.assembly_unit_id = s.unit_id)
        UNION ALL
        SELECT 'A', p.assembly_unit_id, 'A', p.part_unit_id, NULL
        FROM assembly_part p
        WHERE p.part_unit_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM assembly_part ap WHERE ap.assembly_unit_id = p.part_unit_id)
        UNION ALL
        SELECT 'A', p.assembly_unit_id, 'B', l.source_batch_id, l.id
        FROM assembly_part p JOIN lot l ON l.id = p.part_lot_id
        WHERE l.source_batch_id IS NOT NULL
    ) nxt ON nxt.src_kind = container.kind AND nxt.src = container.node
    WHERE container.depth < :max_depth
      AND container.path NOT LIKE '%,' || nxt.kind || CAST(nxt.node AS VARCHAR) || ',%'
)
SELECT kind, node, depth, path FROM container
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
