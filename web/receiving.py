"""The receiving desk (`/receiving`): scan the supplier's label, see what was read and every
warning before confirming, receive (the API's POST /receipts/scan), then the lot's label."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.deps import SessionDep, TodayDep
from models.lots import ReceiptScan
from services.dock import lots, receiving, units
from services.errors import SutraceError
from web.pages import desk_user, refusal, render, who

router = APIRouter(include_in_schema=False)
RECEIVE = ("POST", "/receipts/scan")
OPTIONAL = ("supplier", "coa_ref", "retest_date")


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


def _scan(form: FormData, barcode: str) -> ReceiptScan:
    quantity = str(form.get("quantity", "1")).strip()
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
        scan = _scan(form, barcode)
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
        lot, warnings, created = await receiving.receive_scan(session, user, scan, today)
    except ValidationError as exc:
        context["error"] = f"Not received: {_problems(exc)}"
    except SutraceError as exc:
        await refusal(session, exc)
        context["error"] = exc.detail
    else:
        context.update(
            lot=await lots.public(session, lot),
            warnings=warnings,
            units=await units.new_unit_views(session, lot, created, today),
        )
    return render(request, "receiving.html", context)
