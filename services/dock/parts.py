"""An assembly is blocked whenever any of its parts would be, at any nesting depth.

At the line the parts' lots are read under `FOR SHARE` (services.locks): QA's status change of a
part lot waits for the scan that read it released, and its after-use walk then sees the kit's use;
a scan after the change waits for it and reads the lot as it became."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.lots import Lot
from models.units import Unit
from services.dock import checks
from services.dock.checks import BLOCK, Flag, source_batch_flagged
from services.locks import locked

PARTS = text(
    """
WITH RECURSIVE assembly(unit_id, depth) AS (
    SELECT CAST(:unit_id AS INTEGER), 0
    UNION ALL
    SELECT p.part_unit_id, assembly.depth + 1
    FROM assembly_part p JOIN assembly ON p.assembly_unit_id = assembly.unit_id
    WHERE p.part_unit_id IS NOT NULL AND assembly.depth < 32
)
SELECT p.part_lot_id, u.barcode
FROM assembly_part p
JOIN assembly ON p.assembly_unit_id = assembly.unit_id
LEFT JOIN unit u ON u.id = p.part_unit_id
"""
)


async def lock_part_lots(session: AsyncSession, assembly: Unit) -> None:
    """Take the lots of every part of `assembly` `FOR SHARE`, in id order, re-read; the caller
    holds the assembly's unit row, and takes no lot before them (services.locks)."""
    await _part_lots(session, await _parts(session, assembly), lock=True)


async def part_flags(
    session: AsyncSession, assembly: Unit, today: date, *, lock: bool = False
) -> list[Flag]:
    """The blocking flags of every part of `assembly`, each naming the part. With `lock` (a
    scan or an override deciding to use it), the assembly's unit row is taken `FOR UPDATE` and
    re-read first, then the part lots `FOR SHARE` (services.locks)."""
    if lock:
        await session.execute(locked(select(Unit).where(col(Unit.id) == assembly.id)))
    parts = await _parts(session, assembly)
    if not parts:
        return []
    part_lots = await _part_lots(session, parts, lock=lock)
    flags: list[Flag] = []
    for lot_id, barcode in parts:
        lot = part_lots[lot_id]
        name = barcode or lot.code
        for flag in checks.lot_flags(
            lot_code=lot.code,
            status=lot.status,
            expiry_date=lot.expiry_date,
            retest_date=lot.retest_date,
            warning_days=0,
            today=today,
            part=name,
        ):
            if flag.severity == BLOCK:
                flags.append(flag)
        flagged_batch = await source_batch_flagged(session, lot)
        if flagged_batch is not None:
            flags.append(
                Flag(
                    "SOURCE_BATCH_FLAGGED",
                    BLOCK,
                    f"Part {name} of lot '{lot.code}' was made by batch "
                    f"'{flagged_batch}', which has an open blocking flag.",
                )
            )
    return flags


async def _parts(session: AsyncSession, assembly: Unit) -> list[tuple[int, str | None]]:
    """(part lot id, part unit barcode or None) of every part at any depth."""
    rows = await session.execute(PARTS, {"unit_id": assembly.id})
    return [(lot_id, barcode) for lot_id, barcode in rows]


async def _part_lots(
    session: AsyncSession, parts: list[tuple[int, str | None]], *, lock: bool
) -> dict[int, Lot]:
    if not parts:
        return {}
    query = select(Lot).where(col(Lot.id).in_({lot_id for lot_id, _ in parts}))
    if lock:
        # Ordered before it is locked (PostgreSQL sorts, then locks): lot rows in id order.
        query = locked(query.order_by(col(Lot.id)), share=True)
    return {lot.id or 0: lot for lot in (await session.execute(query)).scalars()}
