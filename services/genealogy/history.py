"""A unit's history: its lot's receipt, its registration, every scan of it (accepted or blocked),
overrides and reversals of those scans, and the assembly it was built into, oldest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.audit import AuditEvent
from models.batches import Batch
from models.scans import Scan
from models.units import AssemblyPart, Unit, UnitEvent


async def history(session: AsyncSession, unit: Unit) -> list[UnitEvent]:
    """Every event of the unit, oldest first: its lot's receipt, registration, and its own."""
    lot_id = str(unit.lot_id)
    events = (
        (
            await session.execute(
                select(AuditEvent)
                .where(
                    or_(
                        (col(AuditEvent.entity_type) == "unit")
                        & (col(AuditEvent.entity_id) == unit.barcode),
                        (col(AuditEvent.entity_type) == "lot")
                        & (col(AuditEvent.entity_id) == lot_id)
                        & col(AuditEvent.action).in_(["lot.receive", "lot.units_register"]),
                    )
                )
                .order_by(col(AuditEvent.seq))
            )
        )
        .scalars()
        .all()
    )
    out: list[UnitEvent] = []
    for event in events:
        if event.action == "lot.units_register":
            registered = (event.after or {}).get("units", [])
            if not any(u.get("barcode") == unit.barcode for u in registered):
                continue
            out.append(
                UnitEvent(
                    at=event.at,
                    event="labelled",
                    actor=event.actor,
                    detail=f"Registered and labelled as {unit.barcode}.",
                    reason=None,
                )
            )
        elif event.action == "lot.receive":
            after = event.after or {}
            out.append(
                UnitEvent(
                    at=event.at,
                    event="received",
                    actor=event.actor,
                    detail=f"Received in lot '{after.get('code')}' (supplier lot "
                    f"'{after.get('supplier_lot')}').",
                    reason=event.reason,
                )
            )
        elif event.action == "assembly.build":
            parts = ", ".join(p["unit"] or p["lot_code"] for p in (event.after or {})["parts"])
            out.append(
                UnitEvent(
                    at=event.at,
                    event="assembled",
                    actor=event.actor,
                    detail=f"Built as an assembly from {parts}.",
                    reason=None,
                )
            )
        else:
            out.append(
                UnitEvent(
                    at=event.at,
                    event=event.action.removeprefix("unit."),
                    actor=event.actor,
                    detail=_describe(event),
                    reason=event.reason,
                )
            )
    out += await _scans_and_assemblies(session, unit)
    out.sort(key=lambda e: e.at)
    return out


async def _scans_and_assemblies(session: AsyncSession, unit: Unit) -> list[UnitEvent]:
    """Each scan of the unit, accepted or blocked with its flags, its reversal, and the
    assembly it was built into."""
    events: list[UnitEvent] = []
    scans = (
        await session.execute(
            select(Scan, Batch.batch_number)  # type: ignore[call-overload]
            .join(Batch, col(Batch.id) == col(Scan.batch_id))
            .where(col(Scan.unit_id) == unit.id)
            .order_by(col(Scan.id))
        )
    ).all()
    for scan, batch_number in scans:
        flags = ", ".join(f["code"] for f in scan.flags) or "none"
        where = f" at station {scan.station}" if scan.station else ""
        events.append(
            UnitEvent(
                at=scan.at,
                event=f"scan.{'accepted' if scan.response_status == 201 else 'blocked'}",
                actor=scan.actor,
                reason=None,
                detail=f"Scanned into batch '{batch_number}'{where}; flags: {flags}.",
                data={"scan_id": scan.id, "flags": scan.flags},
            )
        )
        if scan.override:
            events.append(
                UnitEvent(
                    at=datetime.fromisoformat(scan.override["at"]),
                    event="scan.overridden",
                    actor=scan.override["by"],
                    reason=scan.override["reason"],
                    detail=f"Accepted as deviation {scan.override['deviation_ref']}.",
                    data={"scan_id": scan.id},
                )
            )
        if scan.reversal:
            events.append(
                UnitEvent(
                    at=datetime.fromisoformat(scan.reversal["at"]),
                    event="scan.reversed",
                    actor=scan.reversal["by"],
                    reason=scan.reversal["reason"],
                    detail=f"Scan {scan.id} reversed; unit {scan.reversal['disposition']}ed.",
                    data={"scan_id": scan.id},
                )
            )
    built_into = (
        await session.execute(
            select(Unit)
            .join(AssemblyPart, col(AssemblyPart.assembly_unit_id) == col(Unit.id))
            .where(col(AssemblyPart.part_unit_id) == unit.id)
        )
    ).scalar_one_or_none()
    if built_into is not None:
        events.append(
            UnitEvent(
                at=built_into.created_at,
                event="built_into_assembly",
                actor=built_into.created_by,
                detail=f"Built into assembly {built_into.barcode}.",
                reason=None,
            )
        )
    return events


def _describe(event: AuditEvent) -> str:
    before = (event.before or {}).get("status")
    after = (event.after or {}).get("status")
    if before != after:
        return f"Status {before} -> {after}."
    return event.action
