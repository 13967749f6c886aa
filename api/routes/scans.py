"""The line: scans, overrides, reversals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from fastapi.responses import JSONResponse

from api.deps import CurrentUser, SessionDep, TodayDep
from api.observability import count_scan
from api.routes import secured_router
from models.scans import ScanAccepted, ScanCreate, ScanOverride, ScanPublic, ScanReverse
from services.line import reversals, scanning
from services.line.scanning import ScanBlocked
from services.quality import overrides

router = secured_router("scans")
ScanId = Annotated[int, Path(ge=1, le=2**31 - 1)]
BLOCKED_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "Blocked: nothing matches the barcode (UNKNOWN_BARCODE); stored."},
    409: {"description": "Blocked (SCAN_BLOCKED) with every flag; stored, nothing consumed."},
    422: {
        "description": "Invalid input (nothing stored), or an unreadable GS1 barcode "
        "(UNPARSEABLE_BARCODE, stored)."
    },
}


@router.post("/scans", status_code=201, response_model=ScanAccepted, responses=BLOCKED_RESPONSES)
async def scan(
    body: ScanCreate, actor: CurrentUser, session: SessionDep, today: TodayDep
) -> JSONResponse:
    """Go or no-go for a component going into a batch. Accepted: consumed at once. Blocked:
    stored with every reason. A retry with the same `client_scan_id` gets the first answer."""
    try:
        answer = await scanning.scan(session, actor, body, today)
    except ScanBlocked as blocked:
        count_scan("blocked", blocked.extra["flags"])
        raise
    count_scan("accepted", answer.body["flags"])
    return JSONResponse(answer.body, status_code=201)


@router.post("/scans/{scan_id}/override", response_model=ScanPublic)
async def override(
    scan_id: ScanId,
    body: ScanOverride,
    actor: CurrentUser,
    session: SessionDep,
    today: TodayDep,
) -> ScanPublic:
    """QA, signed, a second person: accept a blocked scan as a deviation."""
    return await overrides.override(session, actor, scan_id, body, today)


@router.post("/scans/{scan_id}/reverse", response_model=ScanPublic)
async def reverse(
    scan_id: ScanId, body: ScanReverse, actor: CurrentUser, session: SessionDep
) -> ScanPublic:
    """Signed: undo an accepted scan (wrong batch, say); the scan stays, marked reversed."""
    return await reversals.reverse(session, actor, scan_id, body)
