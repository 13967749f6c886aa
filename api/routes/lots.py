"""Lots: receipts, reading, QA status, corrections, write-offs, reconciliation, labels, units."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Query, Response
from pydantic_core import to_json

from api import examples
from api.deps import CurrentUser, LotDep, PagingDep, SessionDep, TodayDep
from api.openapi import BARCODE_422, RECEIPT_409, RECEIPT_422, problems
from api.routes import secured_router
from api.routes.labels import LABEL_RESPONSES, LabelFormat, Stock, Symbology, label_response
from models.batches import WhereUsed
from models.catalog import ComponentType
from models.common import Page
from models.lots import (
    LotAdjust,
    LotCorrection,
    LotCreate,
    LotCreated,
    LotPublic,
    LotStatus,
    LotStatusChange,
    LotStatusChanged,
    ReceiptScan,
    Reconciliation,
)
from models.units import ReceiptScanned, UnitList, UnitPublic, UnitsCreate, UnitStatus
from services.barcodes import labels
from services.dock import lots, receiving, units
from services.genealogy import forward
from services.quality import lot_status

router = secured_router("lots")
Filter = Annotated[str | None, Query(max_length=64)]


@router.post(
    "/lots",
    status_code=201,
    response_model=LotCreated,
    responses=problems({409: RECEIPT_409, 422: RECEIPT_422}),
)
async def receive_lot(
    data: LotCreate, actor: CurrentUser, session: SessionDep, today: TodayDep
) -> LotCreated:
    """Receive a supplier lot: a new lot with its own code, quarantined, with warnings."""
    lot, warnings = await receiving.receive(session, actor, data, today)
    return LotCreated(**(await lots.public(session, lot)).model_dump(), warnings=warnings)


@router.post(
    "/receipts/scan",
    status_code=201,
    response_model=ReceiptScanned,
    responses=problems({409: [*RECEIPT_409, "ALREADY_EXISTS"], 422: [*RECEIPT_422, *BARCODE_422]}),
)
async def receive_by_scan(
    data: Annotated[ReceiptScan, Body(openapi_examples=examples.RECEIPT_SCAN)],
    actor: CurrentUser,
    session: SessionDep,
    today: TodayDep,
) -> ReceiptScanned:
    """Receive from the raw string of the supplier's GS1 label: (01) GTIN, (10) lot, (17)
    expiry, (11) production date; (21) on a serial type also registers that unit."""
    lot, warnings, created = await receiving.receive_scan(session, actor, data, today)
    return ReceiptScanned(
        **(await lots.public(session, lot)).model_dump(),
        warnings=warnings,
        units=await units.new_unit_views(session, lot, created, today),
    )


@router.get("/lots", response_model=Page[LotPublic])
async def list_lots(
    session: SessionDep,
    paging: PagingDep,
    today: TodayDep,
    status: LotStatus | None = None,
    component_type: Filter = None,
    supplier_lot: Filter = None,
    supplier_lot_contains: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            pattern=r"^[^\x00-\x1f\x7f]*$",
            description="Part of the supplier lot, any case (`supplier_lot` is the exact one).",
        ),
    ] = None,
    expiring_within_days: Annotated[int | None, Query(ge=0, le=36500)] = None,
) -> Page[LotPublic]:
    """Lots, soonest expiry first (FEFO)."""
    rows, total = await lots.list_lots(
        session,
        status=status,
        component_type=component_type,
        supplier_lot=supplier_lot,
        supplier_lot_contains=supplier_lot_contains,
        expiring_within_days=expiring_within_days,
        today=today,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page(items=await lots.public_page(session, rows), total=total)


@router.get("/lots/{lot_id}", response_model=LotPublic)
async def get_lot(lot: LotDep, session: SessionDep) -> LotPublic:
    """The lot, with the reconciliation of the labels printed for it."""
    return await lots.public(session, lot)


@router.get("/lots/{lot_id}/reconciliation", response_model=Reconciliation)
async def reconcile(lot: LotDep, session: SessionDep) -> Reconciliation:
    """received = consumed + discarded + on_hand, each counted from its own records."""
    return await lots.reconciliation(session, lot)


@router.post(
    "/lots/{lot_id}/status",
    response_model=LotStatusChanged,
    responses=problems(
        {
            409: ["ILLEGAL_TRANSITION", "SOURCE_BATCH_FLAGGED", "LOT_EXPIRED"],
            422: ["COA_REQUIRED", "INSPECTION_INCOMPLETE"],
        }
    ),
)
async def change_status(
    lot: LotDep,
    change: LotStatusChange,
    actor: CurrentUser,
    session: SessionDep,
    today: TodayDep,
) -> LotStatusChanged:
    """QA, signed: quarantined -> released | rejected | recalled; released -> quarantined |
    rejected | recalled; rejected -> recalled. Release records the incoming inspection."""
    changed, flags = await lot_status.change_status(session, actor, lot.id or 0, change, today)
    return LotStatusChanged(
        **(await lots.public(session, changed)).model_dump(), flags_raised=flags
    )


@router.post(
    "/lots/{lot_id}/correct",
    response_model=LotPublic,
    responses=problems(
        {
            403: ["LOT_NOT_QUARANTINED"],
            409: ["SUPPLIER_LOT_RECALLED"],
            422: ["NO_CHANGES", "INVALID"],
        }
    ),
)
async def correct_lot(
    lot: LotDep, body: LotCorrection, actor: CurrentUser, session: SessionDep
) -> LotPublic:
    """Signed correction of receipt data; the warehouse only while the lot is quarantined."""
    corrected = await lots.correct(
        session, actor, lot.id or 0, body.changes, body.reason, body.signature
    )
    return await lots.public(session, corrected)


@router.post(
    "/lots/{lot_id}/adjust",
    response_model=LotPublic,
    responses=problems({409: ["NOT_LOT_TRACKED", "INSUFFICIENT_QUANTITY"]}),
)
async def adjust_lot(
    lot: LotDep, body: LotAdjust, actor: CurrentUser, session: SessionDep
) -> LotPublic:
    """Signed write-off from a lot-tracked lot; counted as discarded in reconciliation."""
    return await lots.public(session, await lots.adjust(session, actor, lot.id or 0, body))


@router.post(
    "/lots/{lot_id}/units",
    status_code=201,
    response_model=UnitList,
    responses=problems(
        {409: ["NOT_SERIAL_TRACKED", "LOT_NOT_USABLE", "QUANTITY_EXCEEDED", "ALREADY_EXISTS"]}
    ),
)
async def register_units(
    lot: LotDep, data: UnitsCreate, actor: CurrentUser, session: SessionDep, today: TodayDep
) -> UnitList:
    """Register units of a serial-tracked lot by count or by the supplier's serials."""
    created = await units.register(session, actor, lot, data)
    return UnitList(items=await units.new_unit_views(session, lot, created, today))


