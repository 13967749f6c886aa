"""Batches: create, start, complete, abort, outputs; their scans and flags."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Response
from pydantic_core import to_json

from api.deps import CurrentUser, PagingDep, SessionDep, SettingsDep, TodayDep
from api.openapi import RECEIPT_409, RECEIPT_422, problems
from api.routes import secured_router
from models.batches import (
    Batch,
    BatchAbort,
    BatchComplete,
    BatchCreate,
    BatchOutput,
    BatchPublic,
    BatchStatus,
    FlagPublic,
    FlagStatus,
)
from models.common import Page
from models.genealogy import BatchRecord, Genealogy
from models.lots import LotPublic
from models.scans import ScanPublic
from services.dock import lots
from services.genealogy import backward, bundle, record, record_pdf, reports
from services.line import batches, scans
from services.quality import flags
from services.trust import audit

router = secured_router("batches")
BatchNumber = Annotated[str, Path(max_length=64)]


async def get_batch(batch_number: BatchNumber, session: SessionDep) -> Batch:
    return await batches.get(session, batch_number)


BatchDep = Annotated[Batch, Depends(get_batch)]


@router.post(
    "/batches",
    status_code=201,
    response_model=BatchPublic,
    responses=problems({409: ["ALREADY_EXISTS"], 422: ["UNKNOWN_COMPONENT_TYPE"]}),
)
async def create_batch(data: BatchCreate, actor: CurrentUser, session: SessionDep) -> BatchPublic:
    """Plan a batch; `coi` is the chain-of-identity id of the patient or donor, never a name."""
    return await batches.public(session, await batches.create(session, actor, data))


@router.get("/batches", response_model=Page[BatchPublic])
async def list_batches(
    session: SessionDep, paging: PagingDep, status: BatchStatus | None = None
) -> Page[BatchPublic]:
    rows, total = await batches.list_batches(
        session, status=status, limit=paging.limit, offset=paging.offset
    )
    return Page(items=[await batches.public(session, b) for b in rows], total=total)


@router.get("/batches/{batch_number}", response_model=BatchPublic)
async def get_batch_view(batch: BatchDep, session: SessionDep) -> BatchPublic:
    return await batches.public(session, batch)


@router.post(
    "/batches/{batch_number}/start",
    response_model=BatchPublic,
    responses=problems({409: ["ILLEGAL_TRANSITION"]}),
)
async def start_batch(batch: BatchDep, actor: CurrentUser, session: SessionDep) -> BatchPublic:
    return await batches.public(session, await batches.start(session, actor, batch.batch_number))


@router.post(
    "/batches/{batch_number}/complete",
    response_model=BatchPublic,
    responses=problems({409: ["ILLEGAL_TRANSITION", "OPEN_FLAGS", "BOM_INCOMPLETE"]}),
)
async def complete_batch(
    batch: BatchDep, body: BatchComplete, actor: CurrentUser, session: SessionDep
) -> BatchPublic:
    """Signed. Refused while a blocking flag is open, or while a BOM line is not fully
    consumed unless a justification is given."""
    done = await batches.complete(session, actor, batch.batch_number, body)
    return await batches.public(session, done)


@router.post(
    "/batches/{batch_number}/abort",
    response_model=BatchPublic,
    responses=problems({409: ["ILLEGAL_TRANSITION"]}),
)
async def abort_batch(
    batch: BatchDep, body: BatchAbort, actor: CurrentUser, session: SessionDep
) -> BatchPublic:
    """Signed, with a reason."""
    return await batches.public(
        session, await batches.abort(session, actor, batch.batch_number, body)
    )


@router.post(
    "/batches/{batch_number}/outputs",
    status_code=201,
    response_model=LotPublic,
    responses=problems({409: ["BATCH_NOT_ACTIVE", *RECEIPT_409], 422: RECEIPT_422}),
)
async def add_output(
    batch: BatchDep, body: BatchOutput, actor: CurrentUser, session: SessionDep, today: TodayDep
) -> LotPublic:
    """A lot made by this batch, quarantined; later batches consume it like any lot."""
    lot = await batches.add_output(session, actor, batch.batch_number, body, today)
    return await lots.public(session, lot)


@router.get("/batches/{batch_number}/scans", response_model=Page[ScanPublic])
async def batch_scans(batch: BatchDep, session: SessionDep, paging: PagingDep) -> Page[ScanPublic]:
    """Every scan into the batch, accepted or blocked, oldest first."""
    items, total = await scans.list_for_batch(
        session, batch, limit=paging.limit, offset=paging.offset
    )
    return Page(items=items, total=total)


GENEALOGY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {},
            "text/csv": {},
            "application/pdf": {},
            "image/svg+xml": {},
        },
        "description": "The backward trace as JSON, CSV, SVG, or the batch component record "
        "as PDF (the same document as GET /batches/{n}/record?format=pdf).",
    }
}


@router.get(
    "/batches/{batch_number}/genealogy", response_model=Genealogy, responses=GENEALOGY_RESPONSES
)
async def genealogy(
    batch: BatchDep,
    session: SessionDep,
    settings: SettingsDep,
    format: Literal["json", "csv", "pdf", "svg"] = "json",
) -> Response:
    """Backward trace: every unit and lot consumed at any depth, with status at use and now,
    expiry, time, operator, station, flags and deviations."""
    if format == "pdf":
        return await batch_record(batch, session, settings, format="pdf")
    trace = await backward.trace(session, batch)
    if format == "json":
        return Response(to_json(trace), media_type="application/json")
    render, media_type = {
        "csv": (reports.to_csv, "text/csv; charset=utf-8"),
        "svg": (reports.to_svg, "image/svg+xml"),
    }[format]
    return _download(
        render(Genealogy.model_validate(trace)), media_type, batch, "genealogy", format
    )


RECORD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/json": {}, "application/pdf": {}},
        "description": "The batch component record, as JSON or as a PDF to sign off.",
    }
}


@router.get(
    "/batches/{batch_number}/record", response_model=BatchRecord, responses=RECORD_RESPONSES
)
async def batch_record(
    batch: BatchDep,
    session: SessionDep,
    settings: SettingsDep,
    format: Literal["json", "pdf"] = "json",
) -> Response:
    """The batch component record a reviewer signs off: created, started, completed or aborted
    with who, when and the signature meanings; the completion justification; the BOM planned
    against consumed; every item of the backward trace with step, station and operator; the
    lots with name, GTIN, CoA and who released them; every flag and deviation with reason and
    signer; every blocked attempt. Times in SITE_TIMEZONE in the PDF, UTC in JSON."""
    built = await record.build(session, batch, settings.zone)
    if format == "json":
        return Response(built.model_dump_json(), media_type="application/json")
    return _download(record_pdf.to_pdf(built), "application/pdf", batch, "record", "pdf")


@router.get(
    "/batches/{batch_number}/audit-bundle",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": bundle.DESCRIPTION}},
)
async def audit_bundle(batch: BatchDep, session: SessionDep, settings: SettingsDep) -> Response:
    """Everything an auditor takes away about one batch, in one zip: the record (PDF, JSON),
    the genealogy (JSON, CSV), every audit event about the batch, its scans and flags and the
    lots and units in it (CSV, JSON), and a manifest with each file's SHA-256."""
    await audit.sequence(session, wait=True)
    content = await bundle.build(session, batch, settings.zone)
    return Response(
        content,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="audit-bundle-{batch.batch_number}.zip"'
        },
    )


def _download(content: bytes, media_type: str, batch: Batch, name: str, suffix: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'inline; filename="{name}-{batch.batch_number}.{suffix}"'},
    )


@router.get("/batches/{batch_number}/flags", response_model=Page[FlagPublic])
async def batch_flags(
    batch: BatchDep,
    session: SessionDep,
    paging: PagingDep,
    status: Annotated[FlagStatus | None, Query()] = None,
) -> Page[FlagPublic]:
    items, total = await flags.list_flags(
        session,
        status=status,
        batch=batch.batch_number,
        code=None,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page(items=items, total=total)
