"""A supervisor or QA reverses an accepted scan that went into the wrong batch: the unit goes back
to available or is discarded, a lot's quantity comes back or is written off. The scan is kept,
marked reversed."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.batches import Batch, BatchStatus
from models.lots import Lot, LotAdjustment
from models.scans import ACCEPTED, ScanPublic, ScanReverse
from models.units import Unit, UnitStatus
from models.users import User
from services.errors import Conflict
from services.line import scans
from services.trust import audit
from services.trust.signatures import sign


async def reverse(
    session: AsyncSession, actor: User, scan_id: int, data: ScanReverse
) -> ScanPublic:
    """Undo an accepted scan: the unit goes back to available or is discarded, a lot's quantity
    comes back (or is written off); the scan stays, marked reversed."""
    scan = await scans.get(session, scan_id, for_update=True)
    # The batch (shared: it cannot end meanwhile), the unit and the lot, in the order of
    # services.locks, before the signature counts its attempt on the user row.
    batch = await session.get_one(
        Batch, scan.batch_id, with_for_update={"read": True}, populate_existing=True
    )
    if scan.unit_id is not None:
        await session.execute(
            select(col(Unit.id)).where(col(Unit.id) == scan.unit_id).with_for_update()
        )
    if scan.lot_id is not None:
        await session.execute(
            select(col(Lot.id)).where(col(Lot.id) == scan.lot_id).with_for_update()
        )
    signer = await sign(session, actor, data.signature)
    if scan.outcome != ACCEPTED or scan.reversed_at is not None:
        state = "reversed already" if scan.reversed_at else scan.outcome
        raise Conflict(
            f"Scan {scan_id} is {state}; only an accepted scan is reversed.", code="NOT_REVERSIBLE"
        )
    if batch.status not in (BatchStatus.in_progress, BatchStatus.aborted):
        raise Conflict(
            f"Batch '{batch.batch_number}' is {batch.status}; its scans can no longer be reversed.",
            code="BATCH_NOT_ACTIVE",
        )
    assert scan.lot_id is not None
    now = utcnow()
    async with audit.changing(
        session,
        lambda: scans.scan_public(session, scan),
        actor=actor.username,
        action="scan.reverse",
        entity_type="scan",
        entity_id=scan.id or 0,
        reason=data.reason,
    ) as change:
        scan.reversed_at = now
        scan.reversal = {
            "by": actor.username,
            "at": audit.format_at(now),
            "reason": data.reason,
            "disposition": data.disposition,
        }
        if scan.unit_id is not None:
            if data.disposition == "return":
                await _set_unit(session, scan.unit_id, status=UnitStatus.available)
                await _lot_quantity(session, scan.lot_id, +1)
            else:
                await _set_unit(
                    session,
                    scan.unit_id,
                    status=UnitStatus.discarded,
                    discarded_at=now,
                    discard_reason_code="other",
                    discard_reason=f"Reversed scan {scan_id}: {data.reason}",
                )
        elif data.disposition == "return":
            await _lot_quantity(session, scan.lot_id, +scan.quantity)
        seal = await change.seal(signer)
        scan.reversal = {**scan.reversal, "signature": seal}
        if scan.unit_id is None and data.disposition == "discard":
            session.add(
                LotAdjustment(
                    lot_id=scan.lot_id,
                    quantity=scan.quantity,
                    reason_code="destroyed",
                    reason=f"Reversed scan {scan_id}: {data.reason}",
                    at=now,
                    by=actor.username,
                    signature=seal,
                )
            )
    return await scans.scan_public(session, scan)


async def _set_unit(session: AsyncSession, unit_id: int, **values: object) -> None:
    await session.execute(update(Unit).where(col(Unit.id) == unit_id).values(**values))


async def _lot_quantity(session: AsyncSession, lot_id: int, delta: int) -> None:
    await session.execute(
        update(Lot)
        .where(col(Lot.id) == lot_id)
        .values(quantity_left=col(Lot.quantity_left) + delta)
    )
