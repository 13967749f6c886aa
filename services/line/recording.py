"""Writing a decided scan: the consuming writes (services.locks: the unit, then the lot's stock,
each conditional), the scan row and its audit event, all or nothing.

On PostgreSQL the four writes are one statement, a data-modifying CTE: one round trip where there
were four. The unit's `UPDATE` takes it only while available; the lot's runs only when the unit was
taken (its `EXISTS` on the unit's result is evaluated before it scans, which keeps the lock order)
and takes stock only while the lot is released and in date; the scan and its event are inserted
only when the lot's stock was taken. When a condition is false nothing is inserted, and the caller
learns why with the lot as it is now (`refused`) and stores the scan as blocked.

Why a CTE and not a PL/pgSQL function: the decision (every flag and its message) stays in Python,
the same code on both databases, so the answers cannot drift apart; what moves into SQL is only
the writing, which was already SQL. The reads are one statement too (services.line.scan_read), so
an accepted scan is two statements on PostgreSQL; a function would save one more round trip at the
cost of the flag table written twice. SQLite runs in process, where a round trip costs little: it
runs the same writes one by one, and so do overrides (`consume` without the lot's rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    CTE,
    JSON,
    Select,
    Text,
    bindparam,
    cast,
    exists,
    false,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from models.lots import Lot, LotStatus
from models.scans import Scan, ScanPublic
from models.units import Unit, UnitStatus
from services.db import canonical_json, serialised
from services.dock import checks
from services.dock.checks import BLOCK, Flag
from services.line import resolution, scans
from services.trust import audit

UNIT_TABLE = Unit.__table__  # type: ignore[attr-defined]
LOT_TABLE = Lot.__table__  # type: ignore[attr-defined]
SCAN_TABLE = Scan.__table__  # type: ignore[attr-defined]
_TAKE_UNIT = (
    update(UNIT_TABLE)
    .where(UNIT_TABLE.c.id == bindparam("taking_unit"), UNIT_TABLE.c.status == UnitStatus.available)
    .values(status=UnitStatus.consumed)
)
_GIVE_UNIT_BACK = (
    update(UNIT_TABLE)
    .where(UNIT_TABLE.c.id == bindparam("taking_unit"))
    .values(status=UnitStatus.available)
)
_TAKE_FROM_LOT = (
    update(LOT_TABLE)
    .where(
        LOT_TABLE.c.id == bindparam("taking_lot"), LOT_TABLE.c.quantity_left >= bindparam("taken")
    )
    .values(quantity_left=LOT_TABLE.c.quantity_left - bindparam("taken"))
)
# The use is legal at the write: released, not past its expiry or retest date in the site's
# time zone (`today`), whatever committed a moment before.
_TAKE_FROM_USABLE_LOT = _TAKE_FROM_LOT.where(
    LOT_TABLE.c.status == LotStatus.released,
    or_(LOT_TABLE.c.expiry_date.is_(None), LOT_TABLE.c.expiry_date >= bindparam("today")),
    or_(LOT_TABLE.c.retest_date.is_(None), LOT_TABLE.c.retest_date >= bindparam("today")),
)


# Bind names that are no column's: an UPDATE would take a parameter named after one of its
# columns as a value to SET.
@dataclass(frozen=True)
class Take:
    """What an accepted scan consumes: the unit (if any) and `quantity` of the lot's stock."""

    unit_id: int | None
    lot_id: int
    quantity: int
    today: date

    def params(self) -> dict[str, Any]:
        return {
            "taking_unit": self.unit_id,
            "taking_lot": self.lot_id,
            "taken": self.quantity,
            "today": self.today,
        }


@dataclass(frozen=True)
class Stored:
    """The stored scan's id, or None when the write found the use illegal; then whether the
    unit had been taken (SQLite's plain path gives it back at once)."""

    scan_id: int | None
    unit_taken: bool = False


