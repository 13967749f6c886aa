"""Supplier recalls: recall every receipt of a supplier lot, block its future receipts, and
record the impact."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.lots import Lot, LotStatus, Recall, RecallCreate, RecallPublic
from models.units import Unit, UnitStatus
from models.users import User
from services import cache
from services.dock import catalog
from services.errors import Conflict, NotFound
from services.genealogy import forward
from services.locks import locked
from services.quality import lot_status
from services.trust import audit
from services.trust.signatures import sign


async def public(session: AsyncSession, recall: Recall) -> RecallPublic:
    return RecallPublic.model_validate(
        {
            **recall.model_dump(),
            "component_type": await cache.type_code_of(session, recall.component_type_id),
        }
    )


async def create(session: AsyncSession, actor: User, data: RecallCreate) -> Recall:
    component_type = await catalog.referenced(session, data.component_type)
    # Every receipt of the supplier lot, locked in id order and re-read before anything is
    # decided (services.locks); the signature counts its attempt on the user row after them.
    affected = (
        (
            await session.execute(
                locked(
                    select(Lot)
                    .where(
                        col(Lot.component_type_id) == component_type.id,
                        col(Lot.supplier_lot) == data.supplier_lot,
                    )
                    .order_by(col(Lot.id))
                )
            )
        )
        .scalars()
        .all()
    )
    signer = await sign(session, actor, data.signature)
    existing = (
        await session.execute(
            select(Recall).where(
                col(Recall.component_type_id) == component_type.id,
                col(Recall.supplier_lot) == data.supplier_lot,
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict(
            f"Supplier lot '{data.supplier_lot}' of '{component_type.code}' is recalled "
            f"already (recall {existing.id}, notice {existing.notice_ref}).",
            code="ALREADY_RECALLED",
            recall=existing.id,
        )
    impact_lots: list[dict[str, Any]] = []
    for lot in affected:
        impact_lots.append({"id": lot.id, "code": lot.code, "status_before": lot.status})
        if lot.status != LotStatus.recalled:
            await lot_status.apply_status(
                session,
                actor,
                signer,
                lot,
                LotStatus.recalled,
                f"Recall {data.notice_ref}: {data.reason}",
            )
    units_available = await _available_units(session, [lot.id or 0 for lot in affected])
    recall = Recall(
        component_type_id=component_type.id or 0,
        supplier_lot=data.supplier_lot,
        notice_ref=data.notice_ref,
        reason=data.reason,
        created_at=utcnow(),
        created_by=actor.username,
        signature={},
        lots=[lot.id or 0 for lot in affected],
        impact={
            "lots": impact_lots,
            "batches": await _batches_affected(session, affected),
            "units_available": units_available,
        },
    )
    session.add(recall)
    await session.flush()
    record = audit.snapshot(await public(session, recall))
    recall.signature = signer.seal(record)
    await session.flush()
    await audit.append(
        session,
        actor=actor.username,
        action="recall.create",
        entity_type="recall",
        entity_id=recall.id or 0,
        after=audit.snapshot(await public(session, recall)),
        reason=data.reason,
        signature=recall.signature,
    )
    return recall


async def preview(session: AsyncSession, component_type: str, supplier_lot: str) -> dict[str, Any]:
    """What a recall of this supplier lot would touch, read before anyone signs it: the same
    lots, batches at any depth and available units that `create` records as its impact."""
    found = await catalog.referenced(session, component_type)
    affected = (
        (
            await session.execute(
                select(Lot)
                .where(
                    col(Lot.component_type_id) == found.id,
                    col(Lot.supplier_lot) == supplier_lot,
                )
                .order_by(col(Lot.id))
            )
        )
        .scalars()
        .all()
    )
    return {
        "lots": [{"id": lot.id, "code": lot.code, "status": lot.status} for lot in affected],
        "batches": await _batches_affected(session, affected),
        "units_available": await _available_units(session, [lot.id or 0 for lot in affected]),
    }


async def _batches_affected(session: AsyncSession, affected: Sequence[Lot]) -> list[dict[str, Any]]:
    """Every batch that used any recalled lot, at any depth, with its COI and shortest path."""
    found: dict[int, forward.Use] = {}
    for lot in affected:
        for use in await forward.where_used(session, lot.id or 0):
            if use.batch_id not in found or use.depth < found[use.batch_id].depth:
                found[use.batch_id] = use
    return [
        {
            "batch": use.batch_number,
            "status": use.status,
            "coi": use.coi,
            "depth": use.depth,
            "path": use.path,
        }
        for use in sorted(found.values(), key=lambda use: (use.depth, use.batch_id))
    ]


async def _available_units(session: AsyncSession, lot_ids: list[int]) -> list[str]:
    if not lot_ids:
        return []
    return list(
        (
            await session.execute(
                select(col(Unit.barcode))
                .where(col(Unit.lot_id).in_(lot_ids), col(Unit.status) == UnitStatus.available)
                .order_by(col(Unit.barcode))
            )
        )
        .scalars()
        .all()
    )


async def get(session: AsyncSession, recall_id: int) -> Recall:
    recall = await session.get(Recall, recall_id)
    if recall is None:
        raise NotFound(f"Recall {recall_id} does not exist.", code="RECALL_NOT_FOUND")
    return recall


async def list_recalls(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[Sequence[Recall], int]:
    total = (await session.execute(select(func.count()).select_from(Recall))).scalar_one()
    rows = (
        (
            await session.execute(
                select(Recall).order_by(col(Recall.id).desc()).limit(limit).offset(offset)
            )
        )
        .scalars()
        .all()
    )
    return rows, total
