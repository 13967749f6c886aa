"""QA's lot status machine: release (with the incoming inspection), reject, quarantine and recall,
each signed; a lot that becomes unusable after use flags every batch that used it."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.lots import TRANSITIONS, Inspection, Lot, LotStatus, LotStatusChange
from models.users import User
from services.dock import lots
from services.dock.checks import source_batch_flagged
from services.errors import Conflict, Invalid
from services.quality.flags import raise_after_use
from services.trust import audit
from services.trust.signatures import Signer, sign


async def change_status(
    session: AsyncSession, actor: User, lot_id: int, change: LotStatusChange, today: date
) -> tuple[Lot, list[dict[str, Any]]]:
    """QA moves a lot through the status table with a signature; release records inspection."""
    lot = await lots.get(session, lot_id, for_update=True)
    signer = await sign(session, actor, change.signature)
    current = LotStatus(lot.status)
    if change.status not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: it is final"
        raise Conflict(
            f"Lot '{lot.code}' is {current}; it cannot become {change.status} "
            f"(allowed: {allowed}).",
            code="ILLEGAL_TRANSITION",
        )
    if change.status == LotStatus.released:
        _check_release(lot, change, today)
        flagged_batch = await source_batch_flagged(session, lot)
        if flagged_batch is not None:
            raise Conflict(
                f"Lot '{lot.code}' was made by batch '{flagged_batch}', which has an open "
                "blocking flag; it cannot be released until QA resolves it.",
                code="SOURCE_BATCH_FLAGGED",
            )
    raised = await apply_status(
        session, actor, signer, lot, LotStatus(change.status), change.reason, change.inspection
    )
    return lot, raised


async def apply_status(
    session: AsyncSession,
    actor: User,
    signer: Signer,
    lot: Lot,
    status: LotStatus,
    reason: str,
    inspection: Inspection | None = None,
) -> list[dict[str, Any]]:
    """Move `lot` to `status` (checked by the caller) under `signer`'s signature: a release keeps
    the signature and the inspection; a blocking status flags every batch that used the lot."""
    async with audit.changing(
        session,
        lambda: lots.snapshot(session, lot),
        actor=actor.username,
        action="lot.status",
        entity_type="lot",
        entity_id=lot.id or 0,
        reason=reason,
    ) as change:
        lot.status = status
        lot.release = None
        seal = await change.seal(signer)
        if status == LotStatus.released:
            assert inspection is not None
            lot.release = {"signature": seal, "inspection": inspection.model_dump()}
    if status in BLOCKING_STATUSES:
        return await raise_after_use(session, actor, lot, signer)
    return []


BLOCKING_STATUSES = frozenset({LotStatus.quarantined, LotStatus.rejected, LotStatus.recalled})


def _check_release(lot: Lot, change: LotStatusChange, today: date) -> None:
    if lot.coa_ref is None:
        raise Invalid(
            f"Lot '{lot.code}' has no certificate of analysis (coa_ref); correct the lot "
            "with its CoA reference before release.",
            code="COA_REQUIRED",
        )
    inspection = change.inspection
    failed = (
        ["inspection"]
        if inspection is None
        else [name for name, ok in inspection.model_dump().items() if not ok]
    )
    if failed:
        raise Invalid(
            f"Release of lot '{lot.code}' needs the incoming inspection with coa_reviewed, "
            f"packaging_intact and label_correct all true; not met: {', '.join(failed)}.",
            code="INSPECTION_INCOMPLETE",
            errors=[
                {"field": f"inspection.{n}".removesuffix(".inspection"), "message": "must be true"}
                for n in failed
            ],
        )
    if lot.expiry_date is not None and today > lot.expiry_date:
        raise Conflict(
            f"Lot '{lot.code}' expired on {lot.expiry_date.isoformat()}; an expired lot "
            "cannot be released.",
            code="LOT_EXPIRED",
        )
