"""The checks that decide whether a lot or unit may be used now, as flags a person can act on.

The unit view's `blocking` list and the line's go/no-go use the same functions, so what the
warehouse sees is what the scanner will say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Exists, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.batches import BatchFlag, FlagStatus
from models.lots import Lot, LotStatus
from services import cache

BLOCK = "block"
WARN = "warn"
OVERRIDABLE = frozenset({"QUARANTINED", "EXPIRED", "RETEST_DUE", "WRONG_COMPONENT"})


@dataclass(frozen=True)
class Flag:
    code: str
    severity: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


def lot_flags(
    *,
    lot_code: str,
    status: str,
    expiry_date: date | None,
    retest_date: date | None,
    warning_days: int,
    today: date,
    part: str | None = None,
) -> list[Flag]:
    """Flags from a lot's status and dates. `part` names the assembly part when checking one."""
    where = f"Part {part} of lot '{lot_code}'" if part else f"Lot '{lot_code}'"
    flags: list[Flag] = []
    if status == LotStatus.quarantined:
        flags.append(
            Flag("QUARANTINED", BLOCK, f"{where} is quarantined; only released lots may be used.")
        )
    elif status == LotStatus.rejected:
        flags.append(Flag("REJECTED", BLOCK, f"{where} was rejected by QA; do not use it."))
    elif status == LotStatus.recalled:
        flags.append(Flag("RECALLED", BLOCK, f"{where} is recalled; remove it from the line."))
    if expiry_date is not None and today > expiry_date:
        flags.append(
            Flag(
                "EXPIRED",
                BLOCK,
                f"{where} expired on {expiry_date.isoformat()}; today is {today.isoformat()}.",
            )
        )
    elif expiry_date is not None and (expiry_date - today).days <= warning_days:
        flags.append(
            Flag(
                "EXPIRES_SOON",
                WARN,
                f"{where} expires on {expiry_date.isoformat()}, within {warning_days} days.",
            )
        )
    if retest_date is not None and today > retest_date:
        flags.append(
            Flag("RETEST_DUE", BLOCK, f"{where} was due for retest on {retest_date.isoformat()}.")
        )
    return flags


def unit_flags(*, barcode: str, status: str) -> list[Flag]:
    if status == "available":
        return []
    return [Flag("ALREADY_USED", BLOCK, f"Unit {barcode} is already {status}; it is single-use.")]


def blocking_codes(flags: list[Flag]) -> list[str]:
    return [f.code for f in flags if f.severity == BLOCK]


def open_blocking_flag(batch_id: Any) -> Exists:
    """Whether batch `batch_id` has an open blocking flag (`batch_id` may be a column of an
    enclosing query: the scan's one read asks it of the scanned lot's source batch)."""
    return exists().where(
        col(BatchFlag.batch_id) == batch_id,
        col(BatchFlag.status) == FlagStatus.open,
        col(BatchFlag.severity) == BLOCK,
    )


async def source_batch_flagged(session: AsyncSession, lot: Lot) -> str | None:
    """The batch number that made `lot`, when that batch has an open blocking flag."""
    if lot.source_batch_id is None:
        return None
    flagged = (await session.execute(select(open_blocking_flag(lot.source_batch_id)))).scalar_one()
    return await cache.batch_number_of(session, lot.source_batch_id) if flagged else None
