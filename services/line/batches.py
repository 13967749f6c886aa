"""Batches: create with a BOM, start, complete (signed), abort (signed), and the lots they make."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from models.base import utcnow
from models.batches import (
    Batch,
    BatchAbort,
    BatchComplete,
    BatchCreate,
    BatchFlag,
    BatchOutput,
    BatchPublic,
    BatchStatus,
    BomLine,
    BomLinePublic,
    FlagStatus,
)
from models.catalog import ComponentType
from models.lots import Lot, LotCreate
from models.scans import ACCEPTED, Scan
from models.users import User
from services import cache
from services.dock import catalog, receiving
from services.errors import AlreadyExists, Conflict, NotFound
from services.locks import locked
from services.trust import audit
from services.trust.signatures import sign


async def get(session: AsyncSession, batch_number: str, *, for_update: bool = False) -> Batch:
    """The batch; `for_update` locks its row and re-reads it (see services.locks)."""
    query = select(Batch).where(col(Batch.batch_number) == batch_number)
    if for_update:
        query = locked(query)
    batch = (await session.execute(query)).scalar_one_or_none()
    if batch is None:
        raise NotFound(f"Batch '{batch_number}' does not exist.", code="BATCH_NOT_FOUND")
    return batch


async def open_blocking_flags(session: AsyncSession, batch_id: int) -> int:
    return int(
        (
            await session.execute(
                select(func.count())
                .select_from(BatchFlag)
                .where(
                    col(BatchFlag.batch_id) == batch_id,
                    col(BatchFlag.status) == FlagStatus.open,
                    col(BatchFlag.severity) == "block",
                )
            )
        ).scalar_one()
    )


async def open_blocking_flag_list(session: AsyncSession, batch_id: int) -> list[dict[str, Any]]:
    """The batch's open blocking flags, oldest first, as a refusal lists them."""
    rows = (
        await session.execute(
            select(BatchFlag)
            .where(
                col(BatchFlag.batch_id) == batch_id,
                col(BatchFlag.status) == FlagStatus.open,
                col(BatchFlag.severity) == "block",
            )
            .order_by(col(BatchFlag.id))
        )
    ).scalars()
    return [{"id": f.id, "code": f.code, "message": f.message, "scan_id": f.scan_id} for f in rows]


async def bom_progress(session: AsyncSession, batch: Batch) -> list[BomLinePublic]:
    """Each BOM line, planned against consumed: one query of the batch's consumption by type
    and step, however many lines."""
    bom = await cache.bom(session, batch.id or 0)
    if not bom:
        return []
    used = (
        await session.execute(
            select(col(Lot.component_type_id), col(Scan.step), func.sum(col(Scan.quantity)))
            .join(Lot, col(Lot.id) == col(Scan.lot_id))
            .where(
                col(Scan.batch_id) == batch.id,
                col(Scan.outcome) == ACCEPTED,
                col(Scan.reversed_at).is_(None),
            )
            .group_by(col(Lot.component_type_id), col(Scan.step))
        )
    ).all()
    lines: list[BomLinePublic] = []
    for step, type_id, quantity in bom:
        consumed = sum(
            int(total)
            for used_type, used_step, total in used
            if used_type == type_id and (step is None or used_step in (None, step))
        )
        lines.append(
            BomLinePublic(
                step=step,
                component_type=await cache.type_code_of(session, type_id),
                quantity=quantity,
                consumed=consumed,
                remaining=max(quantity - consumed, 0),
            )
        )
    return lines


async def public(session: AsyncSession, batch: Batch) -> BatchPublic:
    lines = await bom_progress(session, batch)
    return BatchPublic.model_validate(
        {
            **batch.model_dump(),
            "bom": lines,
            "open_blocking_flags": await open_blocking_flags(session, batch.id or 0),
        }
    )


async def snapshot(session: AsyncSession, batch: Batch) -> dict[str, Any] | None:
    return audit.snapshot(await public(session, batch))