_SCAN_COLUMNS = [c for c in SCAN_TABLE.c if c.name != "id"]
_EVENT_COLUMNS = [c for c in audit.EVENT.c if c.name not in ("id", "seq", "prev_hash", "hash")]
# A placeholder id no row can have (ids are positive), so the split finds the scan's own id and
# never a nested record's.
_ID_PLACEHOLDER = -7_305_117_905
_ID_MARK = f'"id":{_ID_PLACEHOLDER},'


def _one_statement(took_unit: CTE | None, took_lot: CTE | None) -> Select[Any]:
    """The scan and its event inserted (after `took_lot` took stock, when there is a take), as
    one statement answering (scan id or NULL, whether the unit was taken)."""
    values = select(*[bindparam(f"scan_{c.name}", type_=c.type) for c in _SCAN_COLUMNS])
    if took_lot is not None:
        values = values.where(exists(took_lot.select()))
    new_scan = (
        insert(SCAN_TABLE)
        .from_select([c.name for c in _SCAN_COLUMNS], values)
        .returning(SCAN_TABLE.c.id)
        .cte("new_scan")
    )
    scan_id = cast(new_scan.c.id, Text)
    # The event's snapshot is the scan as the API shows it, id included: its canonical JSON is
    # made in Python and the id the INSERT gave is put in its place (`_ID_MARK`).
    after = bindparam("after_head", type_=Text) + scan_id + bindparam("after_tail", type_=Text)
    filled = {"entity_id": scan_id, "after": cast(after, JSON)}
    event_values = [
        filled.get(c.name, bindparam(f"event_{c.name}", type_=c.type)) for c in _EVENT_COLUMNS
    ]
    new_event = (
        insert(audit.EVENT)
        .from_select([c.name for c in _EVENT_COLUMNS], select(*event_values).select_from(new_scan))
        .cte("new_event")
    )
    unit_taken = exists(took_unit.select()) if took_unit is not None else false()
    return select(
        select(new_scan.c.id).scalar_subquery().label("scan_id"), unit_taken.label("unit_taken")
    ).add_cte(new_event)


def _consuming(unit: bool) -> Select[Any]:
    took_unit = _TAKE_UNIT.returning(UNIT_TABLE.c.id).cte("took_unit") if unit else None
    take_lot = _TAKE_FROM_USABLE_LOT
    if took_unit is not None:
        take_lot = take_lot.where(exists(took_unit.select()))
    return _one_statement(took_unit, take_lot.returning(LOT_TABLE.c.id).cte("took_lot"))


# Built once (see services.line.scanning): blocked, a lot's stock, a unit and its lot's stock.
_BLOCKED = _one_statement(None, None)
_CONSUMING = {False: _consuming(False), True: _consuming(True)}


async def store(session: AsyncSession, scan: Scan, public: ScanPublic, take: Take | None) -> Stored:
    """Consume `take` (nothing for a blocked scan) and store `scan` with its `scan.record` event
    (`public` is what the event keeps; its id is filled in)."""
    if serialised(session):
        return await _store_one_by_one(session, scan, public, take)
    columns = {f"scan_{c.name}": getattr(scan, c.name) for c in _SCAN_COLUMNS}
    event = audit.event_row(session, scan.actor, "scan.record", "scan", 0)
    after_head, after_tail = _split_at_id(public)
    params = {
        **columns,
        **{f"event_{name}": value for name, value in event.items()},
        "after_head": after_head,
        "after_tail": after_tail,
        **(take.params() if take else {}),
    }
    statement = _BLOCKED if take is None else _CONSUMING[take.unit_id is not None]
    row = (await session.execute(statement, params)).one()
    return Stored(row.scan_id, bool(row.unit_taken))


def _split_at_id(public: ScanPublic) -> tuple[str, str]:
    """The canonical JSON of `public` around its id: before `"id":` and after the id."""
    text = canonical_json(audit.snapshot(public.model_copy(update={"id": _ID_PLACEHOLDER})))
    head, tail = text.split(_ID_MARK, 1)
    return head + '"id":', "," + tail


