"""Label reconciliation (21 CFR 211.125, 211.130): every printed label is issued against its lot.

A print job makes one `label` row per label, pending until the job's bytes were taken by the
printer (or the PDF sheet was made); then each is issued. An issued label is outstanding until
the warehouse says it was applied (stuck on the item: by label id, by unit, or a count of lot
labels) or voids it with a signature (spoiled, surplus, destroyed). Per lot:
issued = applied + voided + outstanding, each counted from the rows.

Applied is the warehouse's word, not inferred from scans: a label goes on a box or a bag at the
dock, long before (and whether or not) the line scans it, and a lot label is one of many
identical copies that no scan tells apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.labels import (
    Label,
    LabelCounts,
    LabelPublic,
    LabelSelection,
    LabelVoid,
    LotLabels,
)
from models.lots import Lot
from models.units import Unit
from models.users import User
from services.errors import Conflict, Invalid
from services.trust import audit
from services.trust.signatures import sign

LABEL = Label.__table__  # type: ignore[attr-defined]


async def counts(session: AsyncSession, lot_id: int) -> LabelCounts:
    return (await counts_of(session, [lot_id]))[lot_id]


async def counts_of(session: AsyncSession, lot_ids: Sequence[int]) -> dict[int, LabelCounts]:
    """The label reconciliation of each lot, in one query; zeros for a lot with no labels."""
    found: dict[int, dict[str, int]] = {lot_id: {} for lot_id in lot_ids}
    rows = (
        await session.execute(
            select(col(Label.lot_id), col(Label.status), col(Label.reprint), func.count())
            .where(col(Label.lot_id).in_(lot_ids), col(Label.status) != "pending")
            .group_by(col(Label.lot_id), col(Label.status), col(Label.reprint))
        )
    ).all()
    for lot_id, status, reprint, number in rows:
        tally = found[lot_id]
        tally[status] = tally.get(status, 0) + number
        tally["reprints"] = tally.get("reprints", 0) + (number if reprint else 0)
    return {lot_id: _counts(tally) for lot_id, tally in found.items()}


def _counts(tally: dict[str, int]) -> LabelCounts:
    applied, voided = tally.get("applied", 0), tally.get("voided", 0)
    outstanding = tally.get("issued", 0)
    return LabelCounts(
        issued=applied + voided + outstanding,
        applied=applied,
        voided=voided,
        outstanding=outstanding,
        reprints=tally.get("reprints", 0),
    )


async def lot_labels(session: AsyncSession, lot: Lot) -> LotLabels:
    rows = (
        await session.execute(
            select(Label, col(Unit.barcode))
            .outerjoin(Unit, col(Unit.id) == col(Label.unit_id))
            .where(col(Label.lot_id) == lot.id)
            .order_by(col(Label.id))
        )
    ).all()
    return LotLabels(
        **(await counts(session, lot.id or 0)).model_dump(),
        lot=lot.id or 0,
        lot_code=lot.code,
        labels=[_public(label, barcode) for label, barcode in rows],
    )


def _public(label: Label, barcode: str | None) -> LabelPublic:
    return LabelPublic.model_validate(
        {**label.model_dump(), "unit": barcode, "print_job": label.print_job_id}
    )


async def issue(session: AsyncSession, job_id: int) -> list[int]:
    """The job's pending labels become issued; returns their ids."""
    ids = list(
        (
            await session.execute(
                update(LABEL)
                .where(LABEL.c.print_job_id == job_id, LABEL.c.status == "pending")
                .values(status="issued", issued_at=utcnow())
                .returning(LABEL.c.id)
            )
        )
        .scalars()
        .all()
    )
    return sorted(i for i in ids if i is not None)