async def list_batches(
    session: AsyncSession, *, status: BatchStatus | None, limit: int, offset: int
) -> tuple[Sequence[Batch], int]:
    conditions = [col(Batch.status) == status] if status else []
    total = (
        await session.execute(select(func.count()).select_from(Batch).where(*conditions))
    ).scalar_one()
    rows = (
        (
            await session.execute(
                select(Batch)
                .where(*conditions)
                .order_by(col(Batch.id).desc())
                .limit(limit)
                .offset(offset)
            )
        )
        .scalars()
        .all()
    )
    return rows, total


async def create(session: AsyncSession, actor: User, data: BatchCreate) -> Batch:
    lines: list[tuple[str | None, ComponentType, int]] = []
    for index, line in enumerate(data.bom or []):
        component_type = await catalog.referenced(
            session, line.component_type, field=f"bom.{index}.component_type"
        )
        lines.append((line.step, component_type, line.quantity))
    if (
        await session.execute(
            select(col(Batch.id)).where(col(Batch.batch_number) == data.batch_number)
        )
    ).first():
        raise AlreadyExists(f"Batch number '{data.batch_number}' is taken.")
    batch = Batch(
        batch_number=data.batch_number,
        product=data.product,
        coi=data.coi,
        status=BatchStatus.planned,
        created_at=utcnow(),
        created_by=actor.username,
    )
    session.add(batch)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise AlreadyExists(f"Batch number '{data.batch_number}' is taken.") from exc
    for step, component_type, quantity in lines:
        session.add(
            BomLine(
                batch_id=batch.id or 0,
                step=step,
                component_type_id=component_type.id or 0,
                quantity=quantity,
            )
        )
    await session.flush()
    await audit.append(
        session,
        actor=actor.username,
        action="batch.create",
        entity_type="batch",
        entity_id=batch.batch_number,
        after=await snapshot(session, batch),
    )
    return batch


async def start(session: AsyncSession, actor: User, batch_number: str) -> Batch:
    batch = await get(session, batch_number, for_update=True)
    if batch.status != BatchStatus.planned:
        raise Conflict(
            f"Batch '{batch_number}' is {batch.status}; only a planned batch starts.",
            code="ILLEGAL_TRANSITION",
        )
    async with audit.changing(
        session,
        lambda: snapshot(session, batch),
        actor=actor.username,
        action="batch.start",
        entity_type="batch",
        entity_id=batch.batch_number,
    ):
        batch.status = BatchStatus.in_progress
        batch.started_at = utcnow()
    return batch


async def bom_shortfalls(session: AsyncSession, batch: Batch) -> list[dict[str, Any]]:
    """BOM lines not yet fully consumed, with what was consumed."""
    return [
        {
            "step": line.step,
            "component_type": line.component_type,
            "quantity": line.quantity,
            "consumed": line.consumed,
        }
        for line in await bom_progress(session, batch)
        if line.consumed < line.quantity
    ]


def consumed_of(batch_id: Any, type_id: Any, step: str | None) -> Select[int]:
    """What the batch has consumed of a type (at a step, when given, and without one),
    counting accepted, unreversed scans; the ids may be columns of an enclosing query (the
    scan's one read)."""
    used = aliased(Lot)
    conditions = [
        col(Scan.batch_id) == batch_id,
        col(Scan.outcome) == ACCEPTED,
        col(Scan.reversed_at).is_(None),
        col(Scan.lot_id).in_(
            select(col(used.id))
            .where(col(used.component_type_id) == type_id)
            .correlate_except(used)
        ),
    ]
    if step is not None:
        # A scan without a step counts against any line of its type, as the line check lets it.
        conditions.append(or_(col(Scan.step) == bindparam("step"), col(Scan.step).is_(None)))
    total: Select[int] = select(func.coalesce(func.sum(col(Scan.quantity)), 0))
    return total.where(*conditions)


