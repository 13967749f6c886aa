"""Units: registration (by count or by the supplier's serials), the unit view and discard. A unit's
history is `services.genealogy.history`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.catalog import ComponentType
from models.lots import Lot, LotStatus
from models.units import (
    Unit,
    UnitDiscard,
    UnitPublic,
    UnitsCreate,
    UnitStatus,
)
from models.users import User
from services import cache
from services.barcodes import codes
from services.dock import checks, lots, parts
from services.errors import AlreadyExists, Conflict, NotFound
from services.trust import audit

UNIT = Unit.__table__  # type: ignore[attr-defined]
SERIAL_LOOKUP_CHUNK = 1000


@dataclass(frozen=True)
class NewUnit:
    id: int
    barcode: str
    serial: str | None


async def register(
    session: AsyncSession, actor: User, lot: Lot, data: UnitsCreate, *, audited: bool = True
) -> list[NewUnit]:
    """Register units of a serial-tracked lot in one bulk insert, one audit event in all."""
    component_type = await session.get_one(ComponentType, lot.component_type_id)
    if component_type.tracking != "serial":
        raise Conflict(
            f"Lot '{lot.code}' is of lot-tracked type '{component_type.code}'; it is used by "
            "quantity and has no units.",
            code="NOT_SERIAL_TRACKED",
        )
    if lot.status in (LotStatus.rejected, LotStatus.recalled):
        raise Conflict(
            f"Lot '{lot.code}' is {lot.status}; no units can be registered.", code="LOT_NOT_USABLE"
        )
    serials: list[str | None] = list(data.serials) if data.serials else [None] * (data.count or 0)
    count = len(serials)
    reserved = (
        await session.execute(
            update(Lot)
            .where(
                col(Lot.id) == lot.id,
                col(Lot.units_registered) + count <= col(Lot.quantity_received),
            )
            .values(units_registered=col(Lot.units_registered) + count)
        )
    ).rowcount  # type: ignore[attr-defined]
    if not reserved:
        await session.refresh(lot)
        room = lot.quantity_received - lot.units_registered
        raise Conflict(
            f"Lot '{lot.code}' received {lot.quantity_received} and has {lot.units_registered} "
            f"units already; {count} more would exceed it (room for {room}).",
            code="QUANTITY_EXCEEDED",
        )
    if data.serials:
        await _refuse_known_serials(session, component_type, data.serials)
    first = await codes.reserve(session, "unit", count)
    now = utcnow()
    # The unit's number is its id and its barcode: known before the insert, so one executemany
    # without RETURNING (which SQLite would run row by row) inserts them all.
    rows = [
        {
            "id": first + i,
            "barcode": codes.unit_barcode(first + i),
            "serial": serial,
            "lot_id": lot.id,
            "component_type_id": component_type.id,
            "status": UnitStatus.available.value,
            "created_at": now,
            "created_by": actor.username,
        }
        for i, serial in enumerate(serials)
    ]
    await session.execute(insert(UNIT), rows)
    barcodes = [r["barcode"] for r in rows]
    created = [
        NewUnit(id=first + i, barcode=codes.unit_barcode(first + i), serial=serial)
        for i, serial in enumerate(serials)
    ]
    if audited:  # else part of a larger action that records its own event
        before = await lots.snapshot(session, lot)
        await session.refresh(lot)
        await audit.append(
            session,
            actor=actor.username,
            action="lot.units_register",
            entity_type="lot",
            entity_id=lot.id or 0,
            before=before,
            after={
                **(await lots.snapshot(session, lot) or {}),
                "units": [{"barcode": r["barcode"], "serial": r["serial"]} for r in rows],
            },
            reason=f"{count} units registered ({barcodes[0]} to {barcodes[-1]}).",
        )
    return created


async def _refuse_known_serials(
    session: AsyncSession, component_type: ComponentType, serials: Sequence[str]
) -> None:
    for start in range(0, len(serials), SERIAL_LOOKUP_CHUNK):
        chunk = serials[start : start + SERIAL_LOOKUP_CHUNK]
        taken = (
            await session.execute(
                select(col(Unit.serial), col(Unit.barcode)).where(
                    col(Unit.component_type_id) == component_type.id,
                    col(Unit.serial).in_(chunk),
                )
            )
        ).all()
        if taken:
            named = ", ".join(f"{s} ({b})" for s, b in taken[:10])
            raise AlreadyExists(
                f"Serials of '{component_type.code}' are registered already: {named}.",
                serials=[s for s, _ in taken],
            )


async def get(session: AsyncSession, barcode: str) -> Unit:
    unit = (
        await session.execute(select(Unit).where(col(Unit.barcode) == barcode))
    ).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"Unit '{barcode}' does not exist.", code="UNIT_NOT_FOUND")
    return unit


async def list_units(
    session: AsyncSession,
    *,
    lot_id: int | None,
    status: UnitStatus | None,
    today: date,
    limit: int,
    offset: int,
) -> tuple[list[UnitPublic], int]:
    """Units in barcode order (of one lot, and of one status, when given), as the unit view
    shows each: whether it is usable now and what would block it."""
    conditions: list[Any] = []
    if lot_id is not None:
        conditions.append(col(Unit.lot_id) == lot_id)
    if status is not None:
        conditions.append(col(Unit.status) == status.value)
    total = (
        await session.execute(select(func.count()).select_from(Unit).where(*conditions))
    ).scalar_one()
    rows = (
        await session.execute(
            select(Unit, Lot, ComponentType)
            .join(Lot, col(Lot.id) == col(Unit.lot_id))
            .join(ComponentType, col(ComponentType.id) == col(Lot.component_type_id))
            .where(*conditions)
            .order_by(col(Unit.id))
            .limit(limit)
            .offset(offset)
        )
    ).all()
    views = [await view(session, unit, lot, today, type_=type_) for unit, lot, type_ in rows]
    return views, int(total)


async def new_unit_views(
    session: AsyncSession, lot: Lot, created: list[NewUnit], today: date
) -> list[UnitPublic]:
    """Views of units just registered: all available, all sharing their lot's flags."""
    component_type = await session.get_one(ComponentType, lot.component_type_id)
    blocking = checks.blocking_codes(_lot_flags(lot, component_type, today))
    type_code = component_type.code
    return [
        UnitPublic(
            id=unit.id,
            barcode=unit.barcode,
            serial=unit.serial,
            lot=lot.id or 0,
            lot_code=lot.code,
            component_type=type_code,
            status=UnitStatus.available,
            expiry_date=lot.expiry_date,
            usable=not blocking,
            blocking=blocking,
        )
        for unit in created
    ]


