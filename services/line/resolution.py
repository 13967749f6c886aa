"""Resolve the raw string a scanner sent to the unit or lot it names, or to what is wrong.

Accepted: our unit barcodes (`U-...`), our lot codes (`L-...`) and our lot labels (GS1-128 with
our lot code in (91)), and suppliers' GS1 strings: (01)+(21) names a unit, (01)+(10) a lot of a
lot-tracked type. Symbology identifiers (`]d2`, `]C1`, `]Q3`), GS separators and a trailing CR/LF
are handled by `services.gs1`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.catalog import ComponentType
from models.lots import Lot
from models.units import Unit
from services.barcodes import codes, gs1
from services.dock.checks import BLOCK, Flag


@dataclass
class Resolved:
    """What a scan names: a lot and its type, a unit when it names one, and any refusal."""

    lot: Lot | None = None
    component_type: ComponentType | None = None
    unit: Unit | None = None
    flags: list[Flag] = field(default_factory=list)
    # 404 when nothing matches, 422 when the barcode cannot be read; otherwise 409.
    status: int = 409


def _refuse(code: str, message: str, status: int) -> Resolved:
    return Resolved(flags=[Flag(code, BLOCK, message)], status=status)


async def resolve(session: AsyncSession, text: str) -> Resolved:
    """`text` has passed `gs1.check_raw_barcode` (trailing CR/LF removed)."""
    if codes.UNIT_BARCODE.match(text):
        return await _by_unit(session, _UNIT_BY_BARCODE, text, {"barcode": text})
    if codes.LOT_CODE.match(text):
        return await _by_lot_code(session, text)
    if not gs1.is_gs1(text):
        return _refuse(
            "UNKNOWN_BARCODE",
            f"Barcode '{text[:64]}' matches no unit, lot or GS1 label known here.",
            404,
        )
    try:
        data = gs1.parse_gs1(text)
    except gs1.Gs1Error as exc:
        return _refuse("UNPARSEABLE_BARCODE", str(exc), 422)
    if data.internal is not None:
        resolved = await _by_lot_code(session, data.internal)
        return _label_check(resolved, data)
    if data.gtin is None:
        return _refuse("UNPARSEABLE_BARCODE", "The GS1 barcode has no GTIN (01).", 422)
    component_type = (
        await session.execute(select(ComponentType).where(col(ComponentType.gtin) == data.gtin))
    ).scalar_one_or_none()
    if component_type is None:
        return _refuse("UNKNOWN_BARCODE", f"GTIN {data.gtin} names no component type here.", 404)
    if data.serial is not None:
        resolved = await _by_unit(
            session,
            _unit_with_lot(
                col(Unit.component_type_id) == component_type.id,
                col(Unit.serial) == data.serial,
            ),
            f"{component_type.code} serial {data.serial}",
        )
        return _label_check(resolved, data)
    if data.batch is None:
        return _refuse(
            "UNPARSEABLE_BARCODE",
            f"The GS1 barcode for GTIN {data.gtin} has neither a lot (10) nor a serial (21).",
            422,
        )
    if component_type.tracking == "serial":
        return Resolved(
            component_type=component_type,
            flags=[
                Flag(
                    "SERIAL_REQUIRED",
                    BLOCK,
                    f"'{component_type.code}' is serial-tracked; scan the "
                    f"unit's own label or its (21) serial, not lot '{data.batch}'.",
                )
            ],
        )
    candidates = (
        (
            await session.execute(
                select(Lot)
                .where(
                    col(Lot.component_type_id) == component_type.id,
                    col(Lot.supplier_lot) == data.batch,
                )
                .order_by(col(Lot.id))
            )
        )
        .scalars()
        .all()
    )
    if not candidates:
        return _refuse(
            "UNKNOWN_BARCODE",
            f"Supplier lot '{data.batch}' of '{component_type.code}' was never received.",
            404,
        )
    with_stock = [lot for lot in candidates if lot.quantity_left > 0]
    if len(with_stock) > 1:
        named = ", ".join(f"'{lot.code}'" for lot in with_stock)
        return Resolved(
            component_type=component_type,
            flags=[
                Flag(
                    "AMBIGUOUS_LOT",
                    BLOCK,
                    f"Supplier lot '{data.batch}' was received several times "
                    f"with stock left ({named}); scan our lot label instead.",
                )
            ],
        )
    lot = with_stock[0] if with_stock else candidates[-1]
    return _label_check(Resolved(lot=lot, component_type=component_type), data)


def _unit_with_lot(*conditions: ColumnElement[bool]) -> Select[Unit, Lot, ComponentType]:
    """A unit, its lot and its type, in one query (the scan's hot path)."""
    return (
        select(Unit, Lot, ComponentType)
        .join(Lot, col(Lot.id) == col(Unit.lot_id))
        .join(ComponentType, col(ComponentType.id) == col(Lot.component_type_id))
        .where(*conditions)
    )


_UNIT_BY_BARCODE = _unit_with_lot(col(Unit.barcode) == bindparam("barcode"))


async def _by_unit(
    session: AsyncSession,
    query: Select[Unit, Lot, ComponentType],
    named: str,
    params: dict[str, Any] | None = None,
) -> Resolved:
    found = (await session.execute(query, params)).one_or_none()
    return unit_found(None, None, None, named) if found is None else unit_found(*found, named)


def unit_found(
    unit: Unit | None, lot: Lot | None, component_type: ComponentType | None, named: str
) -> Resolved:
    """What a unit looked up by `named` resolves to (all three None: no such unit)."""
    if unit is None or lot is None or component_type is None:
        return _refuse("UNKNOWN_BARCODE", f"Unit {named} is not registered here.", 404)
    return Resolved(lot=lot, component_type=component_type, unit=unit)


async def _by_lot_code(session: AsyncSession, code: str) -> Resolved:
    lot = (await session.execute(select(Lot).where(col(Lot.code) == code))).scalar_one_or_none()
    if lot is None:
        return lot_found(None, None, code)
    return lot_found(lot, await session.get_one(ComponentType, lot.component_type_id), code)


def lot_found(lot: Lot | None, component_type: ComponentType | None, code: str) -> Resolved:
    """What our lot code `code` resolves to (both None: no such lot)."""
    if lot is None or component_type is None:
        return _refuse("UNKNOWN_BARCODE", f"Lot '{code}' does not exist.", 404)
    if component_type.tracking == "serial":
        return Resolved(
            lot=lot,
            component_type=component_type,
            flags=[
                Flag(
                    "SERIAL_REQUIRED",
                    BLOCK,
                    f"Lot '{lot.code}' is of serial-tracked "
                    f"'{component_type.code}'; scan the unit's own label.",
                )
            ],
        )
    return Resolved(lot=lot, component_type=component_type)


def _label_check(resolved: Resolved, data: gs1.Gs1Data) -> Resolved:
    """The scanned (01), (10) and (17) must agree with the record they resolved to."""
    lot, component_type = resolved.lot, resolved.component_type
    if lot is None or component_type is None:
        return resolved
    problems: list[str] = []
    if data.gtin is not None and component_type.gtin != data.gtin:
        problems.append(f"GTIN {data.gtin} is not {component_type.gtin or 'none'}")
    if data.batch is not None and data.batch != lot.supplier_lot:
        problems.append(f"lot (10) '{data.batch}' is not '{lot.supplier_lot}'")
    if data.expiry is not None and data.expiry != lot.expiry_date:
        problems.append(f"expiry (17) {_day(data.expiry)} is not {_day(lot.expiry_date)}")
    if problems:
        resolved.flags.append(
            Flag(
                "LABEL_MISMATCH",
                BLOCK,
                f"The label does not match lot '{lot.code}': "
                + "; ".join(problems)
                + ". Quarantine the item and tell QA.",
            )
        )
    return resolved


def _day(day: date | None) -> str:
    return day.isoformat() if day else "none"
