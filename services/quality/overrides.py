"""QA overrides a blocked scan as a signed deviation: every blocking flag, re-checked now, must be
overridable; each is recorded on the batch as a resolved deviation. The scan is kept, marked.
The blocked scans still open to an override are listed for the QA desk.

The re-check reads the batch, unit and lot under their locks (services.locks), so what it decided
on is what the consumption writes against."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.batches import Batch, BatchStatus
from models.catalog import ComponentType
from models.lots import Lot
from models.scans import ACCEPTED, BLOCKED, Scan, ScanOverride, ScanPublic
from models.units import Unit
from models.users import User
from services.dock import checks, parts
from services.errors import Conflict, Forbidden
from services.line import recording, resolution, scanning, scans
from services.quality import flags
from services.trust import audit
from services.trust.signatures import sign


async def override(
    session: AsyncSession, actor: User, scan_id: int, data: ScanOverride, today: date
) -> ScanPublic:
    """Accept a blocked scan as a deviation, when every blocking flag, re-checked now, may be
    overridden; each is recorded on the batch as a resolved deviation citing the reference."""
    scan = await scans.get(session, scan_id, for_update=True)
    if scan.actor == actor.username:
        raise Forbidden(
            f"Scan {scan_id} was made by you; a second person must override it.", code="SAME_USER"
        )
    # Lock what the re-check reads, in the order of services.locks, before deciding: the batch
    # cannot end, nor the lot change status, between the re-check and the consumption; a
    # status change after this commits sees the accepted scan and flags its batch.
    batch = await session.get_one(
        Batch, scan.batch_id, with_for_update={"read": True}, populate_existing=True
    )
    unit = (
        await session.get(Unit, scan.unit_id, with_for_update=True, populate_existing=True)
        if scan.unit_id
        else None
    )
    if (
        unit is not None
        and (await session.get_one(ComponentType, unit.component_type_id)).is_assembly
    ):
        # An assembly's part lots come before its own lot: lot rows in id order.
        await parts.lock_part_lots(session, unit)
    lot = (
        await session.get(Lot, scan.lot_id, with_for_update=True, populate_existing=True)
        if scan.lot_id
        else None
    )
    signer = await sign(session, actor, data.signature)
    if scan.outcome != BLOCKED:
        raise Conflict(
            f"Scan {scan_id} is {scan.outcome}; only a blocked scan is overridden.",
            code="NOT_BLOCKED",
        )
    if lot is None:
        raise Conflict(
            f"Scan {scan_id} names no lot or unit; there is nothing to override.",
            code="NOT_OVERRIDABLE",
        )
    component_type = await session.get_one(ComponentType, lot.component_type_id)
    resolved = resolution.Resolved(lot=lot, component_type=component_type, unit=unit)
    # lock=False: the unit and an assembly's part lots are already held (above), in order.
    now_flags = await scanning.check(
        session, batch, resolved, scan.quantity, scan.step, today, lock=False
    )
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
    refusals = await recording.consume(session, resolved, scan.quantity, today, lot_rules=False)
    if refusals:
        raise Conflict(
            " ".join(f.message for f in refusals),
            code="NOT_OVERRIDABLE",
            flags=[f.as_dict() for f in refusals],
        )
    async with audit.changing(
        session,
        lambda: scans.scan_public(session, scan),
        actor=actor.username,
        action="scan.override",
        entity_type="scan",
        entity_id=scan.id or 0,
        reason=data.reason,
    ) as change:
        scan.outcome = ACCEPTED
        scan.override = {
            "by": actor.username,
            "at": audit.format_at(utcnow()),
            "reason": data.reason,
            "deviation_ref": data.deviation_ref,
            "flags": [f.as_dict() for f in blocking],
        }
        seal = await change.seal(signer)
        scan.override = {**scan.override, "signature": seal}
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
    return await scans.scan_public(session, scan)


async def awaiting(
    session: AsyncSession, *, batch: str | None, limit: int
) -> tuple[list[ScanPublic], int]:
    """Blocked scans QA may still decide on, newest first: those of in-progress batches that name
    a lot (a barcode that matched nothing has nothing to accept), with each scan's lot, unit and
    type joined. Whether each may be overridden is decided again when it is signed."""
    conditions = [
        col(Scan.outcome) == BLOCKED,
        col(Scan.lot_id).is_not(None),
        col(Batch.status) == BatchStatus.in_progress,
    ]
    if batch is not None:
        conditions.append(col(Batch.batch_number) == batch)
    total = (
        await session.execute(
            select(func.count())
            .select_from(Scan)
            .join(Batch, col(Batch.id) == col(Scan.batch_id))
            .where(*conditions)
        )
    ).scalar_one()
    rows = await session.execute(
        select(Scan, Batch, Lot, Unit, col(ComponentType.code))
        .join(Batch, col(Batch.id) == col(Scan.batch_id))
        .join(Lot, col(Lot.id) == col(Scan.lot_id))
        .outerjoin(Unit, col(Unit.id) == col(Scan.unit_id))
        .join(ComponentType, col(ComponentType.id) == col(Lot.component_type_id))
        .where(*conditions)
        .order_by(col(Scan.id).desc())
        .limit(limit)
    )
    page = [
        await scans.scan_public(session, scan, batch=b, lot=lot, unit=unit, type_code=code)
        for scan, b, lot, unit, code in rows
    ]
    return page, total
