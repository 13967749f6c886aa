"""Receipts at the warehouse: typed in (`POST /lots`) or scanned off the supplier's GS1 label.

Each receipt is its own lot with a code the service assigns, quarantined until QA releases it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.batches import Batch
from models.catalog import ComponentType
from models.lots import Lot, LotCreate, LotStatus, ReceiptScan, Warning
from models.units import UnitsCreate
from models.users import User
from services.barcodes import codes, gs1
from services.dock import catalog, lots, units
from services.dock.units import NewUnit
from services.errors import Invalid
from services.trust import audit


async def receive(
    session: AsyncSession, actor: User, data: LotCreate, today: date
) -> tuple[Lot, list[Warning]]:
    component_type = await catalog.referenced(session, data.component_type)
    return await _receive(session, actor, component_type, data, today)


async def receive_from_batch(
    session: AsyncSession,
    actor: User,
    component_type: ComponentType,
    data: LotCreate,
    today: date,
    batch: Batch,
) -> tuple[Lot, list[Warning]]:
    """A lot made by a batch: received like any other, quarantined, its source recorded."""
    return await _receive(session, actor, component_type, data, today, source_batch=batch)


async def check(
    session: AsyncSession, component_type: ComponentType, data: LotCreate, today: date
) -> list[Warning]:
    """Every rule of a receipt, read before anything is written: refusals raise, warnings are
    returned. A receiving desk shows them before the clerk confirms (`preview_scan`)."""
    _check_dates(component_type, data, today)
    await lots.refuse_recalled(session, component_type, data.supplier_lot)
    earlier = (
        (
            await session.execute(
                select(Lot)
                .where(
                    col(Lot.component_type_id) == component_type.id,
                    col(Lot.supplier_lot) == data.supplier_lot,
                )
                .order_by(col(Lot.id))
            )
        )
        .scalars()
        .all()
    )
    for other in earlier:
        if other.expiry_date != data.expiry_date:
            raise Invalid(
                f"Supplier lot '{data.supplier_lot}' was received before as lot '{other.code}' "
                f"(id {other.id}) with expiry {_show(other.expiry_date)}; this receipt says "
                f"{_show(data.expiry_date)}. Check the label, or correct lot '{other.code}'.",
                code="EXPIRY_CONFLICT",
                lot=other.id,
                lot_code=other.code,
            )
    warnings: list[Warning] = []
    if data.expiry_date is not None and today > data.expiry_date:
        warnings.append(
            Warning(
                code="EXPIRED_ON_RECEIPT",
                message=f"Supplier lot '{data.supplier_lot}' expired on "
                f"{data.expiry_date.isoformat()}, before today ({today.isoformat()}).",
            )
        )
    if earlier:
        seen = [{"id": o.id, "code": o.code, "status": o.status} for o in earlier]
        warnings.append(
            Warning(
                code="SUPPLIER_LOT_SEEN_BEFORE",
                message=f"Supplier lot '{data.supplier_lot}' was received before as "
                + ", ".join(f"'{o.code}' ({o.status})" for o in earlier)
                + ".",
                lots=seen,
            )
        )
    return warnings


async def _receive(
    session: AsyncSession,
    actor: User,
    component_type: ComponentType,
    data: LotCreate,
    today: date,
    *,
    source_batch: Batch | None = None,
) -> tuple[Lot, list[Warning]]:
    warnings = await check(session, component_type, data, today)
    number = await codes.reserve(session, "lot")
    lot = Lot(
        code=codes.lot_code(number),
        component_type_id=component_type.id or 0,
        supplier_lot=data.supplier_lot,
        supplier=data.supplier,
        quantity_received=data.quantity,
        quantity_left=data.quantity,
        expiry_date=data.expiry_date,
        retest_date=data.retest_date,
        manufactured_on=data.manufactured_on,
        coa_ref=data.coa_ref,
        status=LotStatus.quarantined,
        received_at=utcnow(),
        received_by=actor.username,
        source_batch_id=source_batch.id if source_batch else None,
    )
    session.add(lot)
    await session.flush()
    await audit.append(
        session,
        actor=actor.username,
        action="lot.produce" if source_batch else "lot.receive",
        entity_type="lot",
        entity_id=lot.id or 0,
        after=await lots.snapshot(session, lot),
        reason=("Warnings: " + ", ".join(w.code for w in warnings)) if warnings else None,
    )
    return lot, warnings


def _show(day: date | None) -> str:
    return day.isoformat() if day else "none"


def _check_dates(component_type: ComponentType, data: LotCreate, today: date) -> None:
    errors: list[dict[str, Any]] = []
    if component_type.is_assembly:
        raise Invalid(
            f"'{component_type.code}' is an assembly type; assemblies are built with "
            "POST /assemblies, not received.",
            code="ASSEMBLY_NOT_RECEIVABLE",
        )
    if component_type.has_expiry and data.expiry_date is None:
        errors.append(
            {"field": "expiry_date", "message": f"required: '{component_type.code}' has an expiry"}
        )
    if data.manufactured_on is not None:
        if data.manufactured_on > today:
            errors.append({"field": "manufactured_on", "message": "is in the future"})
        if data.expiry_date is not None and data.manufactured_on > data.expiry_date:
            errors.append({"field": "manufactured_on", "message": "is after the expiry date"})
    if errors:
        summary = "; ".join(f"{e['field']} {e['message']}" for e in errors)
        raise Invalid(
            f"The receipt is not valid: {summary}.", code="VALIDATION_ERROR", errors=errors
        )


async def receive_scan(
    session: AsyncSession, actor: User, scan: ReceiptScan, today: date
) -> tuple[Lot, list[Warning], list[NewUnit]]:
    """Receive from the raw string of a supplier's GS1 label, with what the label does not say
    (supplier, CoA reference, retest date); (21) on a serial type registers that unit too."""
    read = await read_scan(session, scan)
    component_type, data = read.component_type, read.data
    lot, warnings = await _receive(session, actor, component_type, read.receipt, today)
    created: list[NewUnit] = []
    if data.serial is not None and component_type.tracking == "serial":
        created = await units.register(session, actor, lot, UnitsCreate(serials=[data.serial]))
    return lot, warnings, created


@dataclass(frozen=True)
class ReadLabel:
    """What a supplier's label says, the type its GTIN names, and the receipt it makes."""

    data: gs1.Gs1Data
    component_type: ComponentType
    receipt: LotCreate


