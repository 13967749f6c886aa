"""Reading scans: one by id, a batch's scans, and a scan as the API shows it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.batches import Batch
from models.catalog import ComponentType
from models.lots import Lot
from models.scans import Scan, ScanFlag, ScanPublic
from models.units import Unit
from services import cache
from services.errors import NotFound


async def get(session: AsyncSession, scan_id: int, *, for_update: bool = False) -> Scan:
    scan = await session.get(Scan, scan_id, with_for_update=for_update)
    if scan is None:
        raise NotFound(f"Scan {scan_id} does not exist.", code="SCAN_NOT_FOUND")
    return scan


async def list_for_batch(
    session: AsyncSession, batch_id: int, *, limit: int, offset: int, newest_first: bool = False
) -> tuple[Sequence[Scan], int]:
    """A batch's scans in the order they were made (the station's list: newest first)."""
    total = (
        await session.execute(
            select(func.count()).select_from(Scan).where(col(Scan.batch_id) == batch_id)
        )
    ).scalar_one()
    rows = (
        (
            await session.execute(
                select(Scan)
                .where(col(Scan.batch_id) == batch_id)
                .order_by(col(Scan.id).desc() if newest_first else col(Scan.id))
                .limit(limit)
                .offset(offset)
            )
        )
        .scalars()
        .all()
    )
    return rows, total


async def scan_public(
    session: AsyncSession,
    scan: Scan,
    *,
    batch: Batch | None = None,
    lot: Lot | None = None,
    unit: Unit | None = None,
    component_type: ComponentType | None = None,
) -> ScanPublic:
    if lot is None and scan.lot_id is not None:
        lot = await session.get_one(Lot, scan.lot_id)
    if unit is None and scan.unit_id is not None:
        unit = await session.get_one(Unit, scan.unit_id)
    type_code = None
    if lot is not None:
        type_code = await cache.type_code_of(session, lot.component_type_id)
    elif component_type is not None:
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
