"""Print jobs: labels of a lot or of its units, sent to a label printer as ZPL or made into a PDF.

A job to a printer is two units of work around the socket, so no transaction waits on a printer:
`prepare` stores the job (status `sending`, its ZPL, the template version, one pending label per
label) with its audit event, and the caller commits; the bytes go out; `record_outcome` stores
`sent` (the labels are issued) or `failed` with the reason, with its own audit event. A job
left `sending` by a crash can be retried after a minute; whether it printed is for the person
at the printer to say (void what came out, if anything did).

Retries are safe: a request with a used `client_job_id` gets that job back (re-sent if it had
failed, never printed twice once sent), and `retry` re-sends a failed job's stored bytes. The
labels are the job's own pending rows either way, so nothing is issued twice.

Reprints: a unit that already had a label (sent or being sent), or a lot that already had lot
labels, gets more only with a reason, and those labels are marked as reprints. Rejected and
recalled lots get no new labels (409 LOT_NOT_LABELLABLE); their image labels say DO NOT USE.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.catalog import ComponentType
from models.labels import (
    Label,
    Printer,
    PrinterJobCreate,
    PrintJob,
    PrintJobPublic,
    PrintRequest,
    SheetCreate,
    TemplateUsed,
)
from models.lots import Lot, LotStatus
from models.units import Unit, UnitStatus
from models.users import User
from services.barcodes import labels as label_art
from services.barcodes import sheets, zpl
from services.barcodes.layout import DoesNotFit, Layout
from services.barcodes.raw_printer import SendOutcome
from services.barcodes.symbols import LabelError
from services.dock import labelling, lots, printers
from services.errors import Conflict, Invalid, NotFound
from services.trust import audit

JOB = PrintJob.__table__  # type: ignore[attr-defined]
STALE_SENDING = timedelta(seconds=60)
NOT_LABELLABLE = frozenset({LotStatus.rejected, LotStatus.recalled})


async def public(session: AsyncSession, job: PrintJob) -> PrintJobPublic:
    lot = await lots.get(session, job.lot_id)
    printer = None
    if job.printer_id is not None:
        printer = (
            await session.execute(
                select(col(Printer.name)).where(col(Printer.id) == job.printer_id)
            )
        ).scalar_one()
    label_ids = (
        (
            await session.execute(
                select(col(Label.id))
                .where(col(Label.print_job_id) == job.id)
                .order_by(col(Label.id))
            )
        )
        .scalars()
        .all()
    )
    template = None
    if job.template_name and job.template_version and job.template_sha256:
        template = TemplateUsed(
            name=job.template_name, version=job.template_version, sha256=job.template_sha256
        )
    return PrintJobPublic.model_validate(
        {
            **job.model_dump(exclude={"payload"}),
            "lot": job.lot_id,
            "lot_code": lot.code,
            "printer": printer,
            "template": template,
            "labels": list(label_ids),
        }
    )


async def get(session: AsyncSession, job_id: int) -> PrintJob:
    job = await session.get(PrintJob, job_id)
    if job is None:
        raise NotFound(f"Print job {job_id} does not exist.", code="PRINT_JOB_NOT_FOUND")
    return job


async def list_jobs(session: AsyncSession, lot: Lot) -> Sequence[PrintJob]:
    return (
        (
            await session.execute(
                select(PrintJob).where(col(PrintJob.lot_id) == lot.id).order_by(col(PrintJob.id))
            )
        )
        .scalars()
        .all()
    )


async def by_client_id(session: AsyncSession, data: PrintRequest, lot: Lot) -> PrintJob | None:
    """The job a retried request made already, or None; a different request is refused."""
    if data.client_job_id is None:
        return None
    job = (
        await session.execute(
            select(PrintJob).where(col(PrintJob.client_job_id) == data.client_job_id)
        )
    ).scalar_one_or_none()
    if job is not None and (job.request_hash != _request_hash(data, lot) or job.lot_id != lot.id):
        raise Conflict(
            f"client_job_id '{data.client_job_id}' was used for another print request "
            f"(job {job.id}).",
            code="CLIENT_JOB_ID_REUSED",
        )
    return job


def _request_hash(data: PrintRequest, lot: Lot) -> str:
    return audit.sha256_hex(audit.canonical_json({"lot": lot.id, **data.model_dump(mode="json")}))


def _render_guard(error: LabelError) -> Invalid:
    code = "LABEL_DOES_NOT_FIT" if isinstance(error, DoesNotFit) else "LABEL_UNENCODABLE"
    return Invalid(str(error), code=code)


async def _targets(
    session: AsyncSession, lot: Lot, component_type: ComponentType, data: PrintRequest
) -> tuple[int, list[Unit], bool]:
    """(number of labels, units labelled, whether it is a reprint)."""
    printed = (
        select(col(Label.unit_id), col(Label.kind))
        .join(PrintJob, col(PrintJob.id) == col(Label.print_job_id))
        .where(col(Label.lot_id) == lot.id, col(PrintJob.status).in_(("sending", "sent")))
    )
    if data.kind == "lot":
        had = (await session.execute(printed.where(col(Label.kind) == "lot").limit(1))).first()
        return data.copies or 1, [], had is not None
    if component_type.tracking != "serial":
        raise Conflict(
            f"Lot '{lot.code}' is of lot-tracked type '{component_type.code}'; it has no units "
            "to label. Print lot labels.",
            code="NOT_SERIAL_TRACKED",
        )
    labelled = set(
        (await session.execute(printed.where(col(Label.kind) == "unit"))).scalars().all()
    )
    if data.units is None:
        chosen = [
            unit
            for unit in (
                await session.execute(
                    select(Unit)
                    .where(col(Unit.lot_id) == lot.id, col(Unit.status) == UnitStatus.available)
                    .order_by(col(Unit.id))
                )
            )
            .scalars()
            .all()
            if unit.id not in labelled
        ]
        if not chosen:
            raise Conflict(
                f"Every available unit of lot '{lot.code}' has a label already; name the units "
                "to reprint, with a reason.",
                code="NOTHING_TO_PRINT",
            )
        return len(chosen), chosen, False
    found = {
        unit.barcode: unit
        for unit in (
            await session.execute(
                select(Unit).where(col(Unit.barcode).in_(data.units), col(Unit.lot_id) == lot.id)
            )
        )
        .scalars()
        .all()
    }
    missing = [b for b in data.units if b not in found]
    if missing:
        raise Invalid(
            f"These are not units of lot '{lot.code}': {', '.join(missing[:10])}.",
            code="UNIT_NOT_IN_LOT",
            errors=[{"field": "units", "message": "not a unit of this lot"}],
        )
    chosen = [found[b] for b in data.units]
    return len(chosen), chosen, any(unit.id in labelled for unit in chosen)


def _layouts(
    lot: Lot,
    component_type: ComponentType,
    data: PrintRequest,
    units: list[Unit],
    *,
    stock: str,
    dpi: int,
) -> list[Layout]:
    try:
        if data.kind == "lot":
            label = label_art.LotLabel(
                lot.code,
                component_type.gtin,
                lot.expiry_date,
                lot.supplier_lot,
                component_type.name,
                lot.status,
            )
            return [label.layout(symbology=data.symbology, stock=stock, dpi=dpi)]
        return [
            label_art.UnitLabel(
                unit.barcode,
                component_type.name,
                lot.code,
                lot.expiry_date,
                unit.serial,
                lot.status,
                component_type.gtin,
                lot.supplier_lot,
            ).layout(symbology=data.symbology, stock=stock, dpi=dpi)
            for unit in units
        ]
    except LabelError as exc:
        raise _render_guard(exc) from exc


async def _start(
    session: AsyncSession, actor: User, lot_id: int, data: PrintRequest
) -> tuple[Lot, ComponentType, int, list[Unit], bool]:
    # The lot's row lock serialises print jobs of one lot: "is this a reprint?" has one answer.
    lot = await lots.get(session, lot_id, for_update=True)
    if lot.status in NOT_LABELLABLE:
        raise Conflict(
            f"Lot '{lot.code}' is {lot.status}; no new labels are issued for it. Void its "
            "outstanding labels instead.",
            code="LOT_NOT_LABELLABLE",
        )
    component_type = await session.get_one(ComponentType, lot.component_type_id)
    copies, units, reprint = await _targets(session, lot, component_type, data)
    if reprint and data.reprint_reason is None:
        raise Conflict(
            f"Labels of lot '{lot.code}' were printed before; a reprint needs a reprint_reason "
            "(it is recorded, and the new labels are marked as reprints).",
            code="REPRINT_REASON_REQUIRED",
        )
    return lot, component_type, copies, units, reprint or data.reprint_reason is not None


async def _store(
    session: AsyncSession,
    actor: User,
    lot: Lot,
    data: PrintRequest,
    units: list[Unit],
    fields: dict[str, Any],
) -> PrintJob:
    now = utcnow()
    job = PrintJob(
        client_job_id=data.client_job_id,
        request_hash=_request_hash(data, lot),
        lot_id=lot.id or 0,
        kind=data.kind,
        symbology=data.symbology,
        units=[u.barcode for u in units] if data.kind == "unit" else None,
        reprint_reason=data.reprint_reason,
        lot_status=lot.status,
        payload_sha256=hashlib.sha256(fields["payload"]).hexdigest(),
        created_at=now,
        created_by=actor.username,
        attempted_at=now,
        **fields,
    )
    session.add(job)
    await session.flush()
    session.add_all(
        Label(
            lot_id=lot.id or 0,
            unit_id=unit.id if unit else None,
            print_job_id=job.id or 0,
            kind=data.kind,
            reprint=job.reprint,
            lot_status=lot.status,
            status="pending",
            created_at=now,
            created_by=actor.username,
        )
        for unit in ([*units] if units else [None] * job.copies)
    )
    await session.flush()
    return job


async def prepare(
    session: AsyncSession, actor: User, lot_id: int, data: PrinterJobCreate, folder: Path
) -> PrintJob:
    """Store a job to a printer, status `sending`; the caller commits, sends, then records."""
    printer = await printers.find(session, data.printer)
    if printer is None:
        raise Invalid(
            f"Printer '{data.printer}' is not registered; GET /api/v1/printers lists them.",
            code="UNKNOWN_PRINTER",
            errors=[{"field": "printer", "message": "no such printer"}],
        )
    if not printer.active:
        raise Conflict(f"Printer '{printer.name}' is inactive.", code="PRINTER_INACTIVE")
    lot, component_type, copies, units, reprint = await _start(session, actor, lot_id, data)
    template, version = await printers.current_template(session, data.kind, folder)
    layouts = _layouts(lot, component_type, data, units, stock=printer.stock, dpi=printer.dpi)
    formats = [
        zpl.format_label(template, layout, copies=copies if data.kind == "lot" else 1)
        for layout in layouts
    ]
    job = await _store(
        session,
        actor,
        lot,
        data,
        units,
        {
            "output": "printer",
            "printer_id": printer.id,
            "stock": printer.stock,
            "dpi": printer.dpi,
            "copies": copies,
            "template_name": version.name,
            "template_version": version.version,
            "template_sha256": version.sha256,
            "reprint": reprint,
            "status": "sending",
            "attempts": 1,
            "payload": "\n".join(formats).encode("ascii"),
        },
    )
    await audit.append(
        session,
        actor=actor.username,
        action="print_job.create",
        entity_type="print_job",
        entity_id=job.id or 0,
        after=audit.snapshot(await public(session, job)),
        reason=data.reprint_reason,
    )
    return job


async def destination(session: AsyncSession, job: PrintJob) -> tuple[str, int]:
    printer = await session.get_one(Printer, job.printer_id)
    return printer.host, printer.port


async def record_outcome(
    session: AsyncSession, actor: User, job: PrintJob, outcome: SendOutcome
) -> PrintJob:
    """`sent` issues the job's labels; `failed` keeps the reason. Decided in the WHERE."""
    now = utcnow()
    values: dict[str, Any] = (
        {"status": "sent", "sent_at": now, "failure": None}
        if outcome.ok
        else {"status": "failed", "failure": outcome.reason}
    )
    moved = (
        await session.execute(
            update(JOB).where(JOB.c.id == job.id, JOB.c.status == "sending").values(**values)
        )
    ).rowcount  # type: ignore[attr-defined]
    await session.refresh(job)
    if not moved:
        raise Conflict(
            f"Print job {job.id} is {job.status}; its outcome was recorded already.",
            code="JOB_NOT_SENDING",
        )
    issued = await labelling.issue(session, job.id or 0) if outcome.ok else []
    await audit.append(
        session,
        actor=actor.username,
        action="print_job.sent" if outcome.ok else "print_job.failed",
        entity_type="print_job",
        entity_id=job.id or 0,
        after={"status": job.status, "attempts": job.attempts, "labels_issued": issued},
        reason=outcome.reason,
    )
    return job


