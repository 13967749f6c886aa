"""The backward trace of a batch: every unit and lot consumed, directly, inside assemblies at any
nesting, and through the lots that earlier batches made, with status at use and now."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Date, Integer, String, bindparam, column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import UtcDateTime, utcnow
from models.batches import Batch, BatchFlag
from models.lots import Lot
from services.dock import labelling
from services.genealogy.forward import MAX_DEPTH
from services.trust import audit

# One statement, linear in the containers it reaches. `walk` goes down from the batch to
# everything that holds consumed items: the batches that made a lot it consumed (depth + 2: the
# lot, then its batch) and assemblies consumed whole (depth + 1), at any nesting. `step` has a row
# for each kind of container (a batch's accepted, unreversed scans; an assembly's parts), so each
# step is a plain join through the indexes. A row is a container (`node`: a batch's id, an
# assembly's unit id negated), its depth, and the container and step it came from, nothing
# about the path: UNION keeps each once however many paths lead there (a batch whose lots were
# each made from two lots made by two batches, and so on, is 2^n paths deep at n levels). A
# cycle (a batch that consumed its own output) only comes back deeper, so `:max_depth` ends it.
# `near` is each container's least depth, `link` its one parent on a shortest path (a row of
# the walk at that depth; the lowest parent, then the lowest name, among equals) and `tree`
# names the paths down that tree, one row per container. The items are then the scans into, and
# the parts of, every container reached, with the lot, unit and type they are about joined in
# the same statement: CROSS JOIN with the conditions in WHERE, so that SQLite keeps the order
# written, from the few containers out (it drove from every lot before: 400 ms at a million
# scans, now 5 ms); PostgreSQL plans it as any inner join. Most scans carry no warning: their
# flags come back NULL, not as '[]' to decode (decoding 400 of them was a third of the query's
# time in Python), and an item names its container batch only when that batch has flags to show
# against it.
BACKWARD = (
    text(
        """
WITH RECURSIVE step(kind) AS (SELECT 1 UNION ALL SELECT 2),
walk(node, batch_id, unit_id, depth, parent, name, step_name) AS (
    SELECT b.id, b.id, CAST(NULL AS INTEGER), 0, CAST(NULL AS INTEGER), CAST(NULL AS VARCHAR),
           CAST(NULL AS VARCHAR)
    FROM batch b WHERE b.id = :batch_id
    UNION
    SELECT COALESCE(mb.id, -a.id), mb.id, a.id,
           c.depth + CASE WHEN mb.id IS NULL THEN 1 ELSE 2 END,
           c.node, COALESCE(mb.batch_number, a.barcode),
           CASE WHEN mb.id IS NULL THEN 'assembly ' || a.barcode
                ELSE 'lot ' || l.code || ',batch ' || mb.batch_number END
    FROM walk c
    CROSS JOIN step
    LEFT JOIN scan s ON step.kind = 1 AND s.batch_id = c.batch_id
         AND s.outcome = 'accepted' AND s.reversed_at IS NULL
    LEFT JOIN assembly_part p ON step.kind = 2 AND p.assembly_unit_id = c.unit_id
    JOIN lot l ON l.id = COALESCE(s.lot_id, p.part_lot_id)
    LEFT JOIN batch mb ON mb.id = l.source_batch_id
    LEFT JOIN unit a ON mb.id IS NULL AND a.lot_id = l.id
         AND EXISTS (SELECT 1 FROM assembly_part ap WHERE ap.assembly_unit_id = a.id)
    WHERE c.depth < :max_depth
      AND COALESCE(mb.id, a.id) IS NOT NULL
),
near(node, batch_id, unit_id, depth) AS (
    SELECT node, batch_id, unit_id, MIN(depth) FROM walk GROUP BY node, batch_id, unit_id
),
link(node, parent, name, step_name, rank) AS MATERIALIZED (
    SELECT w.node, w.parent, w.name, w.step_name,
           ROW_NUMBER() OVER (PARTITION BY w.node ORDER BY w.parent, w.step_name)
    FROM walk w
    JOIN near n ON n.node = w.node AND n.depth = w.depth
    WHERE w.parent IS NOT NULL
),
tree(node, name, path) AS (
    SELECT b.id, CAST(b.batch_number AS VARCHAR), ',batch ' || b.batch_number || ','
    FROM batch b WHERE b.id = :batch_id
    UNION ALL
    SELECT k.node, k.name, t.path || k.step_name || ','
    FROM tree t
    JOIN link k ON k.parent = t.node AND k.rank = 1
),
shortest(batch_id, unit_id, name, depth, path, flagged) AS (
    SELECT n.batch_id, n.unit_id, t.name, n.depth, t.path,
           EXISTS (SELECT 1 FROM batch_flag f WHERE f.batch_id = n.batch_id)
    FROM near n
    JOIN tree t ON t.node = n.node
)
SELECT c.depth + 1 AS depth, c.path || COALESCE('unit ' || u.barcode, 'lot ' || l.code) AS path,
       c.name AS used_in, CASE WHEN c.flagged THEN c.batch_id END AS container,
       s.id AS scan_id, u.barcode AS unit, u.status AS unit_status_now, l.id AS lot,
       l.code AS lot_code, t.code AS component_type,
       l.supplier_lot, l.status AS status_now, s.quantity, s.lot_status_at_scan AS status_at_use,
       s.expiry_at_scan AS expiry_date, s.at, s.actor AS operator, s.station, s.step,
       CASE WHEN CAST(s.flags AS VARCHAR) = '[]' THEN NULL ELSE s.flags END AS flags
