"""The scan station (`/station`): an enrolled line station where operators badge in, pick an
in-progress batch and scan. Each scan is the API's POST /scans, through the same service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from pydantic import ValidationError

from api import cookies
from api.deps import NowDep, SessionDep, SettingsDep, TodayDep
from models.batches import Batch, BatchStatus
from models.scans import ScanCreate
from services.dock.checks import BLOCK, WARN
from services.errors import Forbidden, SutraceError, Unauthorized
from services.line import batches, scanning, scans
from services.trust import access, credentials, events, sessions, stations
from web.pages import caller_for, refusal, render, sign_out_to, templates, who

router = APIRouter(include_in_schema=False)
RECENT = 20

# What the person at the line does next, for each reason a scan is refused or warned about.
NEXT_STEP: dict[str, str] = {
    "UNKNOWN_BARCODE": "Check that you scanned the sutrace label; if the item has none, call "
    "the warehouse.",
    "UNPARSEABLE_BARCODE": "Scan again; if it still fails, call the warehouse to relabel it.",
    "QUARANTINED": "Put the item aside: QA has not released its lot. Call QA.",
    "REJECTED": "Do not use it. Put it in the reject bin and call QA.",
    "RECALLED": "Do not use it. Put it in the reject bin and call QA now.",
    "SOURCE_BATCH_FLAGGED": "Do not use it until QA resolves the flag on the batch that made it.",
    "EXPIRED": "Do not use it. Take an item from a newer lot; tell QA.",
    "RETEST_DUE": "Do not use it until QA retests the lot.",
    "EXPIRES_SOON": "You may use it; use this lot first.",
    "ALREADY_USED": "This item was already used. Take another one and keep this one aside.",
    "INSUFFICIENT_QUANTITY": "The lot has less left than you asked for; call the warehouse.",
    "SERIAL_REQUIRED": "Scan the unit's own label, not the lot's.",
    "AMBIGUOUS_LOT": "Scan the sutrace label: this supplier lot matches more than one lot.",
    "LABEL_MISMATCH": "The label does not match the lot on record: keep it aside and call QA.",
    "WRONG_COMPONENT": "This batch's BOM does not call for this part. Check the checklist.",
    "OVER_BOM_QUANTITY": "The BOM needs no more of this part. Check the checklist.",
    "BATCH_NOT_ACTIVE": "This batch is not in progress. Call your supervisor.",
}


def _station_token(request: Request) -> str:
    return request.cookies.get(access.STATION_COOKIE) or ""


@router.get("/station", response_class=HTMLResponse)
async def station_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    batch: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Enrol, badge in, pick a batch, or scan: whichever this browser is ready for."""
    token = _station_token(request)
    try:
        station = await stations.by_token(session, token or None)
    except Unauthorized:
        return render(request, "station_enrol.html", {"title": "Enrol this station"})
    csrf = credentials.csrf_token(token)
    context: dict[str, Any] = {"station": {"name": station.name}, "csrf": csrf}
    try:
        caller = await caller_for(request, session, "POST", "/scans")
    except Unauthorized:
        return render(request, "station_sign_in.html", {**context, "title": "Badge in"})
    except Forbidden as exc:
        return render(
            request, "station_sign_in.html", {**context, "title": "Badge in", "error": exc.detail}
        )
    if caller.station is None or caller.station.name != station.name:
        return render(request, "station_sign_in.html", {**context, "title": "Badge in"})
    context.update(
        user=who(caller.user),
        idle_seconds=int(settings.station_idle.total_seconds()),
    )
    chosen = await _batch(session, batch) if batch else None
    if chosen is None:
        rows, _ = await batches.list_batches(
            session, status=BatchStatus.in_progress, limit=100, offset=0
        )
        return render(
            request, "station_batches.html", {**context, "title": "Pick a batch", "batches": rows}
        )
    context.update(await _panels(session, chosen))
    return render(request, "station_scan.html", {**context, "title": f"Scan into {batch}"})


