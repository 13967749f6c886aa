"""The auditor's view (`/audit-view`): one search box for any barcode, lot code, supplier lot,
batch or chain-of-identity id; a unit's history, a lot's where-used, a batch's genealogy as a
tree of links that opens and closes without JavaScript, "verify the chain", and the API's PDF,
CSV and zip downloads. Read-only: for the roles that read the audit trail (GET /api/v1/audit)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import or_, select
from sqlmodel import col

from api.deps import SessionDep, SettingsDep, TodayDep
from models.batches import Batch
from models.users import User
from services.barcodes import gs1
from services.dock import lots, units
from services.errors import SutraceError
from services.genealogy import backward, forward, history
from services.line import batches, resolution
from services.trust import audit, verification
from web.pages import desk_user, render, who

router = APIRouter(include_in_schema=False)
READ = ("GET", "/audit")


@router.get("/audit-view", response_class=HTMLResponse)
async def search(
    request: Request,
    session: SessionDep,
    today: TodayDep,
    q: Annotated[str | None, Query(max_length=514)] = None,
) -> Response:
    """Search: a batch (by number or COI) or a barcode opens its page; supplier lots list."""
    user, csrf = await desk_user(request, session, *READ)
    return await _search(request, session, today, q, user, csrf)


@router.post("/audit-view", response_class=HTMLResponse)
async def search_scanned(request: Request, session: SessionDep, today: TodayDep) -> Response:
    """The search box posts: a scanned GS1 label carries GS, which a URL may not."""
    form = await request.form()
    user, csrf = await desk_user(request, session, *READ, form)
    return await _search(request, session, today, str(form.get("q", ""))[:514], user, csrf)


async def _search(
    request: Request, session: SessionDep, today: date, q: str | None, user: User, csrf: str
) -> Response:
    context: dict[str, Any] = {
        "title": "Auditor's view",
        "user": who(user),
        "csrf": csrf,
        "q": (q or "").replace("\x1d", ""),  # GS shown back would not survive the attribute
    }
    text = (q or "").strip()
    if not text:
        return render(request, "audit_search.html", context)
    batch = (
        await session.execute(
            select(Batch).where(or_(col(Batch.batch_number) == text, col(Batch.coi) == text))
        )
    ).scalar_one_or_none()
    if batch is not None:
        return RedirectResponse(f"/audit-view/batches/{batch.batch_number}", status_code=303)
    try:
        raw = gs1.check_raw_barcode(text)
    except gs1.BarcodeFormatError:
        raw = None
    if raw is not None:
        found = await resolution.resolve(session, raw)
        if found.unit is not None:
            return RedirectResponse(f"/audit-view/units/{found.unit.barcode}", status_code=303)
        if found.lot is not None:
            return RedirectResponse(f"/audit-view/lots/{found.lot.id}", status_code=303)
    rows, _ = await lots.list_lots(
        session,
        status=None,
        component_type=None,
        supplier_lot=text,
        expiring_within_days=None,
        today=today,
        limit=50,
        offset=0,
    )
    context["lots"] = await lots.public_page(session, rows)
    return render(request, "audit_search.html", context)


@router.get("/audit-view/verify", response_class=HTMLResponse)
async def verify(request: Request, session: SessionDep) -> Response:
    """The chain re-hashed from its first event, as GET /api/v1/audit/verify."""
    await desk_user(request, session, "GET", "/audit/verify")
    await audit.sequence(session, wait=True)
    result = await verification.verify(session)
    return render(request, "_audit_verify.html", {"result": result})


@router.get("/audit-view/units/{barcode}", response_class=HTMLResponse)
async def unit_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    today: TodayDep,
    barcode: Annotated[str, Path(max_length=64)],
) -> Response:
    user, csrf = await desk_user(request, session, *READ)
    context: dict[str, Any] = {"title": f"Unit {barcode}", "user": who(user), "csrf": csrf}
    try:
        unit = await units.get(session, barcode)
    except SutraceError as exc:
        return render(request, "audit_search.html", {**context, "error": exc.detail}, 404)
    lot = await lots.get(session, unit.lot_id)
    context.update(
        unit=await units.view(session, unit, lot, today),
        events=await history.history(session, unit, today=today, zone=settings.zone),
    )
    return render(request, "audit_unit.html", context)


@router.get("/audit-view/lots/{lot_id}", response_class=HTMLResponse)
async def lot_page(
    request: Request,
    session: SessionDep,
    lot_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    user, csrf = await desk_user(request, session, *READ)
    context: dict[str, Any] = {"title": f"Lot {lot_id}", "user": who(user), "csrf": csrf}
    try:
        lot = await lots.get(session, lot_id)
    except SutraceError as exc:
        return render(request, "audit_search.html", {**context, "error": exc.detail}, 404)
    context.update(
        title=f"Lot {lot.code}",
        lot=await lots.public(session, lot),
        uses=await forward.forward_trace(session, lot_id),
    )
    return render(request, "audit_lot.html", context)


@router.get("/audit-view/batches/{batch_number}", response_class=HTMLResponse)
async def batch_page(
    request: Request,
    session: SessionDep,
    batch_number: Annotated[str, Path(max_length=64)],
) -> Response:
    user, csrf = await desk_user(request, session, *READ)
    context: dict[str, Any] = {"title": f"Batch {batch_number}", "user": who(user), "csrf": csrf}
    try:
        batch = await batches.get(session, batch_number)
    except SutraceError as exc:
        return render(request, "audit_search.html", {**context, "error": exc.detail}, 404)
    context["trace"] = trace = await backward.trace(session, batch)
    context["tree"] = genealogy_tree(trace["items"])
    return render(request, "audit_batch.html", context)


def genealogy_tree(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The backward trace's items as nested nodes under the batch, from each item's path
    ("batch B-2", "lot L-1", "batch B-1", "unit U-7"): a node is a lot, unit, assembly or batch,
    with the uses recorded against it and what lies below it."""
    lot_ids = {i["lot_code"]: i["lot"] for i in items}
    root: dict[str, Any] = {"children": [], "index": {}}
    for item in items:
        node = root
        for step in item["path"][1:]:
            kind, _, name = step.partition(" ")
            kind = "unit" if kind == "assembly" else kind  # an assembly is a unit with parts
            child = node["index"].get((kind, name))
            if child is None:
                child = {
                    "kind": kind,
                    "name": name,
                    "href": {
                        "batch": f"/audit-view/batches/{quote(name, safe='')}",
                        "unit": f"/audit-view/units/{quote(name, safe='')}",
                        "lot": f"/audit-view/lots/{lot_ids.get(name, '')}",
                    }[kind],
                    "uses": [],
                    "children": [],
                    "index": {},
                }
                node["index"][(kind, name)] = child
                node["children"].append(child)
            node = child
        node["uses"].append(item)
    return list(root["children"])