async def begin_retry(session: AsyncSession, actor: User, job: PrintJob) -> PrintJob:
    """A failed job (or one left sending for a minute) goes back to `sending`."""
    if job.output != "printer":
        raise Conflict(f"Print job {job.id} is a PDF sheet; nothing to send.", code="JOB_NOT_SENT")
    lot = await lots.get(session, job.lot_id)
    if lot.status in NOT_LABELLABLE:
        raise Conflict(
            f"Lot '{lot.code}' is {lot.status} now; job {job.id} is not sent again.",
            code="LOT_NOT_LABELLABLE",
        )
    now = utcnow()
    moved = (
        await session.execute(
            update(JOB)
            .where(
                JOB.c.id == job.id,
                or_(
                    JOB.c.status == "failed",
                    (JOB.c.status == "sending") & (JOB.c.attempted_at < now - STALE_SENDING),
                ),
            )
            .values(status="sending", attempts=JOB.c.attempts + 1, attempted_at=now)
        )
    ).rowcount  # type: ignore[attr-defined]
    await session.refresh(job)
    if not moved:
        if job.status == "sent":
            raise Conflict(
                f"Print job {job.id} was sent already; print again as a reprint, with a reason.",
                code="JOB_ALREADY_SENT",
            )
        raise Conflict(f"Print job {job.id} is being sent right now.", code="JOB_IN_PROGRESS")
    await audit.append(
        session,
        actor=actor.username,
        action="print_job.retry",
        entity_type="print_job",
        entity_id=job.id or 0,
        after={"status": job.status, "attempts": job.attempts},
    )
    return job