async def view(
    session: AsyncSession, unit: Unit, lot: Lot, today: date, *, type_: ComponentType | None = None
) -> UnitPublic:
    """The unit as the warehouse and the line see it: can it be used now, and if not, why."""
    component_type = (
        type_ if type_ is not None else await session.get_one(ComponentType, lot.component_type_id)
    )
    flags = unit_flags(unit, lot, component_type, today)
    if component_type.is_assembly:  # blocked whenever a part would be, as at the line
        flags += await parts.part_flags(session, unit, today)
    blocking = checks.blocking_codes(flags)
    return UnitPublic(
        id=unit.id or 0,
        barcode=unit.barcode,
        serial=unit.serial,
        lot=lot.id or 0,
        lot_code=lot.code,
        component_type=await cache.type_code_of(session, lot.component_type_id),
        status=UnitStatus(unit.status),
        expiry_date=lot.expiry_date,
        usable=not blocking,
        blocking=blocking,
    )


def unit_flags(
    unit: Unit, lot: Lot, component_type: ComponentType, today: date
) -> list[checks.Flag]:
    return checks.unit_flags(barcode=unit.barcode, status=unit.status) + _lot_flags(
        lot, component_type, today
    )


def _lot_flags(lot: Lot, component_type: ComponentType, today: date) -> list[checks.Flag]:
    return checks.lot_flags(
        lot_code=lot.code,
        status=lot.status,
        expiry_date=lot.expiry_date,
        retest_date=lot.retest_date,
        warning_days=component_type.expiry_warning_days,
        today=today,
    )


async def discard(session: AsyncSession, actor: User, barcode: str, data: UnitDiscard) -> Unit:
    """Discard an available unit with a coded reason; its lot's stock drops by one."""
    unit = await get(session, barcode)
    lot = await lots.get(session, unit.lot_id)
    async with audit.changing(
        session,
        lambda: _snapshot(session, unit, lot),
        actor=actor.username,
        action="unit.discard",
        entity_type="unit",
        entity_id=unit.barcode,
        reason=f"{data.reason_code}: {data.reason}",
    ):
        changed = (
            await session.execute(
                update(Unit)
                .where(col(Unit.id) == unit.id, col(Unit.status) == UnitStatus.available.value)
                .values(
                    status=UnitStatus.discarded.value,
                    discarded_at=utcnow(),
                    discard_reason_code=data.reason_code,
                    discard_reason=data.reason,
                )
            )
        ).rowcount  # type: ignore[attr-defined]
        if not changed:
            raise Conflict(
                f"Unit {barcode} is {unit.status}; only an available unit can be discarded.",
                code="ALREADY_USED",
            )
        await session.execute(
            update(Lot)
            .where(col(Lot.id) == lot.id)
            .values(quantity_left=col(Lot.quantity_left) - 1)
        )
        await session.refresh(unit)
        await session.refresh(lot)
    return unit


async def _snapshot(session: AsyncSession, unit: Unit, lot: Lot) -> dict[str, Any]:
    return {
        "barcode": unit.barcode,
        "serial": unit.serial,
        "lot": lot.id,
        "lot_code": lot.code,
        "component_type": await cache.type_code_of(session, lot.component_type_id),
        "status": unit.status,
    }
