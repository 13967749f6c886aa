"""After a scan: QA overrides a blocked scan as a signed deviation, or a supervisor or QA reverses
an accepted scan that went into the wrong batch. The scan itself is kept, marked."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.batches import Batch, BatchStatus
from models.catalog import ComponentType
from models.lots import Lot, LotAdjustment
from models.scans import ACCEPTED, BLOCKED, Scan, ScanOverride, ScanPublic, ScanReverse
from models.units import Unit, UnitStatus
from models.users import User
from services import audit, checks, flags, resolution, scanning
from services.errors import Conflict, Forbidden, NotFound
from services.signatures import sign


async def get(session: AsyncSession, scan_id: int, *, for_update: bool = False) -> Scan:
    scan = await session.get(Scan, scan_id, with_for_update=for_update)
    if scan is None:
        raise NotFound(f"Scan {scan_id} does not exist.", code="SCAN_NOT_FOUND")
    return scan


async def override(
    session: AsyncSession, actor: User, scan_id: int, data: ScanOverride, today: date
) -> ScanPublic:
    """Accept a blocked scan as a deviation, when every blocking flag, re-checked now, may be
    overridden; each is recorded on the batch as a resolved deviation citing the reference."""
    scan = await get(session, scan_id, for_update=True)
    if scan.actor == actor.username:
        raise Forbidden(
            f"Scan {scan_id} was made by you; a second person must override it.", code="SAME_USER"
        )
    signer = await sign(session, actor, data.signature)
    if scan.outcome != BLOCKED:
        raise Conflict(
            f"Scan {scan_id} is {scan.outcome}; only a blocked scan is overridden.",
            code="NOT_BLOCKED",
        )
    if scan.lot_id is None:
        raise Conflict(
            f"Scan {scan_id} names no lot or unit; there is nothing to override.",
            code="NOT_OVERRIDABLE",
        )
    batch = await session.get_one(Batch, scan.batch_id)
    lot = await session.get_one(Lot, scan.lot_id)
    unit = await session.get(Unit, scan.unit_id) if scan.unit_id else None
    component_type = await session.get_one(ComponentType, lot.component_type_id)
    resolved = resolution.Resolved(lot=lot, component_type=component_type, unit=unit)
    now_flags = await scanning.check(session, batch, resolved, scan.quantity, scan.step, today)
    if batch.status != BatchStatus.in_progress:
        now_flags.insert(
            0,
            checks.Flag(
                "BATCH_NOT_ACTIVE", checks.BLOCK, f"Batch '{batch.batch_number}' is {batch.status}."
            ),
        )
    blocking = [f for f in now_flags if f.severity == checks.BLOCK]
    fixed = [f for f in blocking if f.code not in checks.OVERRIDABLE]
    if fixed:
        raise Conflict(
            "Scan cannot be overridden now: " + " ".join(f.message for f in fixed),
            code="NOT_OVERRIDABLE",
            flags=[f.as_dict() for f in fixed],
        )
    refusal = await scanning.consume(session, resolved, scan.quantity)
    if refusal is not None:
        raise Conflict(refusal.message, code="NOT_OVERRIDABLE", flags=[refusal.as_dict()])
    before = audit.snapshot(await scanning.scan_public(session, scan))
    scan.outcome = ACCEPTED
    scan.override = {
        "by": actor.username,
        "at": audit.format_at(utcnow()),
        "reason": data.reason,
        "deviation_ref": data.deviation_ref,
        "flags": [f.as_dict() for f in blocking],
    }
    await session.flush()
    after = audit.snapshot(await scanning.scan_public(session, scan))
    seal = signer.seal(after)
    scan.override = {**scan.override, "signature": seal}
    await session.flush()
    await flags.record_deviations(
        session,
        actor,
        batch_id=batch.id or 0,
        scan_id=scan.id or 0,
        lot_id=lot.id,
        unit_id=unit.id if unit else None,
        blocking=[f.as_dict() for f in blocking],
        deviation_ref=data.deviation_ref,
        reason=data.reason,
        seal=seal,
    )
    public = await scanning.scan_public(session, scan)
    await audit.record(
        session,
        actor=actor.username,
        action="scan.override",
        entity_type="scan",
        entity_id=scan.id or 0,
        before=before,
        after=audit.snapshot(public),
        reason=data.reason,
        signature=seal,
    )
    return public


async def reverse(
    session: AsyncSession, actor: User, scan_id: int, data: ScanReverse
) -> ScanPublic:
    """Undo an accepted scan: the unit goes back to available or is discarded, a lot's quantity
    comes back (or is written off); the scan stays, marked reversed."""
    scan = await get(session, scan_id, for_update=True)
    signer = await sign(session, actor, data.signature)
    if scan.outcome != ACCEPTED or scan.reversed_at is not None:
        state = "reversed already" if scan.reversed_at else scan.outcome
        raise Conflict(
            f"Scan {scan_id} is {state}; only an accepted scan is reversed.", code="NOT_REVERSIBLE"
        )
    batch = await session.get_one(Batch, scan.batch_id)
    if batch.status not in (BatchStatus.in_progress, BatchStatus.aborted):
        raise Conflict(
            f"Batch '{batch.batch_number}' is {batch.status}; its scans can no longer be reversed.",
            code="BATCH_NOT_ACTIVE",
        )
    assert scan.lot_id is not None
    before = audit.snapshot(await scanning.scan_public(session, scan))
    now = utcnow()
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
    await session.flush()
    after = audit.snapshot(await scanning.scan_public(session, scan))
    seal = signer.seal(after)
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
    await session.flush()
    public = await scanning.scan_public(session, scan)
    await audit.record(
        session,
        actor=actor.username,
        action="scan.reverse",
        entity_type="scan",
        entity_id=scan.id or 0,
        before=before,
        after=audit.snapshot(public),
        reason=data.reason,
        signature=seal,
    )
    return public


async def _set_unit(session: AsyncSession, unit_id: int, **values: object) -> None:
    await session.execute(update(Unit).where(col(Unit.id) == unit_id).values(**values))


async def _lot_quantity(session: AsyncSession, lot_id: int, delta: int) -> None:
    await session.execute(
        update(Lot)
        .where(col(Lot.id) == lot_id)
        .values(quantity_left=col(Lot.quantity_left) + delta)
    )
