"""The receiving desk (`/receiving`): scan the supplier's label, see what was read and every
warning before confirming, receive (the API's POST /receipts/scan), then the lot's label; register
the units of a serial-tracked lot (POST /lots/{id}/units) and see their labels; download a PDF
sheet of labels for an office printer (POST /lots/{id}/label-sheets)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.deps import SessionDep, TodayDep
from models.catalog import ComponentType
from models.labels import SheetCreate
from models.lots import Lot, ReceiptScan
from models.units import UnitsCreate
from services import cache
from services.dock import catalog, lots, printing, receiving, units
from services.errors import SutraceError
from web.pages import desk_user, refusal, render, who

router = APIRouter(include_in_schema=False)
RECEIVE = ("POST", "/receipts/scan")
REGISTER = ("POST", "/lots/{lot_id}/units")
SHEET = ("POST", "/lots/{lot_id}/label-sheets")
OPTIONAL = ("supplier", "coa_ref", "retest_date")
SHOWN_UNITS = 50  # units listed with their labels; the sheet has them all


def _barcode(form: FormData) -> str:
    """The label as scanned: typed into the field, or carried as hex between the two steps (a
    GS character would not survive an HTML attribute)."""
    carried = str(form.get("barcode_hex", ""))
    if carried:
        try:
            return bytes.fromhex(carried).decode("utf-8")
        except ValueError:
            return ""
    return str(form.get("barcode", ""))


def _scan(form: FormData, barcode: str, counted: str = "1") -> ReceiptScan:
    quantity = str(form.get("quantity", counted)).strip()
    fields: dict[str, Any] = {
        "barcode": barcode,
        "quantity": int(quantity) if quantity.isdigit() else quantity,
    }
    for name in OPTIONAL:
        value = str(form.get(name, "")).strip()
        if value:
            fields[name] = value
    return ReceiptScan.model_validate(fields)


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


@router.get("/receiving", response_class=HTMLResponse)
async def receiving_page(request: Request, session: SessionDep) -> Response:
    user, csrf = await desk_user(request, session, *RECEIVE)
    context = {"title": "Receiving", "user": who(user), "csrf": csrf}
    return render(request, "receiving.html", context)


@router.post("/receiving/read", response_class=HTMLResponse)
async def read(request: Request, session: SessionDep, today: TodayDep) -> Response:
    """Step one: what the label says, and the receipt's warnings or refusal; nothing written."""
    form = await request.form()
    user, csrf = await desk_user(request, session, *RECEIVE, form)
    barcode = _barcode(form)
    context: dict[str, Any] = {"title": "Receiving", "user": who(user), "csrf": csrf}
    try:
        # Before the clerk counts, the label's own count (30), when it has one, is the quantity.
        counted = receiving.parse_receipt_barcode(barcode).ais.get("30", "1").lstrip("0") or "0"
        scan = _scan(form, barcode, counted)
        found, warnings = await receiving.preview_scan(session, scan, today)
    except ValidationError as exc:
        context["error"] = f"Not a label to receive: {_problems(exc)}"
    except SutraceError as exc:
        await refusal(session, exc)
        context["error"] = exc.detail
    else:
        data = found.data
        context.update(
            read={
                "component_type": found.component_type.code,
                "name": found.component_type.name,
                "tracking": found.component_type.tracking,
                "gtin": data.gtin,
                "supplier_lot": data.batch,
                "expiry": data.expiry.isoformat() if data.expiry else None,
                "production": data.production.isoformat() if data.production else None,
                "serial": data.serial,
            },
            warnings=warnings,
            barcode_hex=barcode.encode("utf-8").hex(),
            quantity=scan.quantity,
        )
    return render(request, "receiving.html", context)


@router.post("/receiving/receive", response_class=HTMLResponse)
async def receive(request: Request, session: SessionDep, today: TodayDep) -> Response:
    """Step two: receive the lot (quarantined), as POST /api/v1/receipts/scan."""
    form = await request.form()
    user, csrf = await desk_user(request, session, *RECEIVE, form)
    context: dict[str, Any] = {"title": "Receiving", "user": who(user), "csrf": csrf}
    try:
        scan = _scan(form, _barcode(form))
        lot, warnings, _ = await receiving.receive_scan(session, user, scan, today)
    except ValidationError as exc:
        context["error"] = f"Not received: {_problems(exc)}"
    except SutraceError as exc:
        await refusal(session, exc)
        context["error"] = exc.detail
    else:
        context.update(received=True, warnings=warnings)
        return await _lot_page(request, session, context, lot.id or 0, today)
    return render(request, "receiving.html", context)