FROM shortest c
CROSS JOIN scan s
CROSS JOIN lot l
CROSS JOIN component_type t
LEFT JOIN unit u ON u.id = s.unit_id
WHERE s.batch_id = c.batch_id AND s.outcome = 'accepted' AND s.reversed_at IS NULL
  AND l.id = s.lot_id AND t.id = l.component_type_id
UNION ALL
SELECT c.depth + 1, c.path || COALESCE('unit ' || u.barcode, 'lot ' || l.code),
       c.name, NULL, NULL, u.barcode, u.status, l.id, l.code, t.code, l.supplier_lot, l.status,
       p.quantity, NULL, l.expiry_date, a.created_at, a.created_by, NULL, NULL, NULL
FROM shortest c
CROSS JOIN unit a
CROSS JOIN assembly_part p
CROSS JOIN lot l
CROSS JOIN component_type t
LEFT JOIN unit u ON u.id = p.part_unit_id
WHERE a.id = c.unit_id AND p.assembly_unit_id = a.id
  AND l.id = p.part_lot_id AND t.id = l.component_type_id
"""
    )
    .bindparams(bindparam("batch_id", type_=Integer), bindparam("max_depth", type_=Integer))
    .columns(
        column("depth", Integer),
        column("path", String),
        column("used_in", String),
        column("container", Integer),
        column("scan_id", Integer),
        column("unit", String),
        column("unit_status_now", String),
        column("lot", Integer),
        column("lot_code", String),
        column("component_type", String),
        column("supplier_lot", String),
        column("status_now", String),
        column("quantity", Integer),
        column("status_at_use", String),
        column("expiry_date", Date),
        column("at", UtcDateTime()),
        column("operator", String),
        column("station", String),
        column("step", String),
        column("flags", JSON),
    )
)


FLAGS = BatchFlag.__table__  # type: ignore[attr-defined]
FLAG_FIELDS = (
    "id",
    "code",
    "status",
    "message",
    "scan_id",
    "lot_id",
    "deviation_ref",
    "resolved_by",
    "resolution",
)


async def trace(session: AsyncSession, batch: Batch) -> dict[str, Any]:
    """The backward trace as a plain document of `Genealogy`'s fields: at hundreds of items,
    building and validating models would cost more than the query."""
    result = await session.execute(BACKWARD, {"batch_id": batch.id, "max_depth": MAX_DEPTH})
    keys = list(result.keys())
    items = [dict(zip(keys, row, strict=True)) for row in result]
    deviations = await _flags(session, {i["container"] for i in items if i["container"]})
    for item in items:
        # The names in the path are codes, barcodes and batch numbers: none holds a comma.
        item["path"] = item["path"][1:].split(",")
        item["kind"] = "unit" if item["unit"] else "lot"
        item["flags"] = item["flags"] or []
        item["deviations"] = [
            d
            for d in deviations.get(item.pop("container"), ())
            if d["scan_id"] == item["scan_id"]
            or (d["scan_id"] is None and d["lot_id"] == item["lot"])
        ]
    items.sort(key=lambda i: (i["depth"], i["path"], i["at"]))
    return {
        "batch": batch.batch_number,
        "product": batch.product,
        "coi": batch.coi,
        "status": batch.status,
        "generated_at": utcnow(),
        "audit_head": (await audit.chain_head(session)).model_dump(),
        "items": items,
        "output_labels": await _output_labels(session, batch),
    }


async def _output_labels(session: AsyncSession, batch: Batch) -> list[dict[str, Any]]:
    """Label reconciliation of each lot the batch made: where labels matter to its record."""
    made = (
        await session.execute(
            select(col(Lot.id), col(Lot.code))
            .where(col(Lot.source_batch_id) == batch.id)
            .order_by(col(Lot.id))
        )
    ).all()
    return [
        {"lot": lot_id, "lot_code": code, **(await labelling.counts(session, lot_id)).model_dump()}
        for lot_id, code in made
        if lot_id is not None
    ]


async def _flags(session: AsyncSession, batch_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    """The flags of these batches, oldest first: an item shows those about its scan or lot."""
    if not batch_ids:
        return {}
    found: dict[int, list[dict[str, Any]]] = {}
    for row in await session.execute(
        select(FLAGS.c.batch_id, *(FLAGS.c[f] for f in FLAG_FIELDS))
        .where(FLAGS.c.batch_id.in_(batch_ids))
        .order_by(FLAGS.c.id)
    ):
        found.setdefault(row[0], []).append(dict(zip(FLAG_FIELDS, row[1:], strict=True)))
    return found
