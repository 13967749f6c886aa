"""Reading scans: one by id, a batch's scans, and a scan as the API shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.batches import Batch
from models.catalog import ComponentType
from models.lots import Lot
from models.scans import ACCEPTED, Scan, ScanFlag, ScanPublic
from models.units import Unit
from services import cache
from services.errors import NotFound


async def get(session: AsyncSession, scan_id: int, *, for_update: bool = False) -> Scan:
    """The scan; `for_update` locks its row and re-reads it (see services.locks)."""
    scan = await session.get(
        Scan, scan_id, with_for_update=for_update, populate_existing=for_update
    )
    if scan is None:
        raise NotFound(f"Scan {scan_id} does not exist.", code="SCAN_NOT_FOUND")
    return scan


@dataclass(frozen=True)
class Use:
    scan_id: int
    batch: str
    at: datetime
    actor: str
    station: str | None


async def current_use(session: AsyncSession, unit_id: int) -> Use | None:
    """The accepted (or overridden) scan that holds the unit now, if a scan does."""
    row = (
        await session.execute(
            select(
                col(Scan.id),
                col(Batch.batch_number),
                col(Scan.at),
                col(Scan.actor),
                col(Scan.station),
            )
            .join(Batch, col(Batch.id) == col(Scan.batch_id))
            .where(
                col(Scan.unit_id) == unit_id,
                col(Scan.outcome) == ACCEPTED,
                col(Scan.reversed_at).is_(None),
            )
            .order_by(col(Scan.id).desc())
            .limit(1)
        )
    ).one_or_none()
    return None if row is None else Use(row[0] or 0, row[1], row[2], row[3], row[4])


async def list_for_batch(
    session: AsyncSession,
    batch: Batch,
    *,
    limit: int,
    offset: int,
    newest_first: bool = False,
) -> tuple[list[ScanPublic], int]:
    """A page of the batch's scans as the API shows them, in the order they were made (the
    station's list: newest first): one query for the page, with each scan's lot, unit and type
    joined (a query per scan before)."""
    total = (
        await session.execute(
            select(func.count()).select_from(Scan).where(col(Scan.batch_id) == batch.id)
        )
    ).scalar_one()
    rows = await session.execute(
        select(Scan, Lot, Unit, col(ComponentType.code))
        .outerjoin(Lot, col(Lot.id) == col(Scan.lot_id))
        .outerjoin(Unit, col(Unit.id) == col(Scan.unit_id))
        .outerjoin(ComponentType, col(ComponentType.id) == col(Lot.component_type_id))
        .where(col(Scan.batch_id) == batch.id)
        .order_by(col(Scan.id).desc() if newest_first else col(Scan.id))
        .limit(limit)
        .offset(offset)
    )
    page = [
        await scan_public(session, scan, batch=batch, lot=lot, unit=unit, type_code=code)
        for scan, lot, unit, code in rows
    ]
    return page, total


async def scan_public(
    session: AsyncSession,
    scan: Scan,
    *,
    batch: Batch | None = None,
    lot: Lot | None = None,
    unit: Unit | None = None,
    component_type: ComponentType | None = None,
    type_code: str | None = None,
) -> ScanPublic:
    if lot is None and scan.lot_id is not None:
        lot = await session.get_one(Lot, scan.lot_id)
    if unit is None and scan.unit_id is not None:
        unit = await session.get_one(Unit, scan.unit_id)
    if type_code is None and lot is not None:  # not read with the scan
        type_code = await cache.type_code_of(session, lot.component_type_id)
    elif type_code is None and component_type is not None:
        type_code = component_type.code
    return ScanPublic(
        id=scan.id or 0,
        barcode=scan.barcode,
        outcome=scan.outcome,
        flags=cast(list[ScanFlag], scan.flags),
        batch=batch.batch_number if batch else await cache.batch_number_of(session, scan.batch_id),
        step=scan.step,
        station=scan.station,
        quantity=scan.quantity,
        unit=unit.barcode if unit else None,
        lot=lot.id if lot else None,
        lot_code=lot.code if lot else None,
        component_type=type_code,
        lot_status_at_scan=scan.lot_status_at_scan,
        expiry_at_scan=scan.expiry_at_scan,
        actor=scan.actor,
        at=scan.at,
        client_scan_id=scan.client_scan_id,
        override=scan.override,
        reversal=scan.reversal,
    )
