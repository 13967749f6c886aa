"""Lots after receipt: reading, the recall check at receipt, signed corrections, write-offs and
reconciliation. QA's status machine is `services.quality.lot_status`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import identifier, utcnow
from models.catalog import ComponentType
from models.labels import LabelCounts
from models.lots import (
    Lot,
    LotAdjust,
    LotAdjustment,
    LotChanges,
    LotPublic,
    LotStatus,
    Recall,
    Reconciliation,
)
from models.scans import ACCEPTED, Scan
from models.units import AssemblyPart, Unit
from models.users import Role, User
from services import cache
from services.dock import labelling
from services.errors import Conflict, Forbidden, Invalid, NotFound
from services.locks import locked
from services.trust import audit
from services.trust.signatures import sign


async def refuse_recalled(
    session: AsyncSession, component_type: ComponentType, supplier_lot: str
) -> None:
    """A supplier lot under a recall is never received again. Compared in the normalised form
    every typed or scanned supplier lot is stored in, so a look-alike (a trailing space, a
    full-width letter) is the same lot; a value that cannot be normalised is refused."""
    try:
        supplier_lot = identifier(supplier_lot)
    except ValueError as exc:
        raise Invalid(
            f"Supplier lot {supplier_lot!r} {exc}.",
            code="VALIDATION_ERROR",
            errors=[{"field": "supplier_lot", "message": str(exc)}],
        ) from exc
    recall = (
        await session.execute(
            select(Recall).where(
                col(Recall.component_type_id) == component_type.id,
                col(Recall.supplier_lot) == supplier_lot,
            )
        )
    ).scalar_one_or_none()
    if recall is not None:
        raise Conflict(
            f"Supplier lot '{supplier_lot}' of '{component_type.code}' is under recall "
            f"{recall.notice_ref} (recall {recall.id}); it cannot be received or used.",
            code="SUPPLIER_LOT_RECALLED",
            recall=recall.id,
        )


async def public(
    session: AsyncSession, lot: Lot, *, labels: LabelCounts | None = None
) -> LotPublic:
    """The lot as the API shows it, with the reconciliation of its printed labels (read here
    unless the caller read it for a whole page)."""
    if labels is None:
        labels = await labelling.counts(session, lot.id or 0)
    return await _public(session, lot, labels)


async def public_page(session: AsyncSession, rows: Sequence[Lot]) -> list[LotPublic]:
    counts = await labelling.counts_of(session, [lot.id or 0 for lot in rows])
    return [await _public(session, lot, counts[lot.id or 0]) for lot in rows]


async def snapshot(session: AsyncSession, lot: Lot) -> dict[str, Any] | None:
    """The lot as audited: its own fields. Label counts are not the lot's state (each label
    has its own audit events), so the snapshot leaves them out."""
    return (await _public(session, lot, LabelCounts())).model_dump(mode="json", exclude={"labels"})


async def _public(session: AsyncSession, lot: Lot, labels: LabelCounts) -> LotPublic:
    source = lot.source_batch_id
    return LotPublic.model_validate(
        {
            **lot.model_dump(),
            "labels": labels,
            "component_type": await cache.type_code_of(session, lot.component_type_id),
            "source_batch": await cache.batch_number_of(session, source) if source else None,
        }
    )


async def get(session: AsyncSession, lot_id: int, *, for_update: bool = False) -> Lot:
    """The lot; `for_update` locks its row and re-reads it (see services.locks)."""
    query = select(Lot).where(col(Lot.id) == lot_id)
    if for_update:
        query = locked(query)
    lot = (await session.execute(query)).scalar_one_or_none()
    if lot is None:
        raise NotFound(f"Lot {lot_id} does not exist.", code="LOT_NOT_FOUND")
    return lot


async def list_lots(
    session: AsyncSession,
    *,
    status: LotStatus | None,
    component_type: str | None,
    supplier_lot: str | None,
    supplier_lot_contains: str | None = None,
    expiring_within_days: int | None,
    today: date,
    limit: int,
    offset: int,
) -> tuple[Sequence[Lot], int]:
    """Lots matching every filter, soonest expiry first (first expired, first out)."""
    conditions: list[Any] = []
    if status is not None:
        conditions.append(col(Lot.status) == status)
    if component_type is not None:
        conditions.append(
            col(Lot.component_type_id).in_(
                select(col(ComponentType.id)).where(col(ComponentType.code) == component_type)
            )
        )
    if supplier_lot is not None:
        conditions.append(col(Lot.supplier_lot) == supplier_lot)
    if supplier_lot_contains is not None:
        # lower() LIKE lower(...) with % and _ escaped: the same on SQLite and PostgreSQL.
        conditions.append(col(Lot.supplier_lot).icontains(supplier_lot_contains, autoescape=True))
    if expiring_within_days is not None:
        conditions.append(
            col(Lot.expiry_date).between(today, today + timedelta(days=expiring_within_days))
        )
    total = (
        await session.execute(select(func.count()).select_from(Lot).where(*conditions))
    ).scalar_one()
    rows = (
        (
            await session.execute(
                select(Lot)
                .where(*conditions)
                .order_by(
                    col(Lot.expiry_date).is_(None),
                    col(Lot.expiry_date),
                    col(Lot.received_at),
                    col(Lot.id),
                )
                .limit(limit)
                .offset(offset)
            )
        )
        .scalars()
        .all()
    )
    return rows, total


async def correct(
    session: AsyncSession,
    actor: User,
    lot_id: int,
    changes: LotChanges,
    reason: str,
    signature: Any,
) -> Lot:
    """A signed correction of receipt data; warehouse only while the lot is quarantined."""
    lot = await get(session, lot_id, for_update=True)
    given: dict[str, Any] = {name: getattr(changes, name) for name in changes.model_fields_set}
    if not given:
        raise Invalid("Name at least one field to change.", code="NO_CHANGES")
    if actor.role == Role.warehouse and lot.status != LotStatus.quarantined:
        raise Forbidden(
            f"Lot '{lot.code}' is {lot.status}; the warehouse may correct a lot only while it "
            "is quarantined. Ask QA.",
            code="LOT_NOT_QUARANTINED",
        )
    if "supplier_lot" in given and given["supplier_lot"] is None:
        raise Invalid(
            "supplier_lot cannot be cleared.",
            errors=[{"field": "changes.supplier_lot", "message": "cannot be null"}],
        )
    component_type = await session.get_one(ComponentType, lot.component_type_id)
    if "expiry_date" in given and given["expiry_date"] is None and component_type.has_expiry:
        raise Invalid(
            f"Component type '{component_type.code}' has an expiry; expiry_date cannot be cleared.",
            errors=[{"field": "changes.expiry_date", "message": "required for this type"}],
        )
    signer = await sign(session, actor, signature)
    if "supplier_lot" in given:
        await refuse_recalled(session, component_type, given["supplier_lot"])
    async with audit.changing(
        session,
        lambda: snapshot(session, lot),
        actor=actor.username,
        action="lot.correct",
        entity_type="lot",
        entity_id=lot.id or 0,
        reason=reason,
    ) as change:
        for name, value in given.items():
            setattr(lot, name, value)
        await change.seal(signer)
    return lot


async def adjust(session: AsyncSession, actor: User, lot_id: int, data: LotAdjust) -> Lot:
    """Write stock off a lot-tracked lot (damaged, QC sample, destroyed, returned)."""
    lot = await get(session, lot_id, for_update=True)
    component_type = await session.get_one(ComponentType, lot.component_type_id)
    signer = await sign(session, actor, data.signature)
    if component_type.tracking != "lot":
        raise Conflict(
            f"Lot '{lot.code}' is of serial-tracked type '{component_type.code}'; discard its "
            "units one by one instead.",
            code="NOT_LOT_TRACKED",
        )
    async with audit.changing(
        session,
        lambda: snapshot(session, lot),
        actor=actor.username,
        action="lot.adjust",
        entity_type="lot",
        entity_id=lot.id or 0,
        reason=f"{data.reason_code}: {data.quantity} written off. {data.reason}",
    ) as change:
        taken = (
            await session.execute(
                update(Lot)
                .where(col(Lot.id) == lot.id, col(Lot.quantity_left) >= data.quantity)
                .values(quantity_left=col(Lot.quantity_left) - data.quantity)
            )
        ).rowcount  # type: ignore[attr-defined]
        if not taken:
            raise Conflict(
                f"Lot '{lot.code}' has {lot.quantity_left} left; {data.quantity} cannot be "
                "written off.",
                code="INSUFFICIENT_QUANTITY",
            )
        await session.refresh(lot)
        session.add(
            LotAdjustment(
                lot_id=lot.id or 0,
                quantity=data.quantity,
                reason_code=data.reason_code,
                reason=data.reason,
                at=utcnow(),
                by=actor.username,
                signature=await change.seal(signer),
            )
        )
    return lot


async def reconciliation(session: AsyncSession, lot: Lot) -> Reconciliation:
    """Received = consumed + discarded + on hand, each counted from its own records."""
    written_off = await _sum(
        select(func.coalesce(func.sum(LotAdjustment.quantity), 0)).where(
            col(LotAdjustment.lot_id) == lot.id
        ),
        session,
    )
    unit_counts = dict(
        (
            await session.execute(
                select(col(Unit.status), func.count())
                .where(col(Unit.lot_id) == lot.id)
                .group_by(col(Unit.status))
            )
        ).all()
    )
    # Lot-tracked stock is consumed by scans and built into assemblies by quantity.
    scanned = await _sum(
        select(func.coalesce(func.sum(col(Scan.quantity)), 0)).where(
            col(Scan.lot_id) == lot.id,
            col(Scan.unit_id).is_(None),
            col(Scan.outcome) == ACCEPTED,
            col(Scan.reversed_at).is_(None),
        ),
        session,
    )
    built_in = await _sum(
        select(func.coalesce(func.sum(col(AssemblyPart.quantity)), 0)).where(
            col(AssemblyPart.part_lot_id) == lot.id, col(AssemblyPart.part_unit_id).is_(None)
        ),
        session,
    )
    return Reconciliation(
        lot=lot.id or 0,
        lot_code=lot.code,
        received=lot.quantity_received,
        consumed=int(unit_counts.get("consumed", 0)) + scanned + built_in,
        discarded=written_off + int(unit_counts.get("discarded", 0)),
        on_hand=lot.quantity_left,
    )


async def _sum(query: Select[Any], session: AsyncSession) -> int:
    return int((await session.execute(query)).scalar_one())
