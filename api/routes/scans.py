"""The line: scans, overrides, reversals."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Path
from fastapi.responses import JSONResponse

from api import examples
from api.deps import CurrentUser, SessionDep, TodayDep
from api.errors import render
from api.observability import count_scan
from api.openapi import PROBLEM_JSON, merge, problems
from api.routes import secured_router
from models.scans import (
    ScanAccepted,
    ScanCheck,
    ScanCreate,
    ScanOverride,
    ScanPublic,
    ScanReverse,
)
from services.line import reversals, scanning
from services.quality import overrides

router = secured_router("scans")
ScanId = Annotated[int, Path(ge=1, le=2**31 - 1)]
BLOCKED_RESPONSES = merge(
    {201: {"content": {"application/json": {"example": examples.SCAN_ACCEPTED}}}},
    problems(
        {
            404: ["SCAN_BLOCKED"],
            409: ["SCAN_BLOCKED", "IDEMPOTENCY_CONFLICT"],
            422: ["SCAN_BLOCKED", "INVALID_BARCODE", "UNKNOWN_BATCH", "STATION_MISMATCH"],
        },
        {
            404: "Blocked: nothing matches the barcode (flag UNKNOWN_BARCODE); stored.",
            409: "Blocked (SCAN_BLOCKED) with every flag; stored, nothing consumed. Or a "
            "client_scan_id reused for a different scan (IDEMPOTENCY_CONFLICT).",
            422: "Invalid input (nothing stored), or an unreadable GS1 barcode "
            "(SCAN_BLOCKED with flag UNPARSEABLE_BARCODE, stored).",
        },
    ),
    {
        404: {"content": {PROBLEM_JSON: {"example": examples.SCAN_UNKNOWN}}},
        409: {"content": {PROBLEM_JSON: {"example": examples.SCAN_BLOCKED}}},
    },
)


@router.post("/scans", status_code=201, response_model=ScanAccepted, responses=BLOCKED_RESPONSES)
async def scan(
    body: Annotated[ScanCreate, Body(openapi_examples=examples.SCAN)],
    actor: CurrentUser,
    session: SessionDep,
    today: TodayDep,
) -> JSONResponse:
    """Go or no-go for a component going into a batch. Accepted: consumed at once. Blocked:
    stored with every reason. A retry with the same `client_scan_id` gets the first answer."""
    outcome = await scanning.scan(session, actor, body, today)
    if outcome.refusal is not None:
        # A blocked scan is a record: it is answered as a result, so the unit of work commits
        # it (and nothing else) when this handler returns.
        count_scan("blocked", outcome.refusal.extra["flags"])
        return render(outcome.refusal)
    count_scan("accepted", outcome.body["flags"])
    return JSONResponse(outcome.body, status_code=201)


@router.post(
    "/scans/check",
    response_model=ScanCheck,
    responses=problems({422: ["INVALID_BARCODE", "UNKNOWN_BATCH", "STATION_MISMATCH"]}),
)
async def check(
    body: Annotated[ScanCreate, Body(openapi_examples=examples.SCAN)],
    session: SessionDep,
    today: TodayDep,
) -> ScanCheck:
    """Look before you use (kitting, staging): what `POST /scans` would answer now, with every
    flag, while nothing is stored, consumed or audited. The scan itself is decided again."""
    return ScanCheck.model_validate(await scanning.dry_run(session, body, today))


@router.post(
    "/scans/{scan_id}/override",
    response_model=ScanPublic,
    responses=problems({403: ["SAME_USER"], 409: ["NOT_BLOCKED", "NOT_OVERRIDABLE"]}),
)
async def override(
    scan_id: ScanId,
    body: ScanOverride,
    actor: CurrentUser,
    session: SessionDep,
    today: TodayDep,
) -> ScanPublic:
    """QA, signed, a second person: accept a blocked scan as a deviation."""
    return await overrides.override(session, actor, scan_id, body, today)


@router.post(
    "/scans/{scan_id}/reverse",
    response_model=ScanPublic,
    responses=problems({409: ["NOT_REVERSIBLE", "BATCH_NOT_ACTIVE"]}),
)
async def reverse(
    scan_id: ScanId, body: ScanReverse, actor: CurrentUser, session: SessionDep
) -> ScanPublic:
    """Signed: undo an accepted scan (wrong batch, say); the scan stays, marked reversed."""
    return await reversals.reverse(session, actor, scan_id, body)
