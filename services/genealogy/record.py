"""The batch component record a QA reviewer signs off: the backward trace, and around it the
batch's life with its signatures, the BOM planned against consumed, the lots with their names,
GTIN, CoA and who released them, every flag and deviation, and every blocked attempt."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.audit import AuditEvent
from models.batches import Batch, BatchFlag, FlagPublic
from models.catalog import ComponentType
from models.genealogy import BatchRecord, BlockedAttempt, LifecycleEvent, RecordComponent
from models.lots import Lot
from models.scans import Scan
from models.units import Unit
from models.users import User
from services.genealogy import backward
from services.line import batches

LIFECYCLE = {
    "batch.create": "created",
    "batch.start": "started",
    "batch.complete": "completed",
    "batch.abort": "aborted",
}


async def build(session: AsyncSession, batch: Batch, zone: ZoneInfo) -> BatchRecord:
    trace = await backward.trace(session, batch)
    lifecycle = await _lifecycle(session, batch)
    components = await _components(session, {item["lot"] for item in trace["items"]})
    batch_flags = await _flags(session, batch)
    blocked = await _blocked(session, batch)
    names = {e.by for e in lifecycle} | {i["operator"] for i in trace["items"]}
    names |= {b.operator for b in blocked} | {f["resolved_by"] for f in batch_flags}
    names |= {c.released_by["username"] for c in components if c.released_by}
    names |= {b.override["by"] for b in blocked if b.override}
    people = await _full_names(session, {n for n in names if n})
    for event in lifecycle:
        event.full_name = people.get(event.by or "")
    for attempt in blocked:
        attempt.operator_name = people.get(attempt.operator)
    completion = batch.completion or {}
    return BatchRecord.model_validate(
        {
            **trace,
            "zone": zone.key,
            "lifecycle": lifecycle,
            "justification": completion.get("justification"),
            "bom": [line.model_dump() for line in await batches.bom_progress(session, batch)],
            "components": components,
            "flags": batch_flags,
            "blocked": blocked,
            "people": people,
        }
    )


async def _lifecycle(session: AsyncSession, batch: Batch) -> list[LifecycleEvent]:
    events = (
        await session.execute(
            select(AuditEvent)
            .where(
                col(AuditEvent.entity_type) == "batch",
                col(AuditEvent.entity_id) == batch.batch_number,
                col(AuditEvent.action).in_(list(LIFECYCLE)),
            )
            .order_by(col(AuditEvent.id))
        )
    ).scalars()
    return [
        LifecycleEvent(
            event=LIFECYCLE[e.action],
            at=e.at,
            by=e.actor,
            full_name=None,
            reason=e.reason,
            signature=e.signature,
        )
        for e in events
    ]


async def _components(session: AsyncSession, lot_ids: set[int]) -> list[RecordComponent]:
    if not lot_ids:
        return []
    rows = (
        await session.execute(
            select(Lot, ComponentType)
            .join(ComponentType, col(ComponentType.id) == col(Lot.component_type_id))
            .where(col(Lot.id).in_(sorted(lot_ids)))
            .order_by(col(Lot.id))
        )
    ).all()
    found: list[RecordComponent] = []
    for lot, type_ in rows:
        signature = (lot.release or {}).get("signature")
        found.append(
            RecordComponent(
                lot=lot.id or 0,
                lot_code=lot.code,
                component_type=type_.code,
                name=type_.name,
                gtin=type_.gtin,
                supplier=lot.supplier,
                supplier_lot=lot.supplier_lot,
                coa_ref=lot.coa_ref,
                expiry_date=lot.expiry_date,
                status_now=lot.status,
                released_by=signature,
            )
        )
    return found


async def _flags(session: AsyncSession, batch: Batch) -> list[dict[str, Any]]:
    """The batch's flags, oldest first, as `GET /batches/{n}/flags` shows them."""
    rows = (
        await session.execute(
            select(BatchFlag, Lot.code, Unit.barcode)  # type: ignore[call-overload]
            .outerjoin(Lot, col(Lot.id) == col(BatchFlag.lot_id))
            .outerjoin(Unit, col(Unit.id) == col(BatchFlag.unit_id))
            .where(col(BatchFlag.batch_id) == batch.id)
            .order_by(col(BatchFlag.id))
        )
    ).all()
    return [
        FlagPublic.model_validate(
            {
                **flag.model_dump(),
                "batch": batch.batch_number,
                "lot_code": lot_code,
                "unit": barcode,
            }
        ).model_dump(mode="json")
        for flag, lot_code, barcode in rows
    ]


async def _blocked(session: AsyncSession, batch: Batch) -> list[BlockedAttempt]:
    """Every scan into the batch that the line refused when it was made (later overridden
    ones too, with their override)."""
    rows = (
        await session.execute(
            select(Scan)
            .where(col(Scan.batch_id) == batch.id, col(Scan.response_status) != 201)
            .order_by(col(Scan.id))
        )
    ).scalars()
    return [
        BlockedAttempt(
            scan_id=s.id or 0,
            at=s.at,
            operator=s.actor,
            operator_name=None,
            barcode=s.barcode,
            step=s.step,
            station=s.station,
            flags=s.flags,
            override=s.override,
        )
        for s in rows
    ]


async def _full_names(session: AsyncSession, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    rows = await session.execute(
        select(col(User.username), col(User.full_name)).where(
            col(User.username).in_(sorted(usernames))
        )
    )
    return {username: full_name for username, full_name in rows.all()}


def as_document(record: BatchRecord) -> dict[str, Any]:
    return record.model_dump(mode="json")
