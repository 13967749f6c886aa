"""Assemblies: a kit built in-house from units and lot quantities, then used as one unit.

The assembly is a unit of an assembly type in an internal lot of its own (supplier `in-house`,
released). Its parts are consumed into it. Its expiry is the earliest of its parts' and of build
time plus the type's `hold_hours`; at the line it is blocked whenever any part would be.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.catalog import ComponentType
from models.lots import Lot, LotStatus
from models.units import AssemblyCreate, AssemblyPart, Unit, UnitsCreate, UnitStatus
from models.users import User
from services.barcodes import codes, gs1
from services.dock import catalog, checks, units
from services.errors import Conflict, Invalid
from services.trust import audit


async def build(
    session: AsyncSession, actor: User, data: AssemblyCreate, today: date, zone: ZoneInfo
) -> tuple[Unit, Lot]:
    component_type = await catalog.referenced(session, data.component_type)
    if not component_type.is_assembly or component_type.tracking != "serial":
        raise Invalid(
            f"'{component_type.code}' is not a serial-tracked assembly type.",
            code="NOT_AN_ASSEMBLY_TYPE",
            errors=[{"field": "component_type", "message": "not an assembly type"}],
        )
    parts: list[tuple[Unit | None, Lot, int]] = []
    problems: list[str] = []
    seen_units: set[int] = set()
    for index, component in enumerate(data.components):
        if component.barcode is not None:
            try:
                barcode = gs1.check_raw_barcode(component.barcode)
            except gs1.BarcodeFormatError as exc:
                raise Invalid(
                    f"Component {index + 1}: {exc}",
                    code="INVALID_BARCODE",
                    errors=[{"field": f"components.{index}.barcode", "message": str(exc)}],
                ) from exc
            unit = (
                await session.execute(select(Unit).where(col(Unit.barcode) == barcode))
            ).scalar_one_or_none()
            if unit is None:
                raise Invalid(
                    f"Component {index + 1}: unit '{component.barcode}' does not exist.",
                    code="UNKNOWN_BARCODE",
                )
            if unit.id in seen_units:
                raise Invalid(f"Unit {unit.barcode} is listed twice.", code="VALIDATION_ERROR")
            seen_units.add(unit.id or 0)
            lot = await session.get_one(Lot, unit.lot_id)
            parts.append((unit, lot, 1))
        else:
            assert component.lot_id is not None and component.quantity is not None
            lot_or_none = await session.get(Lot, component.lot_id)
            if lot_or_none is None:
                raise Invalid(
                    f"Component {index + 1}: lot {component.lot_id} does not exist.",
                    code="UNKNOWN_LOT",
                )
            part_type = await session.get_one(ComponentType, lot_or_none.component_type_id)
            if part_type.tracking == "serial":
                raise Invalid(
                    f"Lot '{lot_or_none.code}' is serial-tracked; list its units by barcode.",
                    code="SERIAL_REQUIRED",
                )
            parts.append((None, lot_or_none, component.quantity))
    for unit, lot, quantity in parts:
        problems += _unusable(unit, lot, quantity, today)
    if problems:
        raise Conflict(
            "These parts cannot be built in: " + " ".join(problems), code="PART_NOT_USABLE"
        )
    now = utcnow()
    expiries = [lot.expiry_date for _, lot, _ in parts if lot.expiry_date is not None]
    if component_type.hold_hours:
        expiries.append((now + timedelta(hours=component_type.hold_hours)).astimezone(zone).date())
    # The parts first, then the `lot` counter (services.locks): a build never holds the counter
    # while it waits for a part, which a status change flagging a batch that records an output
    # (and so waits for the counter) could hold.
    await _consume_parts(session, parts, today)
    number = await codes.reserve(session, "lot")
    lot_code = codes.lot_code(number)
    internal = Lot(
        code=lot_code,
        component_type_id=component_type.id or 0,
        supplier_lot=lot_code,
        supplier="in-house",
        quantity_received=1,
        quantity_left=1,
        expiry_date=min(expiries) if expiries else None,
        status=LotStatus.released,
        received_at=now,
        received_by=actor.username,
    )
    session.add(internal)
    await session.flush()
    created = await units.register(session, actor, internal, UnitsCreate(count=1), audited=False)
    assembly = await session.get_one(Unit, created[0].id)
    for unit, lot, quantity in parts:
        session.add(
            AssemblyPart(
                assembly_unit_id=assembly.id or 0,
                part_unit_id=unit.id if unit else None,
                part_lot_id=lot.id or 0,
                quantity=quantity,
            )
        )
    await session.flush()
    await audit.append(
        session,
        actor=actor.username,
        action="assembly.build",
        entity_type="unit",
        entity_id=assembly.barcode,
        after={
            "barcode": assembly.barcode,
            "component_type": component_type.code,
            "lot": internal.id,
            "lot_code": internal.code,
            "expiry_date": internal.expiry_date.isoformat() if internal.expiry_date else None,
            "status": assembly.status,
            "parts": [_part(unit, lot, quantity) for unit, lot, quantity in parts],
        },
    )
    return assembly, internal


def _part(unit: Unit | None, lot: Lot, quantity: int) -> dict[str, Any]:
    return {
        "unit": unit.barcode if unit else None,
        "lot": lot.id,
        "lot_code": lot.code,
        "quantity": quantity,
    }


def _unusable(unit: Unit | None, lot: Lot, quantity: int, today: date) -> list[str]:
    """Used, rejected, recalled or expired parts are refused; a quarantined part may be built in
    (the assembly stays blocked until its lot is released)."""
    refused = {"REJECTED", "RECALLED", "EXPIRED", "ALREADY_USED"}
    flags = checks.lot_flags(
        lot_code=lot.code,
        status=lot.status,
        expiry_date=lot.expiry_date,
        retest_date=lot.retest_date,
        warning_days=0,
        today=today,
        part=unit.barcode if unit else None,
    )
    if unit is not None:
        flags += checks.unit_flags(barcode=unit.barcode, status=unit.status)
    messages = [f.message for f in flags if f.code in refused]
    if unit is None and quantity > lot.quantity_left:
        messages.append(f"Lot '{lot.code}' has {lot.quantity_left} left; {quantity} asked.")
    return messages


async def _consume_parts(
    session: AsyncSession, parts: list[tuple[Unit | None, Lot, int]], today: date
) -> None:
    """Consume every part in the database, conditionally, in the order of services.locks (the
    units by id, then the lots by id): a unit only while available, a lot's stock only while the
    lot may still be built in (released or quarantined, in date), whatever committed a moment
    before; a part found unusable refuses the build with the reason as it is now."""
    for unit in sorted((u for u, _, _ in parts if u is not None), key=lambda u: u.id or 0):
        taken = (
            await session.execute(
                update(Unit)
                .where(col(Unit.id) == unit.id, col(Unit.status) == UnitStatus.available)
                .values(status=UnitStatus.consumed)
            )
        ).rowcount  # type: ignore[attr-defined]
        if not taken:
            raise Conflict(f"Unit {unit.barcode} was used a moment ago.", code="PART_NOT_USABLE")
    for _, lot, quantity in sorted(parts, key=lambda part: part[1].id or 0):
        taken = (
            await session.execute(
                update(Lot)
                .where(
                    col(Lot.id) == lot.id,
                    col(Lot.quantity_left) >= quantity,
                    col(Lot.status).in_([LotStatus.released, LotStatus.quarantined]),
                    or_(col(Lot.expiry_date).is_(None), col(Lot.expiry_date) >= today),
                )
                .values(quantity_left=col(Lot.quantity_left) - quantity)
            )
        ).rowcount  # type: ignore[attr-defined]
        if not taken:
            await session.refresh(lot)
            problems = _unusable(None, lot, quantity, today) or [
                f"Lot '{lot.code}' has {lot.quantity_left} left now; {quantity} asked."
            ]
            raise Conflict(
                "These parts cannot be built in: " + " ".join(problems), code="PART_NOT_USABLE"
            )