async def make_sheet(
    session: AsyncSession, actor: User, lot_id: int, data: SheetCreate
) -> PrintJob:
    """A PDF sheet for an office printer: made, stored and its labels issued at once."""
    lot, component_type, copies, units, reprint = await _start(session, actor, lot_id, data)
    layouts = _layouts(lot, component_type, data, units, stock=data.stock, dpi=label_art.IMAGE_DPI)
    try:
        pdf = sheets.sheet_pdf(
            layouts * copies if data.kind == "lot" else layouts,
            paper=data.paper,
            title=f"Labels of lot {lot.code}",
        )
    except LabelError as exc:
        raise _render_guard(exc) from exc
    job = await _store(
        session,
        actor,
        lot,
        data,
        units,
        {
            "output": "pdf",
            "stock": data.stock,
            "dpi": label_art.IMAGE_DPI,
            "paper": data.paper,
            "copies": copies,
            "reprint": reprint,
            "status": "sent",
            "sent_at": utcnow(),
            "attempts": 1,
            "payload": pdf,
        },
    )
    issued = await labelling.issue(session, job.id or 0)
    await audit.append(
        session,
        actor=actor.username,
        action="print_job.create",
        entity_type="print_job",
        entity_id=job.id or 0,
        after={**(audit.snapshot(await public(session, job)) or {}), "labels_issued": issued},
        reason=data.reprint_reason,
    )
    return job