@router.post("/station/enrol", response_class=HTMLResponse)
async def enrol(
    request: Request, session: SessionDep, now: NowDep, code: Annotated[str, Form(max_length=64)]
) -> Response:
    """The one-time code an admin was given for this station (POST /api/v1/stations)."""
    try:
        _, token = await stations.enrol(session, code.strip(), now)
    except SutraceError as exc:
        await refusal(session, exc)
        return render(
            request,
            "station_enrol.html",
            {"title": "Enrol this station", "error": exc.detail},
            status=exc.status,
        )
    response = RedirectResponse("/station", status_code=303)
    cookies.set_station(request, response, token)
    return response


@router.post("/station/sign-in", response_class=HTMLResponse)
async def badge_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    badge: Annotated[str, Form(max_length=128)],
    pin: Annotated[str, Form(max_length=32)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Badge, then PIN, as POST /api/v1/station/sessions: the same lockout and audit events."""
    token = _station_token(request)
    try:
        station = await stations.by_token(session, token or None)
    except Unauthorized:
        return RedirectResponse("/station", status_code=303)
    context: dict[str, Any] = {
        "station": {"name": station.name},
        "csrf": credentials.csrf_token(token),
        "title": "Badge in",
    }
    if csrf_token != context["csrf"]:
        return render(
            request, "station_sign_in.html", {**context, "error": "Reload the page."}, 403
        )
    try:
        started = await sessions.badge_sign_in(session, station, badge, pin, now, settings)
    except SutraceError as exc:
        await refusal(session, exc)
        return render(request, "station_sign_in.html", {**context, "error": exc.detail}, 200)
    response = RedirectResponse("/station", status_code=303)
    cookies.set_session(request, response, started.token, settings.session_max)
    return response


@router.post("/station/sign-out", response_class=HTMLResponse)
async def sign_out(request: Request, session: SessionDep, now: NowDep) -> Response:
    """The operator leaves (or the screen went idle): their session ends now."""
    return await sign_out_to(request, session, now, "/station")


@router.post("/station/scan", response_class=HTMLResponse)
async def scan(
    request: Request,
    session: SessionDep,
    today: TodayDep,
    batch: Annotated[str, Form(max_length=64)],
    barcode: Annotated[str, Form()] = "",
) -> Response:
    """One scan, answered as the screen shows it: green, amber or red with every reason."""
    if not barcode.strip():
        return Response(status_code=204)  # Enter on an empty field: nothing to answer
    try:
        caller = await caller_for(request, session, "POST", "/scans")
    except Unauthorized:
        return Response(status_code=204, headers={"HX-Redirect": "/station"})
    answer: dict[str, Any]
    try:
        body = ScanCreate(barcode=barcode, batch=batch)
    except ValidationError as exc:
        message = "; ".join(str(e["msg"]) for e in exc.errors())
        answer = _answer("invalid", [], None, f"Not a barcode the line can read: {message}")
    else:
        try:
            outcome = await scanning.scan(session, caller.user, body, today)
        except SutraceError as exc:
            await refusal(session, exc)
            answer = _answer("invalid", [], None, exc.detail)
        else:
            if outcome.refusal is not None:
                # A blocked scan is a stored result: the unit of work commits it, as in the API.
                blocked = outcome.refusal
                answer = _answer("blocked", blocked.extra["flags"], blocked.extra.get("scan_id"))
            else:
                answer = await _accepted(session, outcome.body)
    chosen = await _batch(session, batch)
    context: dict[str, Any] = {"answer": answer, "barcode": _visible(barcode)}
    if chosen is not None:
        context.update(await _panels(session, chosen))
    return render(request, "station_answer.html", context)


@router.get("/station/live")
async def live(request: Request, batch: Annotated[str, Query(max_length=64)]) -> Response:
    """The batch's checklist and last scans as Server-Sent Events (`panels`), sent on connecting
    and again whenever a scan or flag of the batch is committed, from any station or the API.
    The stream ends with the operator's station session (re-checked as GET /events does, without
    counting as activity); a browser reconnecting then gets 204, which stops it for good."""
    if not await _at_station(request) or await _read_panels(request, batch) is None:
        return Response(status_code=204)

    async def panels(_: list[events.Event] | None = None) -> str:
        # One data line per line of HTML; SSE ends lines at CR and LF only (splitlines would
        # also break at characters a name may hold, and change them).
        lines = (await _read_panels(request, batch) or "").replace("\r", "").split("\n")
        return "event: panels\n" + "".join(f"data: {line}\n" for line in lines) + "\n"

    async def messages() -> AsyncIterator[str]:
        async for message in events.stream(
            request.app.state.sessionmaker,
            request.app.state.signal,
            None,
            batch=batch,
            still_allowed=lambda: _at_station(request),
            deliver=panels,
        ):
            yield message
            if message.startswith(": connected"):
                # Read after the stream has marked where "later" begins: nothing falls between.
                yield await panels()

    return StreamingResponse(
        messages(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _at_station(request: Request) -> bool:
    """Whether an operator is still signed in at this station, allowed to scan."""
    async with request.app.state.sessionmaker() as session:
        try:
            caller = await caller_for(request, session, "POST", "/scans", touch=False)
        except SutraceError:
            return False
        finally:
            await session.rollback()
    return caller.station is not None


async def _read_panels(request: Request, number: str) -> str | None:
    """The checklist and last scans as the page shows them, read now; None without the batch."""
    async with request.app.state.sessionmaker() as session:
        try:
            chosen = await _batch(session, number)
            if chosen is None:
                return None
            context = await _panels(session, chosen)
            return templates.get_template("_station_panels.html").render(context)
        finally:
            await session.rollback()


async def _accepted(session: SessionDep, found: dict[str, Any]) -> dict[str, Any]:
    answer = _answer("accepted", found["flags"], found["id"])
    answer.update(
        component_type=found["component_type"],
        lot_code=found["lot_code"],
        unit=found["unit"],
        quantity=found["quantity"],
    )
    answer["expiry"] = await _expiry(session, found["id"])
    return answer


def _answer(
    outcome: str, flags: list[dict[str, Any]], scan_id: int | None, detail: str | None = None
) -> dict[str, Any]:
    """The screen's answer: its colour and every reason with what to do next."""
    if outcome == "accepted":
        colour = "amber" if any(f["severity"] == WARN for f in flags) else "green"
    else:
        colour = "red"
    reasons = [
        {
            "code": f["code"],
            "severity": f["severity"],
            "message": f["message"],
            "next": NEXT_STEP.get(f["code"], "Call QA."),
        }
        for f in sorted(flags, key=lambda f: f["severity"] != BLOCK)
    ]
    if detail is not None:
        reasons.append(
            {"code": "INVALID", "severity": BLOCK, "message": detail, "next": "Scan again."}
        )
    return {"outcome": outcome, "colour": colour, "reasons": reasons, "scan_id": scan_id}


def _visible(barcode: str) -> str:
    """The barcode as the screen shows it: GS as <GS>."""
    return barcode.replace("\x1d", "<GS>")


async def _batch(session: SessionDep, number: str) -> Batch | None:
    try:
        return await batches.get(session, number)
    except SutraceError:
        return None


async def _expiry(session: SessionDep, scan_id: int) -> str | None:
    row = await scans.get(session, scan_id)
    return row.expiry_at_scan.isoformat() if row.expiry_at_scan else None


async def _panels(session: SessionDep, batch: Batch) -> dict[str, Any]:
    """The batch's BOM checklist with counts and its last scans, newest first."""
    bom = await batches.bom_progress(session, batch)
    recent, total = await scans.list_for_batch(
        session, batch, limit=RECENT, offset=0, newest_first=True
    )
    return {"batch": batch, "bom": bom, "recent": recent, "scan_total": total}