async def read_scan(session: AsyncSession, scan: ReceiptScan) -> ReadLabel:
    """Read a supplier label into a receipt, or refuse it; writes nothing."""
    data = parse_receipt_barcode(scan.barcode)
    assert data.gtin is not None and data.batch is not None
    component_type = await catalog.by_gtin(session, data.gtin)
    if component_type is None:
        raise Invalid(
            f"GTIN {data.gtin} names no component type; ask QA to register it first.",
            code="UNKNOWN_GTIN",
        )
    _check_count(data, scan.quantity)
    receipt = LotCreate(
        component_type=component_type.code,
        supplier_lot=data.batch,
        quantity=scan.quantity,
        expiry_date=_agreed("expiry_date", "(17)", data.expiry, scan.expiry_date),
        manufactured_on=_production(data, scan.manufactured_on),
        retest_date=scan.retest_date,
        supplier=scan.supplier,
        coa_ref=scan.coa_ref,
    )
    return ReadLabel(data, component_type, receipt)


async def preview_scan(
    session: AsyncSession, scan: ReceiptScan, today: date
) -> tuple[ReadLabel, list[Warning]]:
    """What receiving this label would do, before the clerk confirms: the label read, and every
    warning (or the refusal) the receipt itself would give. Writes nothing."""
    read = await read_scan(session, scan)
    return read, await check(session, read.component_type, read.receipt, today)


def _agreed(field: str, ai: str, on_label: date | None, in_body: date | None) -> date | None:
    """A date from the label, or from the body when the label has none; both must agree."""
    if on_label is not None and in_body is not None and on_label != in_body:
        message = f"the label's {ai} says {on_label.isoformat()}, the body {in_body.isoformat()}"
        raise Invalid(
            f"The receipt is not valid: {field}: {message}; check the label.",
            code="VALIDATION_ERROR",
            errors=[{"field": field, "message": message}],
        )
    return on_label if on_label is not None else in_body


