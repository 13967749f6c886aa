"""Label printers, ZPL template versions, print jobs and PDF sheets, and label reconciliation."""

from __future__ import annotations

from pathlib import Path

from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import (
    CurrentUser,
    LotDep,
    PrinterDep,
    PrintJobDep,
    SessionDep,
    SettingsDep,
    TemplateNameDep,
)
from api.openapi import merge, problems
from api.routes import secured_router
from models.labels import (
    LabelSelection,
    LabelVoid,
    LotLabels,
    PrinterCreate,
    PrinterJobCreate,
    PrinterPublic,
    PrintJob,
    PrintJobPublic,
    SheetCreate,
    TemplateRegister,
    TemplateState,
    TemplateVersion,
)
from models.users import User
from services.barcodes import raw_printer, zpl
from services.config import Settings
from services.dock import labelling, printers, printing
from services.errors import SutraceError

router = secured_router("labels")


class PrinterUnreachable(SutraceError):
    status = 502
    title = "Bad gateway"
    default_code = "PRINTER_UNREACHABLE"


FAILED = problems(
    {502: ["PRINTER_UNREACHABLE"]},
    {502: "The printer did not take the job; the failed job is recorded."},
)
PRINTER_404 = problems({404: ["PRINTER_NOT_FOUND"]})
# What a print request can be refused for, before or after its job is stored.
PRINT_409 = [
    "CLIENT_JOB_ID_REUSED",
    "NOT_SERIAL_TRACKED",
    "NOTHING_TO_PRINT",
    "LOT_NOT_LABELLABLE",
    "REPRINT_REASON_REQUIRED",
    "TEMPLATE_NOT_REGISTERED",
]
RETRY_409 = ["JOB_NOT_SENT", "JOB_ALREADY_SENT", "JOB_IN_PROGRESS", "LOT_NOT_LABELLABLE"]
PRINT_422 = ["UNIT_NOT_IN_LOT", "LABEL_DOES_NOT_FIT", "LABEL_UNENCODABLE", "VALIDATION_ERROR"]


def _folder(settings: Settings) -> Path:
    return settings.label_template_dir or zpl.TEMPLATE_DIR


# --- printers (admin) and templates (QA) -----------------------------------------------------


@router.post(
    "/printers",
    status_code=201,
    response_model=PrinterPublic,
    responses=problems({409: ["PRINTER_EXISTS"]}),
)
async def create_printer(
    body: PrinterCreate, actor: CurrentUser, session: SessionDep
) -> PrinterPublic:
    """Register a label printer: where it listens (raw TCP, 9100) and what it prints on."""
    return printers.public(await printers.create(session, actor, body))


@router.get("/printers", response_model=list[PrinterPublic])
async def list_printers(session: SessionDep) -> list[PrinterPublic]:
    return [printers.public(p) for p in await printers.list_printers(session)]


@router.get("/printers/{name}", response_model=PrinterPublic, responses=PRINTER_404)
async def get_printer(printer: PrinterDep) -> PrinterPublic:
    return printers.public(printer)


@router.post(
    "/printers/{name}/deactivate",
    response_model=PrinterPublic,
    responses=merge(PRINTER_404, problems({409: ["PRINTER_INACTIVE"]})),
)
async def deactivate_printer(
    printer: PrinterDep, actor: CurrentUser, session: SessionDep
) -> PrinterPublic:
    return printers.public(await printers.deactivate(session, actor, printer))


@router.get("/label-templates", response_model=list[TemplateState])
async def label_templates(session: SessionDep, settings: SettingsDep) -> list[TemplateState]:
    """Each ZPL template as deployed, its SHA-256, and the versions registered."""
    return await printers.template_states(session, _folder(settings))