@router.post("/receiving/units", response_class=HTMLResponse)
async def register_units(request: Request, session: SessionDep, today: TodayDep) -> Response:
    """Register units of the lot just received, as POST /api/v1/lots/{id}/units: a count, or the
    serials typed or scanned off the units' own labels, one a line."""
    form = await request.form()
    user, csrf = await desk_user(request, session, *REGISTER, form)
    context: dict[str, Any] = {"title": "Receiving", "user": who(user), "csrf": csrf}
    lot_id = _lot_id(form)
    try:
        lot = await lots.get(session, lot_id)
        component_type = await catalog.get(
            session, (await lots.public(session, lot)).component_type
        )
        # Lines end at a newline only: str.splitlines would also split at a label's GS.
        serials = receiving.unit_serials(
            component_type, lot, str(form.get("serials", "")).replace("\r", "").split("\n")
        )
        count = str(form.get("count", "")).strip()
        data = UnitsCreate.model_validate(
            {"serials": serials or None, "count": int(count) if count.isdigit() else count or None}
        )
        created = await units.register(session, user, lot, data)
    except ValidationError as exc:
        await session.rollback()
        context["error"] = f"No units registered: {_problems(exc)}"
    except SutraceError as exc:
        await refusal(session, exc)
        context["error"] = exc.detail
    else:
        context["registered"] = [u.barcode for u in created]
    return await _lot_page(request, session, context, lot_id, today)


@router.post("/receiving/sheet", response_class=HTMLResponse)
async def label_sheet(request: Request, session: SessionDep, today: TodayDep) -> Response:
    """A PDF sheet of the lot's label (copies) or of its units' labels not printed yet, as POST
    /api/v1/lots/{id}/label-sheets: downloaded, and its labels issued."""
    form = await request.form()
    user, csrf = await desk_user(request, session, *SHEET, form)
    context: dict[str, Any] = {"title": "Receiving", "user": who(user), "csrf": csrf}
    lot_id = _lot_id(form)
    kind = str(form.get("kind", ""))
    copies = str(form.get("copies", "")).strip() or "1"
    reason = str(form.get("reprint_reason", "")).strip()
    try:
        body = SheetCreate.model_validate(
            {
                "kind": kind,
                "paper": str(form.get("paper", "a4")),
                "copies": (int(copies) if copies.isdigit() else copies) if kind == "lot" else None,
                "reprint_reason": reason or None,
            }
        )
        job = await printing.make_sheet(session, user, lot_id, body)
    except ValidationError as exc:
        context["error"] = f"No sheet made: {_problems(exc)}"
    except SutraceError as exc:
        await refusal(session, exc)
        context["error"] = exc.detail
    else:
        code = (await lots.get(session, lot_id)).code
        return Response(
            job.payload,
            media_type="application/pdf",
            headers={
                "X-Print-Job": str(job.id),
                "Content-Disposition": f'attachment; filename="labels-{code}-{job.id}.pdf"',
            },
        )
    return await _lot_page(request, session, context, lot_id, today)


def _lot_id(form: FormData) -> int:
    """The lot the desk is working on, carried in the form; 0 (no lot) when it is not a number."""
    value = str(form.get("lot_id", "")).strip()
    return int(value) if value.isdigit() and len(value) <= 9 else 0


async def _lot_page(
    request: Request, session: SessionDep, context: dict[str, Any], lot_id: int, today: date
) -> Response:
    """The desk with the lot it is working on: the lot, its label, and for a serial-tracked type
    its units (the first SHOWN_UNITS, with their labels) and how many more it may have."""
    try:
        lot = await lots.get(session, lot_id)
    except SutraceError as exc:
        context.setdefault("error", exc.detail)
        return render(request, "receiving.html", context)
    public = await lots.public(session, lot)
    component_type = await _type_of(session, lot)
    shown, total = await units.list_units(
        session, lot_id=lot.id, status=None, today=today, limit=SHOWN_UNITS, offset=0
    )
    context.update(
        lot=public,
        serial=component_type.tracking == "serial",
        units=shown,
        unit_total=total,
        room=lot.quantity_received - lot.units_registered,
    )
    return render(request, "receiving.html", context)


async def _type_of(session: SessionDep, lot: Lot) -> ComponentType:
    return await catalog.get(session, await cache.type_code_of(session, lot.component_type_id))
