"""The QA desk's other pages: open batch flags resolved under one signature (one or many, as
POST /api/v1/flags/resolve), a supplier recall whose impact is shown before it is signed
(POST /api/v1/recalls), and blocked scans overridden as signed deviations
(POST /api/v1/scans/{scan_id}/override)."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from api.deps import SessionDep, TodayDep
from models.batches import FlagsResolve, FlagStatus
from models.lots import RecallCreate
from models.scans import ScanOverride
from services.dock import checks
from services.errors import SutraceError
from services.quality import flags, overrides, recalls
from web.pages import desk_user, refusal, render, who

router = APIRouter(include_in_schema=False)
SHOWN = 200


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


@router.get("/qa/flags", response_class=HTMLResponse)
async def open_flags(request: Request, session: SessionDep) -> Response:
    user, csrf = await desk_user(request, session, "POST", "/flags/resolve")
    return render(request, "qa_flags.html", await _flags(session, user=who(user), csrf=csrf))


@router.post("/qa/flags", response_class=HTMLResponse)
async def resolve(request: Request, session: SessionDep) -> Response:
    """Resolve the ticked flags, all or none, signed with the QA person's password."""
    form = await request.form()
    user, csrf = await desk_user(request, session, "POST", "/flags/resolve", form)
    person = who(user)
    try:
        body = FlagsResolve.model_validate(
            {
                "ids": [int(str(v)) for v in form.getlist("flag") if str(v).isdigit()],
                "reason": str(form.get("reason", "")).strip() or None,
                "signature": {"password": str(form.get("password", "")), "meaning": "Resolved"},
            }
        )
    except ValidationError as exc:
        message = {"kind": "bad", "text": f"Not signed: {_problems(exc)}"}
    else:
        try:
            done = await flags.resolve(session, user, body.ids, body.reason, body.signature)
        except SutraceError as exc:
            await refusal(session, exc)
            message = {"kind": "bad", "text": exc.detail}
        else:
            count = len(done)
            message = {
                "kind": "good",
                "text": f"{count} flag{'' if count == 1 else 's'} resolved, signed by "
                f"{person['username']}.",
            }
    context = await _flags(session, user=person, csrf=csrf)
    return render(request, "qa_flags.html", {**context, "message": message})


async def _flags(session: SessionDep, **context: Any) -> dict[str, Any]:
    rows, total = await flags.list_flags(
        session, status=FlagStatus.open, batch=None, code=None, limit=SHOWN, offset=0
    )
    return {
        **context,
        "title": "Open flags",
        "flags": rows,
        "total": total,
    }


@router.get("/qa/recall", response_class=HTMLResponse)
async def recall_page(
    request: Request,
    session: SessionDep,
    component_type: Annotated[str | None, Query(max_length=64)] = None,
    supplier_lot: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Name the supplier lot; the impact is shown, and only then the signature is asked."""
    user, csrf = await desk_user(request, session, "POST", "/recalls")
    context: dict[str, Any] = {
        "title": "Recall",
        "user": who(user),
        "csrf": csrf,
        "component_type": component_type or "",
        "supplier_lot": supplier_lot or "",
    }
    if component_type and supplier_lot:
        try:
            context["impact"] = await recalls.preview(session, component_type, supplier_lot)
        except SutraceError as exc:
            context["error"] = exc.detail
    return render(request, "qa_recall.html", context)


@router.post("/qa/recall", response_class=HTMLResponse)
async def recall(request: Request, session: SessionDep) -> Response:
    form = await request.form()
    user, csrf = await desk_user(request, session, "POST", "/recalls", form)
    fields = {k: str(form.get(k, "")).strip() for k in ("component_type", "supplier_lot")}
    context: dict[str, Any] = {"title": "Recall", "user": who(user), "csrf": csrf, **fields}
    try:
        data = RecallCreate.model_validate(
            {
                **fields,
                "notice_ref": str(form.get("notice_ref", "")).strip() or None,
                "reason": str(form.get("reason", "")).strip() or None,
                "signature": {"password": str(form.get("password", "")), "meaning": "Recalled"},
            }
        )
    except ValidationError as exc:
        context["error"] = f"Not signed: {_problems(exc)}"
    else:
        try:
            made = await recalls.public(session, await recalls.create(session, user, data))
        except SutraceError as exc:
            await refusal(session, exc)
            context["error"] = exc.detail
        else:
            return render(request, "qa_recall.html", {**context, "recall": made})
    if fields["component_type"] and fields["supplier_lot"]:
        with contextlib.suppress(SutraceError):  # the refusal above says what is wrong
            context["impact"] = await recalls.preview(
                session, fields["component_type"], fields["supplier_lot"]
            )
    return render(request, "qa_recall.html", context)


OVERRIDE = ("POST", "/scans/{scan_id}/override")


@router.get("/qa/overrides", response_class=HTMLResponse)
async def blocked_scans(
    request: Request,
    session: SessionDep,
    batch: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Blocked scans of in-progress batches with their reasons, newest first (or one batch's)."""
    user, csrf = await desk_user(request, session, *OVERRIDE)
    context = await _blocked(session, (batch or "").strip() or None, user=who(user), csrf=csrf)
    return render(request, "qa_overrides.html", context)


@router.post("/qa/overrides/{scan_id}", response_class=HTMLResponse)
async def override(
    request: Request,
    session: SessionDep,
    today: TodayDep,
    scan_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    """Accept a blocked scan as a deviation, signed with the QA person's password."""
    form = await request.form()
    user, csrf = await desk_user(request, session, *OVERRIDE, form)
    person = who(user)
    shown = str(form.get("batch", "")).strip()[:64] or None
    try:
        body = ScanOverride.model_validate(
            {
                "reason": str(form.get("reason", "")).strip() or None,
                "deviation_ref": str(form.get("deviation_ref", "")).strip() or None,
                "signature": {
                    "password": str(form.get("password", "")),
                    "meaning": "Deviation approved",
                },
            }
        )
    except ValidationError as exc:
        message: dict[str, Any] = {"kind": "bad", "text": f"Not signed: {_problems(exc)}"}
    else:
        try:
            done = await overrides.override(session, user, scan_id, body, today)
        except SutraceError as exc:
            await refusal(session, exc)
            message = {"kind": "bad", "text": exc.detail}
        else:
            message = {
                "kind": "good",
                "text": f"Scan {done.id} ({done.barcode}) into batch {done.batch} is accepted as "
                f"deviation {body.deviation_ref}, signed by {person['username']}.",
                "batch": done.batch,
            }
    context = await _blocked(session, shown, user=person, csrf=csrf)
    return render(request, "qa_overrides.html", {**context, "message": message})


async def _blocked(session: SessionDep, batch: str | None, **context: Any) -> dict[str, Any]:
    rows, total = await overrides.awaiting(session, batch=batch, limit=SHOWN)
    return {
        **context,
        "title": "Blocked scans",
        "batch": batch or "",
        "scans": [
            {
                "scan": scan,
                "blocking": [f for f in scan.flags if f["severity"] == checks.BLOCK],
                "warnings": [f for f in scan.flags if f["severity"] != checks.BLOCK],
                # From the flags stored with the scan: a hint; the override decides again.
                "fixed": [
                    f
                    for f in scan.flags
                    if f["severity"] == checks.BLOCK and f["code"] not in checks.OVERRIDABLE
                ],
            }
            for scan in rows
        ],
        "total": total,
    }
