"""Batch flags: raised on every batch that used a lot whose status changed after use, recorded
as resolved deviations by overrides, and resolved by QA with a signature."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.batches import Batch, BatchFlag, FlagPublic, FlagStatus
from models.lots import Lot
from models.units import Unit
from models.users import User
from services import cache
from services.errors import Conflict, Invalid, NotFound
from services.genealogy import forward
from services.locks import locked
from services.trust import audit
from services.trust.signatures import Signer, sign

AFTER_USE = "LOT_STATUS_CHANGED_AFTER_USE"


async def public(session: AsyncSession, flag: BatchFlag) -> FlagPublic:
    lot_code = unit = None
    if flag.lot_id is not None:
        lot_code = (
            await session.execute(select(col(Lot.code)).where(col(Lot.id) == flag.lot_id))
        ).scalar_one()
    if flag.unit_id is not None:
        unit = (
            await session.execute(select(col(Unit.barcode)).where(col(Unit.id) == flag.unit_id))
        ).scalar_one()
    batch = await cache.batch_number_of(session, flag.batch_id)
    return _shaped(flag, batch, lot_code, unit)


def _shaped(flag: BatchFlag, batch: str, lot_code: str | None, unit: str | None) -> FlagPublic:
    return FlagPublic.model_validate(
        {**flag.model_dump(), "id": flag.id, "batch": batch, "lot_code": lot_code, "unit": unit}
    )


async def snapshot(session: AsyncSession, flag: BatchFlag) -> dict[str, Any] | None:
    return audit.snapshot(await public(session, flag))


async def raise_after_use(
    session: AsyncSession, actor: User, lot: Lot, signer: Signer
) -> list[dict[str, Any]]:
    """Open a blocking flag on every batch that used `lot` at any depth, in any status.

    The caller holds the lot's lock (services.locks): the walk below starts after it, so it sees
    every use committed before. The flags and their audit events are written as one INSERT each,
    however many batches used the lot."""
    uses = await forward.where_used(session, lot.id or 0)
    if not uses:
        return []
    already = set(
        (
            await session.execute(
                select(col(BatchFlag.batch_id)).where(
                    col(BatchFlag.lot_id) == lot.id,
                    col(BatchFlag.code) == AFTER_USE,
                    col(BatchFlag.status) == FlagStatus.open,
                )
            )
        ).scalars()
    )
    now = utcnow()
    new = [use for use in uses if use.batch_id not in already]
    opened = [
        BatchFlag(
            batch_id=use.batch_id,
            code=AFTER_USE,
            severity="block",
            status=FlagStatus.open,
            message=f"Lot '{lot.code}' became {lot.status} after batch "
            f"'{use.batch_number}' used it ({' -> '.join(use.path)}).",
            lot_id=lot.id,
            raised_at=now,
        )
        for use in new
    ]
    session.add_all(opened)
    await session.flush()
    raised: list[dict[str, Any]] = []
    events: list[audit.Event] = []
    for flag, use in zip(opened, new, strict=True):
        after = audit.snapshot(
            FlagPublic.model_validate(
                {
                    **flag.model_dump(),
                    "id": flag.id,
                    "batch": use.batch_number,
                    "lot_code": lot.code,
                    "unit": None,
                }
            )
        )
        events.append(
            audit.Event(
                action="flag.raise",
                entity_type="flag",
                entity_id=flag.id or 0,
                after=after,
                signature=signer.seal(after),
            )
        )
        raised.append(after or {})
    await audit.append_many(session, actor=actor.username, events=events)
    return raised


async def get(session: AsyncSession, flag_id: int) -> BatchFlag:
    flag = await session.get(BatchFlag, flag_id)
    if flag is None:
        raise NotFound(f"Flag {flag_id} does not exist.", code="FLAG_NOT_FOUND")
    return flag


async def list_flags(
    session: AsyncSession,
    *,
    status: FlagStatus | None,
    batch: str | None,
    code: str | None,
    limit: int,
    offset: int,
) -> tuple[list[FlagPublic], int]:
    """A page of flags, newest first, as the API shows them: one query for the page, with the
    batch number, lot code and unit barcode joined (two queries per flag before)."""
    conditions: list[Any] = []
    if status is not None:
        conditions.append(col(BatchFlag.status) == status)
    if batch is not None:
        conditions.append(
            col(BatchFlag.batch_id).in_(
                select(col(Batch.id)).where(col(Batch.batch_number) == batch)
            )
        )
    if code is not None:
        conditions.append(col(BatchFlag.code) == code)
    total = (
        await session.execute(select(func.count()).select_from(BatchFlag).where(*conditions))
    ).scalar_one()
    rows = await session.execute(
        select(BatchFlag, col(Batch.batch_number), col(Lot.code), col(Unit.barcode))
        .join(Batch, col(Batch.id) == col(BatchFlag.batch_id))
        .outerjoin(Lot, col(Lot.id) == col(BatchFlag.lot_id))
        .outerjoin(Unit, col(Unit.id) == col(BatchFlag.unit_id))
        .where(*conditions)
        .order_by(col(BatchFlag.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return [_shaped(flag, batch, lot_code, unit) for flag, batch, lot_code, unit in rows], total


async def resolve(
    session: AsyncSession, actor: User, flag_ids: list[int], reason: str, signature: Any
) -> list[BatchFlag]:
    """Resolve open flags under one investigation and one signature: all of them, or none."""
    if len(set(flag_ids)) != len(flag_ids):
        raise Invalid("A flag id is listed twice.", code="VALIDATION_ERROR")
    found = {
        flag.id: flag
        for flag in (
            await session.execute(
                locked(
                    select(BatchFlag)
                    .where(col(BatchFlag.id).in_(flag_ids))
                    .order_by(col(BatchFlag.id))
                )
            )
        ).scalars()
    }
    missing = [i for i in flag_ids if i not in found]
    if missing:
        raise NotFound(f"No flag with id {', '.join(map(str, missing))}.", code="FLAG_NOT_FOUND")
    signer = await sign(session, actor, signature)
    closed = [i for i in flag_ids if found[i].status != FlagStatus.open]
    if closed:
        raise Conflict(
            f"Flag {', '.join(map(str, closed))} is resolved already.", code="FLAG_RESOLVED"
        )
    now = utcnow()
    return [await _resolve(session, actor, signer, found[i], reason, now) for i in flag_ids]


async def _resolve(
    session: AsyncSession,
    actor: User,
    signer: Signer,
    flag: BatchFlag,
    reason: str,
    now: datetime,
) -> BatchFlag:
    async with audit.changing(
        session,
        lambda: snapshot(session, flag),
        actor=actor.username,
        action="flag.resolve",
        entity_type="flag",
        entity_id=flag.id or 0,
        reason=reason,
    ) as change:
        flag.status = FlagStatus.resolved
        flag.resolved_at = now
        flag.resolved_by = actor.username
        flag.resolution = {"reason": reason}
        seal = await change.seal(signer)
        flag.resolution = {"reason": reason, "signature": seal}
    return flag


async def record_deviations(
    session: AsyncSession,
    actor: User,
    *,
    batch_id: int,
    scan_id: int,
    lot_id: int | None,
    unit_id: int | None,
    blocking: list[dict[str, str]],
    deviation_ref: str,
    reason: str,
    seal: dict[str, Any],
) -> list[BatchFlag]:
    """An override's blocking flags, recorded on the batch as resolved deviations."""
    now = utcnow()
    recorded: list[BatchFlag] = []
    for item in blocking:
        flag = BatchFlag(
            batch_id=batch_id,
            code=item["code"],
            severity="block",
            status=FlagStatus.resolved,
            message=item["message"],
            lot_id=lot_id,
            unit_id=unit_id,
            scan_id=scan_id,
            deviation_ref=deviation_ref,
            raised_at=now,
            resolved_at=now,
            resolved_by=actor.username,
            resolution={"reason": reason, "signature": seal},
        )
        session.add(flag)
        await session.flush()
        await audit.append(
            session,
            actor=actor.username,
            action="flag.raise",
            entity_type="flag",
            entity_id=flag.id or 0,
            after=await snapshot(session, flag),
            reason=reason,
            signature=seal,
        )
        recorded.append(flag)
    return recorded
