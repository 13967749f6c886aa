"""Genealogy: where a lot went (forward trace), as one recursive SQL query on both databases.

The graph has two kinds of node, lots and batches, and three kinds of edge:
- lot -> batch: an accepted, unreversed scan of the lot (or of one of its units) into the batch;
- lot -> lot: a part of the lot built into an assembly, whose internal lot is the next node;
- batch -> lot: a lot the batch produced (`lot.source_batch_id`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

MAX_DEPTH = 64

# The forward walk, in one statement, linear in the lots and batches it reaches:
# 1. `walk` goes from lot to lot only: from a lot to the lot made by a batch that used it, and to
#    the internal lot of an assembly it was built into (`step` has a row for each kind, so that
#    each step is a plain join that both databases drive through the indexes from the lots
#    reached so far). A row is a lot, its depth, and the lot and step it came from, nothing
#    about the path: UNION keeps each once, however many paths lead there (two batches per
#    level, each using both lots of the level above, made 2^n paths of n levels, and the walk
#    that carried paths took 46 s at 18 levels). A cycle only comes back deeper, so `:max_depth`
#    ends it; a lot is reached at a few depths at most. Only the scans into batches that made a
#    lot lead on: one hashed list of those batches spares joining every scan of every lot
#    reached to the lot table.
# 2. `near` is each lot's least depth; `link` its one parent on a shortest path (a row of the
#    walk at that depth; the parent of lowest id, then the lowest name, among equals); `tree`
#    names the paths from the lot down that tree, one row per lot.
# 3. `uses` joins the scans of every lot reached once, as a plain join: at a million scans, the
#    batches that only consume (10,000 of them) never enter the walk. A batch's shortest path
#    goes through the lot of least depth it used, the lowest lot id among equals; MIN over
#    depth * 2^32 + lot id picks both in one hash aggregate. (CROSS JOIN with the condition in
#    WHERE keeps SQLite driving from the lots reached; it read the whole scan index otherwise.
#    PostgreSQL plans it as any inner join.)
# `depth` counts the steps from the lot: a batch that used it is 1, the lot that batch made 2.
WHERE_USED = text(
    """
WITH RECURSIVE step(kind) AS (SELECT 1 UNION ALL SELECT 2),
walk(lot_id, depth, parent_id, name) AS (
    SELECT l.id, 0, CAST(NULL AS INTEGER), CAST(NULL AS VARCHAR) FROM lot l WHERE l.id = :lot_id
    UNION
    SELECT COALESCE(o.id, u.lot_id), r.depth + CASE WHEN o.id IS NULL THEN 1 ELSE 2 END,
           r.lot_id, CASE WHEN o.id IS NULL THEN 'assembly ' || u.barcode
                          ELSE 'batch ' || b.batch_number || ',lot ' || o.code END
    FROM walk r
    CROSS JOIN step
    LEFT JOIN scan s ON step.kind = 1 AND s.lot_id = r.lot_id
         AND s.outcome = 'accepted' AND s.reversed_at IS NULL
         AND EXISTS (SELECT 1 FROM lot m WHERE m.source_batch_id = s.batch_id)
    LEFT JOIN lot o ON o.source_batch_id = s.batch_id
    LEFT JOIN batch b ON b.id = o.source_batch_id
    LEFT JOIN assembly_part p ON step.kind = 2 AND p.part_lot_id = r.lot_id
    LEFT JOIN unit u ON u.id = p.assembly_unit_id
    WHERE r.depth < :max_depth
      AND COALESCE(o.id, u.lot_id) IS NOT NULL
),
near(lot_id, depth) AS (
    SELECT lot_id, MIN(depth) FROM walk GROUP BY lot_id
),
link(lot_id, parent_id, name, rank) AS MATERIALIZED (
    SELECT w.lot_id, w.parent_id, w.name,
           ROW_NUMBER() OVER (PARTITION BY w.lot_id ORDER BY w.parent_id, w.name)
    FROM walk w
    JOIN near n ON n.lot_id = w.lot_id AND n.depth = w.depth
    WHERE w.parent_id IS NOT NULL
),
tree(lot_id, path) AS (
    SELECT l.id,
           ',' || COALESCE((SELECT 'assembly ' || a.barcode FROM unit a
                            WHERE a.lot_id = l.id AND EXISTS (
                                SELECT 1 FROM assembly_part ap WHERE ap.assembly_unit_id = a.id)),
                           'lot ' || l.code) || ','
    FROM lot l WHERE l.id = :lot_id
    UNION ALL
    SELECT k.lot_id, t.path || k.name || ','
    FROM tree t
    JOIN link k ON k.parent_id = t.lot_id AND k.rank = 1
),
uses(batch_id, best) AS (
    SELECT s.batch_id, MIN(l.depth * 4294967296 + l.lot_id)
    FROM near l
    CROSS JOIN scan s
    WHERE s.lot_id = l.lot_id AND s.outcome = 'accepted' AND s.reversed_at IS NULL
    GROUP BY s.batch_id
)
SELECT b.id, u.best / 4294967296 + 1, t.path || 'batch ' || b.batch_number || ',',
       b.batch_number, b.status, b.coi
FROM uses u
JOIN tree t ON t.lot_id = u.best % 4294967296
JOIN batch b ON b.id = u.batch_id
ORDER BY u.best / 4294967296, b.id
"""
)


@dataclass(frozen=True)
class Use:
    batch_id: int
    depth: int
    path: list[str]  # from the lot to the batch: "lot L-000042", "assembly U-...", "batch B-7"
    batch_number: str
    status: str
    coi: str | None


async def where_used(session: AsyncSession, lot_id: int) -> list[Use]:
    """Every batch that used the lot at any depth, each with its shortest path."""
    rows = await session.execute(WHERE_USED, {"lot_id": lot_id, "max_depth": MAX_DEPTH})
    # The names in the path are codes, barcodes and batch numbers: none holds a comma.
    return [
        Use(batch_id, depth, path[1:-1].split(","), number, status, coi)
        for batch_id, depth, path, number, status, coi in rows
    ]


async def forward_trace(session: AsyncSession, lot_id: int) -> list[dict[str, Any]]:
    """The where-used answer as plain rows (`WhereUsed` fields): at ten thousand batches,
    building and re-validating models would cost more than the query."""
    rows = await session.execute(WHERE_USED, {"lot_id": lot_id, "max_depth": MAX_DEPTH})
    return [
        {
            "batch": number,
            "status": status,
            "coi": coi,
            "depth": depth,
            "path": path[1:-1].split(","),
        }
        for _, depth, path, number, status, coi in rows
    ]