async def _store_one_by_one(
    session: AsyncSession, scan: Scan, public: ScanPublic, take: Take | None
) -> Stored:
    if take is not None:
        params = take.params()
        if take.unit_id is not None and not (await session.execute(_TAKE_UNIT, params)).rowcount:  # type: ignore[attr-defined]
            return Stored(None)
        if not (await session.execute(_TAKE_FROM_USABLE_LOT, params)).rowcount:  # type: ignore[attr-defined]
            return Stored(None, unit_taken=take.unit_id is not None)
    session.add(scan)
    await session.flush()
    after = audit.snapshot(public.model_copy(update={"id": scan.id}))
    await audit.append(
        session,
        actor=scan.actor,
        action="scan.record",
        entity_type="scan",
        entity_id=scan.id or 0,
        after=after,
    )
    return Stored(scan.id)


async def consume(
    session: AsyncSession,
    resolved: resolution.Resolved,
    quantity: int,
    today: date,
    *,
    lot_rules: bool = True,
) -> list[Flag]:
    """Consume in the database, conditionally: the unit (after the batch, before the lot, as
    services.locks orders them), then the lot's stock, only while the lot is usable unless
    `lot_rules` is off (an override, which holds the lot's lock and re-checked it). Nothing
    when consumed; else why not, with the lot as it is now, and nothing left consumed."""
    lot, unit = resolved.lot, resolved.unit
    assert lot is not None
    if unit is not None:
        taken = (await session.execute(_TAKE_UNIT, {"taking_unit": unit.id})).rowcount  # type: ignore[attr-defined]
        if not taken:
            return await refused(session, resolved, quantity, today, unit_taken=False)
    statement = _TAKE_FROM_USABLE_LOT if lot_rules else _TAKE_FROM_LOT
    params = {"taking_lot": lot.id, "taken": quantity, "today": today}
    if (await session.execute(statement, params)).rowcount:  # type: ignore[attr-defined]
        return []
    return await refused(
        session, resolved, quantity, today, unit_taken=unit is not None, lot_rules=lot_rules
    )


async def refused(
    session: AsyncSession,
    resolved: resolution.Resolved,
    quantity: int,
    today: date,
    *,
    unit_taken: bool,
    lot_rules: bool = True,
) -> list[Flag]:
    """Why a consuming write took nothing: the unit was used meanwhile (when it was not taken),
    else the lot as the change that came first committed it; a unit taken is given back."""
    lot, unit = resolved.lot, resolved.unit
    assert lot is not None
    if unit is not None and not unit_taken:
        return [await already_used(session, unit)]
    if unit is not None:
        await session.execute(_GIVE_UNIT_BACK, {"taking_unit": unit.id})
    await session.refresh(lot)
    component_type = resolved.component_type
    flags = [
        f
        for f in checks.lot_flags(
            lot_code=lot.code,
            status=lot.status,
            expiry_date=lot.expiry_date,
            retest_date=lot.retest_date,
            warning_days=component_type.expiry_warning_days if component_type else 0,
            today=today,
        )
        if f.severity == BLOCK
    ]
    if lot_rules and flags:
        return flags
    return [
        Flag(
            "INSUFFICIENT_QUANTITY",
            BLOCK,
            f"Lot '{lot.code}' has {lot.quantity_left} left now; {quantity} asked.",
        )
    ]


async def already_used(session: AsyncSession, unit: Unit) -> Flag:
    """ALREADY_USED saying where, when and by whom, so the line can find the unit's first use."""
    use = await scans.current_use(session, unit.id or 0)
    if use is None:  # consumed as a part of an assembly, or discarded
        return Flag(
            "ALREADY_USED", BLOCK, f"Unit {unit.barcode} is already used; it is single-use."
        )
    return Flag(
        "ALREADY_USED",
        BLOCK,
        f"Unit {unit.barcode} was already used in batch '{use.batch}' on "
        f"{use.at:%Y-%m-%d %H:%M} UTC by {use.actor}"
        + (f" at station {use.station}" if use.station else "")
        + f" (scan {use.scan_id}); it is single-use.",
    )