async def consumed_quantity(
    session: AsyncSession, batch_id: int, type_id: int, step: str | None
) -> int:
    """`consumed_of` one batch and type."""
    query = consumed_of(batch_id, type_id, step)
    return int((await session.execute(query, {"step": step})).scalar_one())


async def complete(
    session: AsyncSession, actor: User, batch_number: str, data: BatchComplete
) -> Batch:
    batch = await get(session, batch_number, for_update=True)
    signer = await sign(session, actor, data.signature)
    if batch.status != BatchStatus.in_progress:
        raise Conflict(
            f"Batch '{batch_number}' is {batch.status}; only a batch in progress completes.",
            code="ILLEGAL_TRANSITION",
        )
    flags = await open_blocking_flag_list(session, batch.id or 0)
    if flags:
        raise Conflict(
            f"Batch '{batch_number}' has {len(flags)} open blocking flag(s) ("
            + ", ".join(f"flag {f['id']} {f['code']}" for f in flags)
            + "); QA must resolve them before completion.",
            code="OPEN_FLAGS",
            open_flags=flags,
        )
    short = await bom_shortfalls(session, batch)
    if short and data.justification is None:
        listed = "; ".join(
            f"{s['component_type']}{' at ' + s['step'] if s['step'] else ''}: "
            f"{s['consumed']} of {s['quantity']}"
            for s in short
        )
        raise Conflict(
            f"Batch '{batch_number}' has BOM lines not fully consumed ({listed}); "
            "consume them or complete with a justification.",
            code="BOM_INCOMPLETE",
            lines=short,
        )
    async with audit.changing(
        session,
        lambda: snapshot(session, batch),
        actor=actor.username,
        action="batch.complete",
        entity_type="batch",
        entity_id=batch.batch_number,
        reason=data.justification,
    ) as change:
        batch.status = BatchStatus.completed
        batch.ended_at = utcnow()
        batch.completion = {"justification": data.justification, "bom_shortfalls": short}
        seal = await change.seal(signer)
        batch.completion = {**batch.completion, "signature": seal}
    return batch


async def abort(session: AsyncSession, actor: User, batch_number: str, data: BatchAbort) -> Batch:
    batch = await get(session, batch_number, for_update=True)
    signer = await sign(session, actor, data.signature)
    if batch.status not in (BatchStatus.planned, BatchStatus.in_progress):
        raise Conflict(
            f"Batch '{batch_number}' is {batch.status}; only a planned or running "
            "batch can be aborted.",
            code="ILLEGAL_TRANSITION",
        )
    async with audit.changing(
        session,
        lambda: snapshot(session, batch),
        actor=actor.username,
        action="batch.abort",
        entity_type="batch",
        entity_id=batch.batch_number,
        reason=data.reason,
    ) as change:
        batch.status = BatchStatus.aborted
        batch.ended_at = utcnow()
        seal = await change.seal(signer)
        batch.completion = {"abort_reason": data.reason, "signature": seal}
    return batch


async def add_output(
    session: AsyncSession, actor: User, batch_number: str, data: BatchOutput, today: date
) -> Lot:
    """A lot made by this batch, quarantined; later batches consume it like any lot."""
    batch = await get(session, batch_number, for_update=True)
    if batch.status not in (BatchStatus.in_progress, BatchStatus.completed):
        raise Conflict(
            f"Batch '{batch_number}' is {batch.status}; outputs are recorded for a "
            "batch in progress or completed.",
            code="BATCH_NOT_ACTIVE",
        )
    component_type = await catalog.referenced(session, data.component_type)
    receipt = LotCreate(
        component_type=component_type.code,
        supplier_lot=data.supplier_lot,
        quantity=data.quantity,
        expiry_date=data.expiry_date,
        coa_ref=data.coa_ref,
        supplier="in-house",
    )
    lot, _ = await receiving.receive_from_batch(
        session, actor, component_type, receipt, today, batch
    )
    return lot
