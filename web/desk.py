"""Desk pages: sign-in with username and password, the start page, and the QA desk's
quarantine queue with signed release and reject (the API's POST /lots/{lot_id}/status)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from api import cookies
from api.deps import NowDep, SessionDep, SettingsDep, TodayDep
from models.lots import LotStatus, LotStatusChange
from services.dock import lots
from services.errors import SutraceError
from services.quality import lot_status
from services.trust import access, sessions
from web.pages import desk_user, refusal, render, sign_out_to, who

router = APIRouter(include_in_schema=False)
QUEUE = 200
INSPECTION = ("coa_reviewed", "packaging_intact", "label_correct")


def _safe_next(next_path: str | None) -> str:
    """Only a path of this site (no scheme, no host) is followed after sign-in."""
    if next_path and next_path.startswith("/") and not next_path.startswith("//"):
        return next_path
    return "/"


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    return render(request, "home.html", {"title": "Pages"})


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(
    request: Request, next: Annotated[str | None, Query(max_length=500)] = None
) -> Response:
    return render(request, "sign_in.html", {"title": "Sign in", "next": _safe_next(next)})


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """As POST /api/v1/sessions: the same lockout, the same refusal at a station."""
    context = {"title": "Sign in", "next": _safe_next(next), "username": username}
    try:
        started = await sessions.sign_in(
            session,
            username,
            password,
            now,
            settings,
            station_token=request.cookies.get(access.STATION_COOKIE),
        )
    except SutraceError as exc:
        await refusal(session, exc)
        return render(request, "sign_in.html", {**context, "error": exc.detail}, exc.status)
    response = RedirectResponse(_safe_next(next), status_code=303)
    cookies.set_session(request, response, started.token, settings.session_max)
    return response


@router.post("/sign-out", response_class=HTMLResponse)
async def sign_out(request: Request, session: SessionDep, now: NowDep) -> Response:
    return await sign_out_to(request, session, now, "/sign-in")


@router.get("/qa", response_class=HTMLResponse)
async def qa_desk(request: Request, session: SessionDep, today: TodayDep) -> Response:
    """The quarantine queue, soonest-expiring first (the API's FEFO order)."""
    user, csrf = await desk_user(request, session, "POST", "/lots/{lot_id}/status")
    return render(request, "qa.html", await _queue(session, today, user=who(user), csrf=csrf))


@router.post("/qa/lots/{lot_id}/status", response_class=HTMLResponse)
async def decide(
    lot_id: int,
    request: Request,
    session: SessionDep,
    today: TodayDep,
) -> Response:
    """Release or reject a quarantined lot, signed with the QA person's password."""
    form = await request.form()
    user, csrf = await desk_user(request, session, "POST", "/lots/{lot_id}/status", form)
    person = who(user)
    status = str(form.get("status", ""))
    message: dict[str, str]
    try:
        change = LotStatusChange.model_validate(
            {
                "status": status,
                "reason": str(form.get("reason", "")).strip() or None,
                "inspection": {
                    name: name in form
                    for name in ("coa_reviewed", "packaging_intact", "label_correct")
                }
                if status == LotStatus.released
                else None,
                "signature": {
                    "password": str(form.get("password", "")),
                    "meaning": "Released for use" if status == LotStatus.released else "Rejected",
                },
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        message = {"kind": "bad", "text": f"Not signed: {problems}"}
    else:
        try:
            lot, _ = await lot_status.change_status(session, user, lot_id, change, today)
        except SutraceError as exc:
            await refusal(session, exc)
            message = {"kind": "bad", "text": exc.detail}
        else:
            message = {
                "kind": "good",
                "text": f"Lot {lot.code} is now {lot.status}, signed by {person['username']}.",
            }
    context = await _queue(session, today, user=person, csrf=csrf)
    return render(request, "qa.html", {**context, "message": message})


async def _queue(session: SessionDep, today: Any, **context: Any) -> dict[str, Any]:
    rows, total = await lots.list_lots(
        session,
        status=LotStatus.quarantined,
        component_type=None,
        supplier_lot=None,
        expiring_within_days=None,
        today=today,
        limit=QUEUE,
        offset=0,
    )
    return {
        **context,
        "title": "QA desk",
        "lots": await lots.public_page(session, rows),
        "total": total,
    }