def _production(data: gs1.Gs1Data, in_body: date | None) -> date | None:
    """The production date: (11) with day 00 gives only a month, which a date in the body may
    make precise if it falls in that month; otherwise as `_agreed`."""
    label = data.production
    if data.production_month_only and label is not None and in_body is not None:
        if (in_body.year, in_body.month) == (label.year, label.month):
            return in_body
        message = f"the label's (11) says {label:%Y-%m} (no day), the body {in_body.isoformat()}"
        raise Invalid(
            f"The receipt is not valid: manufactured_on: {message}; check the label.",
            code="VALIDATION_ERROR",
            errors=[{"field": "manufactured_on", "message": message}],
        )
    return _agreed("manufactured_on", "(11)", label, in_body)


def _check_count(data: gs1.Gs1Data, quantity: int) -> None:
    """A (30) count on the label is the quantity received: a body that says otherwise is a
    miscount or the wrong label, and is refused rather than one of them silently winning."""
    count = data.ais.get("30")
    if count is not None and int(count) != quantity:
        message = f"the label's (30) says {int(count)}, the body {quantity}"
        raise Invalid(
            f"The receipt is not valid: quantity: {message}; count again or scan the right label.",
            code="VALIDATION_ERROR",
            errors=[{"field": "quantity", "message": message}],
        )


def parse_receipt_barcode(raw: str) -> gs1.Gs1Data:
    """The GS1 data of a supplier label, or 422 saying what a receiver would reject."""
    try:
        text = gs1.check_raw_barcode(raw)
    except gs1.BarcodeFormatError as exc:
        raise Invalid(str(exc), code="INVALID_BARCODE") from exc
    if not gs1.is_gs1(text):
        raise Invalid(
            "The barcode is not a GS1 element string; scan the supplier's GS1 label "
            "(the one with (01), (10) and (17)).",
            code="NOT_GS1",
        )
    try:
        data = gs1.parse_gs1(text)
    except gs1.Gs1Error as exc:
        raise Invalid(str(exc), code="UNPARSEABLE_BARCODE") from exc
    if data.internal is not None:
        raise Invalid(
            f"This is a sutrace lot label (lot '{data.internal}'), not a supplier label; it "
            "is received already.",
            code="NOT_A_SUPPLIER_LABEL",
        )
    if data.gtin is None:
        raise Invalid(
            "The GS1 barcode has no GTIN (01); it cannot name a component type.",
            code="GTIN_MISSING",
        )
    if data.batch is None:
        raise Invalid(
            f"The GS1 barcode for GTIN {data.gtin} has no batch/lot (10); receive it with "
            "POST /lots and the lot number from the label.",
            code="BATCH_MISSING",
        )
    return data


def unit_serials(component_type: ComponentType, lot: Lot, lines: Sequence[str]) -> list[str]:
    """The serials of units to register, one a line: typed as they are, or read from a unit's
    own GS1 label (scanned with its symbology identifier, or in brackets), whose (21) is the
    serial. A label of another GTIN or supplier lot, or one without (21), is refused, naming it."""
    serials: list[str] = []
    for number, line in enumerate((raw.strip() for raw in lines), start=1):
        if not line.startswith(("]", "(")):
            if line:
                serials.append(line)
            continue
        try:
            data = gs1.parse_gs1(gs1.check_raw_barcode(line))
        except (gs1.BarcodeFormatError, gs1.Gs1Error) as exc:
            raise Invalid(f"Line {number}: {exc}", code="UNPARSEABLE_BARCODE") from exc
        if data.gtin != component_type.gtin:
            wrong = f"GTIN {data.gtin}, not {component_type.gtin} ({component_type.code})"
        elif data.batch is not None and data.batch != lot.supplier_lot:
            wrong = f"supplier lot {data.batch}, not {lot.supplier_lot}"
        elif data.serial is None:
            wrong = "no serial (21)"
        else:
            serials.append(data.serial)
            continue
        raise Invalid(
            f"Line {number} is a label with {wrong}; scan the labels of lot {lot.code}'s units.",
            code="LABEL_MISMATCH",
        )
    return serials