async def _select(session: AsyncSession, lot: Lot, selection: LabelSelection) -> list[int]:
    """Ids of the outstanding labels `selection` names; anything else is a conflict."""
    if selection.count is not None:
        ids = list(
            (
                await session.execute(
                    select(col(Label.id))
                    .where(
                        col(Label.lot_id) == lot.id,
                        col(Label.kind) == "lot",
                        col(Label.status) == "issued",
                    )
                    .order_by(col(Label.id))
                    .limit(selection.count)
                )
            )
            .scalars()
            .all()
        )
        if len(ids) < selection.count:
            raise Conflict(
                f"Lot '{lot.code}' has {len(ids)} outstanding lot labels; {selection.count} "
                "were named.",
                code="LABELS_NOT_OUTSTANDING",
            )
        return [i for i in ids if i is not None]
    if selection.units is not None:
        pairs = (
            await session.execute(
                select(col(Unit.barcode), col(Label.id))
                .join(Label, col(Label.unit_id) == col(Unit.id))
                .where(
                    col(Unit.barcode).in_(selection.units),
                    col(Label.lot_id) == lot.id,
                    col(Label.status) == "issued",
                )
            )
        ).all()
        found = {barcode for barcode, _ in pairs}
        missing = [b for b in selection.units if b not in found]
        if missing:
            raise Conflict(
                f"These units of lot '{lot.code}' have no outstanding label: "
                f"{', '.join(missing[:10])}.",
                code="LABELS_NOT_OUTSTANDING",
                units=missing,
            )
        return sorted(label_id for _, label_id in pairs if label_id is not None)
    wanted = list(selection.labels or [])
    rows = (
        await session.execute(
            select(col(Label.id), col(Label.lot_id), col(Label.status)).where(
                col(Label.id).in_(wanted)
            )
        )
    ).all()
    known = {label_id: (lot_id, status) for label_id, lot_id, status in rows}
    elsewhere = [i for i in wanted if i not in known or known[i][0] != lot.id]
    if elsewhere:
        raise Invalid(
            f"Labels {', '.join(map(str, elsewhere[:10]))} are not labels of lot '{lot.code}'.",
            code="LABEL_NOT_IN_LOT",
            errors=[{"field": "labels", "message": "not a label of this lot"}],
        )
    closed = [f"{i} ({known[i][1]})" for i in wanted if known[i][1] != "issued"]
    if closed:
        raise Conflict(
            f"Only outstanding labels can be applied or voided; not {', '.join(closed[:10])}.",
            code="LABELS_NOT_OUTSTANDING",
        )
    return sorted(wanted)


async def _close(
    session: AsyncSession, ids: Sequence[int], values: dict[str, Any], lot: Lot
) -> None:
    """Move `ids` from issued to a final status, in the WHERE: two requests cannot both."""
    moved = (
        await session.execute(
            update(LABEL).where(LABEL.c.id.in_(ids), LABEL.c.status == "issued").values(**values)
        )
    ).rowcount  # type: ignore[attr-defined]
    if moved != len(ids):
        raise Conflict(
            f"Labels of lot '{lot.code}' changed while this request ran; reload and try again.",
            code="LABELS_NOT_OUTSTANDING",
        )


async def apply(session: AsyncSession, actor: User, lot: Lot, selection: LabelSelection) -> None:
    ids = await _select(session, lot, selection)
    await _close(
        session,
        ids,
        {"status": "applied", "applied_at": utcnow(), "applied_by": actor.username},
        lot,
    )
    await audit.append(
        session,
        actor=actor.username,
        action="label.apply",
        entity_type="lot",
        entity_id=lot.id or 0,
        after={"labels": ids, **(await counts(session, lot.id or 0)).model_dump()},
        reason=f"{len(ids)} labels applied.",
    )


async def void(session: AsyncSession, actor: User, lot: Lot, data: LabelVoid) -> None:
    """Void outstanding labels with the actor's signature (destroyed, spoiled or surplus)."""
    ids = await _select(session, lot, data)
    signer = await sign(session, actor, data.signature)
    record = {"lot": lot.id, "labels": ids, "reason": data.reason}
    seal = signer.seal(record)
    await _close(
        session,
        ids,
        {
            "status": "voided",
            "voided_at": utcnow(),
            "voided_by": actor.username,
            "void_reason": data.reason,
            "void_signature": seal,
        },
        lot,
    )
    await audit.append(
        session,
        actor=actor.username,
        action="label.void",
        entity_type="lot",
        entity_id=lot.id or 0,
        after={"labels": ids, **(await counts(session, lot.id or 0)).model_dump()},
        reason=data.reason,
        signature=seal,
    )
