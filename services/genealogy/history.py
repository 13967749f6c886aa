"""A unit's history: its lot's receipt and every later event of that lot (release, quarantine,
rejection, recall, corrections, expiry), its registration, every scan of it (accepted or
blocked), overrides and reversals of those scans, and the assembly it was built into, oldest
first."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.audit import AuditEvent
from models.batches import Batch
from models.lots import Lot
from models.scans import Scan
from models.units import AssemblyPart, Unit, UnitEvent

LOT_ACTIONS = ["lot.receive", "lot.produce", "lot.units_register", "lot.status", "lot.correct"]


async def history(
    session: AsyncSession, unit: Unit, *, today: date, zone: ZoneInfo
) -> list[UnitEvent]:
    """Every event of the unit and of its lot, oldest first. An expiry that has passed is an
    event too, at the start of the day after the expiry date in the site's time zone."""
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
                        & col(AuditEvent.action).in_(LOT_ACTIONS),
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
        elif event.action in ("lot.status", "lot.correct"):
            out.append(_lot_event(event))
        elif event.action in ("lot.receive", "lot.produce"):
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
    lot = await session.get_one(Lot, unit.lot_id)
    if lot.expiry_date is not None and today > lot.expiry_date:
        out.append(
            UnitEvent(
                at=datetime.combine(lot.expiry_date + timedelta(days=1), time(), zone),
                event="lot.expired",
                actor=None,
                detail=f"Lot '{lot.code}' expired: its expiry date {lot.expiry_date.isoformat()} "
                "has passed.",
                data={"lot": lot.id, "expiry_date": lot.expiry_date.isoformat()},
            )
        )
    out.sort(key=lambda e: e.at)  # stable: events of one moment keep the trail's order
    return out


def _lot_event(event: AuditEvent) -> UnitEvent:
    """A change to the unit's lot: its status (release, quarantine, rejection, recall) or a
    correction of its receipt data, with who signed it and why."""
    before, after = event.before or {}, event.after or {}
    code = after.get("code")
    signature = event.signature or {}
    data: dict[str, object] = {"lot": after.get("id")}
    if signature:
        data["signature"] = {
            k: signature.get(k) for k in ("username", "full_name", "meaning", "at")
        }
    if event.action == "lot.status":
        status = after.get("status")
        data["status"] = status
        return UnitEvent(
            at=event.at,
            event=f"lot.{status}",
            actor=event.actor,
            detail=f"Lot '{code}' {before.get('status')} -> {status}.",
            reason=event.reason,
            data=data,
        )
    changed = sorted(k for k in after if k != "release" and before.get(k) != after.get(k))
    data["changes"] = {k: {"before": before.get(k), "after": after.get(k)} for k in changed}
    return UnitEvent(
        at=event.at,
        event="lot.corrected",
        actor=event.actor,
        detail=f"Lot '{code}' corrected: " + (", ".join(changed) or "no field changed") + ".",
        reason=event.reason,
        data=data,
    )


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