@router.get("/lots/{lot_id}/units", response_model=Page[UnitPublic])
async def lot_units(
    lot: LotDep,
    session: SessionDep,
    paging: PagingDep,
    today: TodayDep,
    status: UnitStatus | None = None,
) -> Page[UnitPublic]:
    """The lot's units in barcode order, each with whether it is usable now."""
    items, total = await units.list_units(
        session,
        lot_id=lot.id,
        status=status,
        today=today,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page(items=items, total=total)


@router.get("/lots/{lot_id}/where-used", response_model=list[WhereUsed])
async def where_used(lot: LotDep, session: SessionDep) -> Response:
    """Forward trace: every batch that used the lot, directly, inside an assembly, or through
    a lot a batch made from it, at any depth, each with its shortest path."""
    return Response(
        to_json(await forward.forward_trace(session, lot.id or 0)), media_type="application/json"
    )


@router.get("/lots/{lot_id}/label", response_class=Response, responses=LABEL_RESPONSES)
async def lot_label(
    lot: LotDep,
    session: SessionDep,
    format: LabelFormat = "svg",
    symbology: Symbology = "auto",
    stock: Stock = "100x50mm",
) -> Response:
    """The lot's label as an image (a specimen: labels issued against the lot are printed by
    print jobs). GS1 (01)(17)(10)(91) for a type with a GTIN, else our lot code; `auto` draws
    GS1-128 / Code 128 when it fits the stock and a GS1 DataMatrix when it does not."""
    component_type = await session.get_one(ComponentType, lot.component_type_id)
    return label_response(
        lambda: labels.lot_label(
            lot_code=lot.code,
            gtin=component_type.gtin,
            expiry=lot.expiry_date,
            supplier_lot=lot.supplier_lot,
            type_name=component_type.name,
            status=lot.status,
            symbology=symbology,
            stock=stock,
            fmt=format,
        )
    )