@router.post(
    "/label-templates/{name}/register",
    status_code=201,
    response_model=TemplateVersion,
    responses=problems(
        {
            404: ["TEMPLATE_NOT_FOUND"],
            409: ["TEMPLATE_ALREADY_REGISTERED"],
            422: ["TEMPLATE_INVALID"],
        }
    ),
)
async def register_template(
    name: TemplateNameDep,
    body: TemplateRegister,
    actor: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> TemplateVersion:
    """QA registers the template file as deployed as its next version, signed and audited."""
    row = await printers.register_template(session, actor, name, body, _folder(settings))
    return TemplateVersion.model_validate(row, from_attributes=True)


# --- print jobs -----------------------------------------------------------------------------------


async def _send(
    session: AsyncSession, actor: User, job: PrintJob, settings: Settings
) -> PrintJobPublic:
    host, port = await printing.destination(session, job)
    payload = job.payload
    # The job, its pending labels and its audit event are committed before a byte leaves, and
    # no transaction waits on the printer: a crash mid-send leaves a job marked `sending`.
    await session.commit()
    outcome = await raw_printer.send(host, port, payload, seconds=settings.printer_timeout_s)
    job = await printing.record_outcome(session, actor, job, outcome)
    if not outcome.ok:
        # The failed job is a record: committed here, as the job was before sending, and then
        # answered as an error (which rolls back nothing, there being nothing left).
        await session.commit()
        raise PrinterUnreachable(
            f"{outcome.reason} Print job {job.id} is recorded as failed and no label was "
            f"issued; retry it with POST /api/v1/print-jobs/{job.id}/retry.",
            print_job=job.id,
        )
    return await printing.public(session, job)


@router.post(
    "/lots/{lot_id}/print-jobs",
    status_code=201,
    response_model=PrintJobPublic,
    responses=merge(
        {200: {"model": PrintJobPublic, "description": "A retried client_job_id's job, sent."}},
        FAILED,
        problems(
            {
                409: [*PRINT_409, "PRINTER_INACTIVE", *RETRY_409],
                422: [*PRINT_422, "UNKNOWN_PRINTER"],
            }
        ),
    ),
)
async def print_labels(
    lot: LotDep,
    body: PrinterJobCreate,
    actor: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> PrintJobPublic:
    """Print labels of the lot (`kind="lot"`, `copies`) or of its units to a label printer."""
    job = await printing.by_client_id(session, body, lot)
    if job is None:
        job = await printing.prepare(session, actor, lot.id or 0, body, _folder(settings))
    elif job.status == "sent":
        response.status_code = 200
        return await printing.public(session, job)
    else:
        job = await printing.begin_retry(session, actor, job)
    return await _send(session, actor, job, settings)


@router.post(
    "/print-jobs/{job_id}/retry",
    response_model=PrintJobPublic,
    responses=merge(FAILED, problems({409: RETRY_409})),
)
async def retry_print_job(
    job: PrintJobDep, actor: CurrentUser, session: SessionDep, settings: SettingsDep
) -> PrintJobPublic:
    """Send a failed job's stored bytes again; its labels are issued once it is sent."""
    job = await printing.begin_retry(session, actor, job)
    return await _send(session, actor, job, settings)


@router.get("/print-jobs/{job_id}", response_model=PrintJobPublic)
async def get_print_job(job: PrintJobDep, session: SessionDep) -> PrintJobPublic:
    return await printing.public(session, job)


@router.get("/lots/{lot_id}/print-jobs", response_model=list[PrintJobPublic])
async def lot_print_jobs(lot: LotDep, session: SessionDep) -> list[PrintJobPublic]:
    return [await printing.public(session, job) for job in await printing.list_jobs(session, lot)]


@router.post(
    "/lots/{lot_id}/label-sheets",
    status_code=201,
    response_class=Response,
    responses=merge(
        {
            201: {"content": {"application/pdf": {}}, "description": "The sheet (PDF)."},
            200: {"content": {"application/pdf": {}}, "description": "A retried client_job_id's."},
        },
        problems({409: PRINT_409, 422: PRINT_422}),
    ),
)
async def label_sheet(
    lot: LotDep, body: SheetCreate, actor: CurrentUser, session: SessionDep
) -> Response:
    """A PDF sheet of labels (A4 or Letter) for an office printer; its labels are issued."""
    job = await printing.by_client_id(session, body, lot)
    status = 200 if job is not None else 201
    if job is None:
        job = await printing.make_sheet(session, actor, lot.id or 0, body)
    return Response(
        job.payload,
        status_code=status,
        media_type="application/pdf",
        headers={
            "X-Print-Job": str(job.id),
            "Content-Disposition": f'attachment; filename="labels-{lot.code}-{job.id}.pdf"',
        },
    )


# --- reconciliation -------------------------------------------------------------------------------


@router.get("/lots/{lot_id}/labels", response_model=LotLabels)
async def lot_labels(lot: LotDep, session: SessionDep) -> LotLabels:
    """Every label printed for the lot; issued = applied + voided + outstanding."""
    return await labelling.lot_labels(session, lot)


@router.post(
    "/lots/{lot_id}/labels/apply",
    response_model=LotLabels,
    responses=problems({409: ["LABELS_NOT_OUTSTANDING"], 422: ["LABEL_NOT_IN_LOT"]}),
)
async def apply_labels(
    lot: LotDep, body: LabelSelection, actor: CurrentUser, session: SessionDep
) -> LotLabels:
    """The warehouse says these outstanding labels were put on the items."""
    await labelling.apply(session, actor, lot, body)
    return await labelling.lot_labels(session, lot)


@router.post(
    "/lots/{lot_id}/labels/void",
    response_model=LotLabels,
    responses=problems({409: ["LABELS_NOT_OUTSTANDING"], 422: ["LABEL_NOT_IN_LOT"]}),
)
async def void_labels(
    lot: LotDep, body: LabelVoid, actor: CurrentUser, session: SessionDep
) -> LotLabels:
    """Void outstanding labels (spoiled, surplus, destroyed) with a signature."""
    await labelling.void(session, actor, lot, body)
    return await labelling.lot_labels(session, lot)
