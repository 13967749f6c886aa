"""An assembly is blocked whenever any of its parts would be, at any nesting depth."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.lots import Lot
from models.units import Unit
from services.dock import checks
from services.dock.checks import BLOCK, Flag, source_batch_flagged

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


async def part_flags(session: AsyncSession, assembly: Unit, today: date) -> list[Flag]:
    """The blocking flags of every part of `assembly`, each naming the part."""
    parts = (await session.execute(PARTS, {"unit_id": assembly.id})).all()
    if not parts:
        return []
    part_lots = {
        lot.id: lot
        for lot in (
            await session.execute(select(Lot).where(col(Lot.id).in_({p[0] for p in parts})))
        ).scalars()
    }
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
