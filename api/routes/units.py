"""Units: view, label, history, discard."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from api.deps import CurrentUser, PagingDep, SessionDep, SettingsDep, TodayDep, UnitDep
from api.openapi import problems
from api.routes import secured_router
from api.routes.labels import LABEL_RESPONSES, LabelFormat, Stock, Symbology, label_response
from models.catalog import ComponentType
from models.common import Page
from models.units import AssemblyCreate, UnitDiscard, UnitEvent, UnitPublic, UnitStatus
from services.barcodes import labels
from services.dock import assemblies, lots, units
from services.genealogy import history

router = secured_router("units")


@router.get("/units", response_model=Page[UnitPublic])
async def list_units(
    session: SessionDep,
    paging: PagingDep,
    today: TodayDep,
    lot: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    status: UnitStatus | None = None,
) -> Page[UnitPublic]:
    """Units in barcode order, of one lot (`lot`, its id) and of one status when given."""
    items, total = await units.list_units(
        session,
        lot_id=lot,
        status=status,
        today=today,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page(items=items, total=total)


@router.get("/units/{barcode}", response_model=UnitPublic)
async def get_unit(unit: UnitDep, session: SessionDep, today: TodayDep) -> UnitPublic:
    """The unit, whether it is usable now, and every code that would block its use."""
    return await units.view(session, unit, await lots.get(session, unit.lot_id), today)


@router.get("/units/{barcode}/label", response_class=Response, responses=LABEL_RESPONSES)
async def unit_label(
    unit: UnitDep,
    session: SessionDep,
    format: LabelFormat = "svg",
    symbology: Symbology = "auto",
    stock: Stock = "100x50mm",
) -> Response:
    """The unit's label as an image: Code 128 of the unit barcode, or a Data Matrix (GS1
    (01)(17)(10)(21) when the unit has a supplier serial and its type a GTIN), with type, lot,
    serial, expiry and the lot's status in text."""
    lot = await lots.get(session, unit.lot_id)
    component_type = await session.get_one(ComponentType, lot.component_type_id)
    return label_response(
        lambda: labels.unit_label(
            barcode=unit.barcode,
            type_name=component_type.name,
            lot_code=lot.code,
            expiry=lot.expiry_date,
            serial=unit.serial,
            status=lot.status,
            gtin=component_type.gtin,
            supplier_lot=lot.supplier_lot,
            symbology=symbology,
            stock=stock,
            fmt=format,
        )
    )


@router.get("/units/{barcode}/history", response_model=list[UnitEvent])
async def unit_history(
    unit: UnitDep, session: SessionDep, today: TodayDep, settings: SettingsDep
) -> list[UnitEvent]:
    """Every event of the unit and of its lot (release, quarantine, rejection, recall,
    corrections, expiry), oldest first, with actor, reason and signature."""
    return await history.history(session, unit, today=today, zone=settings.zone)


@router.post(
    "/units/{barcode}/discard",
    response_model=UnitPublic,
    responses=problems({409: ["ALREADY_USED"]}),
)
async def discard_unit(
    unit: UnitDep, body: UnitDiscard, actor: CurrentUser, session: SessionDep, today: TodayDep
) -> UnitPublic:
    """Discard an available unit with a coded reason."""
    discarded = await units.discard(session, actor, unit.barcode, body)
    return await units.view(session, discarded, await lots.get(session, unit.lot_id), today)


@router.post(
    "/assemblies",
    status_code=201,
    response_model=UnitPublic,
    responses=problems(
        {
            409: ["PART_NOT_USABLE"],
            422: [
                "NOT_AN_ASSEMBLY_TYPE",
                "UNKNOWN_COMPONENT_TYPE",
                "UNKNOWN_BARCODE",
                "INVALID_BARCODE",
                "UNKNOWN_LOT",
                "SERIAL_REQUIRED",
            ],
        }
    ),
)
async def build_assembly(
    body: AssemblyCreate,
    actor: CurrentUser,
    session: SessionDep,
    today: TodayDep,
    settings: SettingsDep,
) -> UnitPublic:
    """Build a unit of an assembly type from units and lot quantities, which it consumes."""
    assembly, lot = await assemblies.build(session, actor, body, today, settings.zone)
    return await units.view(session, assembly, lot, today)
