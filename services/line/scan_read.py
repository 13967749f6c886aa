"""A scan's reads in one statement: its batch, locked `FOR SHARE` (services.locks), outer-joined
to what the barcode names (a unit with its lot and type, or a lot with its type), with the two
facts the rules need beyond those rows: the lot's source batch when that batch has an open
blocking flag, and what the batch has consumed of the type when its BOM plans that type.

The rules themselves stay in Python (services.line.scanning), on the same rows and facts on both
databases; only the reading is merged. Our own unit barcodes and lot codes (nearly every scan)
take this path; a barcode that needs parsing first (a supplier's GS1 string, our lot label) reads
the batch alone and resolves as before, and its facts are read when the rules ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, case, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, join, outerjoin
from sqlmodel import col

from models.batches import Batch, BomLine
from models.catalog import ComponentType
from models.lots import Lot
from models.units import Unit
from services.barcodes import codes
from services.dock.checks import open_blocking_flag
from services.line import batches, resolution
from services.locks import locked

BATCH_BY_NUMBER = locked(
    select(Batch).where(col(Batch.batch_number) == bindparam("number")), share=True
)


@dataclass(frozen=True)
class Facts:
    """Read with the lot: `flagged_batch` made the lot and has an open blocking flag (None: no
    such batch); `consumed` is the batch's use of the type (None: its BOM has no line of it)."""

    flagged_batch: str | None
    consumed: int | None


@dataclass(frozen=True)
class Read:
    """The batch (None: no such batch); what the barcode resolves to and its facts, or None
    when the barcode is resolved separately (`resolution.resolve`)."""

    batch: Batch | None
    resolved: resolution.Resolved | None = None
    facts: Facts | None = None


def _query(target: str, step: bool) -> Select[Any]:
    source = aliased(Batch)
    flagged = (
        select(col(source.batch_number))
        .where(col(source.id) == col(Lot.source_batch_id), open_blocking_flag(col(source.id)))
        .scalar_subquery()
    )
    planned = exists().where(
        col(BomLine.batch_id) == col(Batch.id),
        col(BomLine.component_type_id) == col(ComponentType.id),
    )
    # `consumed_of` adds the step's condition when given one; its value is bound per request.
    consumed_of = batches.consumed_of(col(Batch.id), col(ComponentType.id), "" if step else None)
    consumed = case((planned, consumed_of.scalar_subquery()), else_=None)
    lot_and_type = join(Lot, ComponentType, col(ComponentType.id) == col(Lot.component_type_id))
    if target == "unit":
        found = join(Unit, lot_and_type, col(Lot.id) == col(Unit.lot_id))
        entities: tuple[Any, ...] = (Batch, Unit, Lot, ComponentType)
        named = col(Unit.barcode) == bindparam("code")
    else:
        found = lot_and_type
        entities = (Batch, Lot, ComponentType)
        named = col(Lot.code) == bindparam("code")
    query = (
        select(*entities, flagged, consumed)
        .select_from(outerjoin(Batch, found, named))
        .where(col(Batch.batch_number) == bindparam("number"))
    )
    return locked(query, share=True, of=Batch)


# Built once: building SQL expressions per request costs more Python time than running them.
_QUERIES = {
    (target, step): _query(target, step) for target in ("unit", "lot") for step in (False, True)
}


async def read(session: AsyncSession, text: str, number: str, step: str | None) -> Read:
    """The batch `number`, locked, and what `text` (a checked raw barcode) names."""
    target = (
        "unit" if codes.UNIT_BARCODE.match(text) else "lot" if codes.LOT_CODE.match(text) else ""
    )
    if not target:
        batch = await session.execute(BATCH_BY_NUMBER, {"number": number})
        return Read(batch.scalar_one_or_none())
    params = {"number": number, "code": text, "step": step}
    row = (await session.execute(_QUERIES[target, step is not None], params)).one_or_none()
    if row is None:
        return Read(None)
    if target == "unit":
        batch, unit, lot, component_type, flagged, consumed = row
        resolved = resolution.unit_found(unit, lot, component_type, text)
    else:
        batch, lot, component_type, flagged, consumed = row
        resolved = resolution.lot_found(lot, component_type, text)
    consumed = None if consumed is None else int(consumed)
    return Read(batch, resolved, Facts(flagged, consumed))
