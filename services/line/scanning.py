"""The line's go/no-go: a scan is resolved, checked against every rule at once, and either
consumed into the batch or refused with every reason. Every attempt is stored.

The database decides (services.locks): the scan holds its batch's row `FOR SHARE` from its first
statement, so the batch cannot end while it decides; a conditional UPDATE consumes a unit only
while it is available, and takes lot stock only while enough is left and the lot is released and
in date, re-checked by PostgreSQL on the row a concurrent status change committed. The checks in
Python before it give every reason at once; the UPDATE's answer is the decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.batches import Batch, BatchStatus
from models.catalog import ComponentType
from models.lots import Lot, LotStatus
from models.scans import ACCEPTED, BLOCKED, Scan, ScanCreate, ScanFlag, ScanPublic
from models.units import Unit, UnitStatus
from models.users import User
from services import cache
from services.barcodes import gs1
from services.dock import checks, parts
from services.dock.checks import BLOCK, WARN, Flag, source_batch_flagged
from services.errors import Conflict, Invalid, SutraceError
from services.line import batches, resolution, scans
from services.locks import locked
from services.trust import audit, credentials


class ScanBlocked(SutraceError):
    title = "Scan blocked"
    default_code = "SCAN_BLOCKED"


@dataclass(frozen=True)
class ScanOutcome:
    """A scan's answer: accepted (`refusal` None, `body` the 201 answer) or blocked and stored
    (`refusal` the problem to answer once the unit of work has committed)."""

    body: dict[str, Any]
    refusal: ScanBlocked | None = None


# The hot path's statements are built once: building SQL expressions per request cost more
# Python time than running them (py-spy on bench/scan_load.py). Plain table updates also skip
# the ORM's bulk-update machinery; nothing reads the updated rows back in the same request.
UNIT_TABLE = Unit.__table__  # type: ignore[attr-defined]
LOT_TABLE = Lot.__table__  # type: ignore[attr-defined]
_BATCH_BY_NUMBER = locked(
    select(Batch).where(col(Batch.batch_number) == bindparam("number")), share=True
)
_TAKE_UNIT = (
    update(UNIT_TABLE)
    .where(UNIT_TABLE.c.id == bindparam("unit_id"), UNIT_TABLE.c.status == UnitStatus.available)
    .values(status=UnitStatus.consumed)
)
_GIVE_UNIT_BACK = (
    update(UNIT_TABLE)
    .where(UNIT_TABLE.c.id == bindparam("unit_id"))
    .values(status=UnitStatus.available)
)
_TAKE_FROM_LOT = (
    update(LOT_TABLE)
    .where(LOT_TABLE.c.id == bindparam("lot_id"), LOT_TABLE.c.quantity_left >= bindparam("taken"))
    .values(quantity_left=LOT_TABLE.c.quantity_left - bindparam("taken"))
)
# The use is legal at the write: released, not past its expiry or retest date in the site's
# time zone (`today`), whatever committed a moment before.
_TAKE_FROM_USABLE_LOT = _TAKE_FROM_LOT.where(
    LOT_TABLE.c.status == LotStatus.released,
    or_(LOT_TABLE.c.expiry_date.is_(None), LOT_TABLE.c.expiry_date >= bindparam("today")),
    or_(LOT_TABLE.c.retest_date.is_(None), LOT_TABLE.c.retest_date >= bindparam("today")),
)


def request_hash(body: ScanCreate) -> str:
    return audit.sha256_hex(audit.canonical_json(body.model_dump(mode="json")))


@dataclass
class Decision:
    """What the rules say of a scan before anything is written: every flag, at once."""

    batch: Batch
    resolved: resolution.Resolved
    quantity: int
    station: str | None
    flags: list[Flag]

    @property
    def blocking(self) -> list[Flag]:
        return [f for f in self.flags if f.severity == BLOCK]

    @property
    def status(self) -> int:
        """The answer's status: 201, or the refusal's (404 unknown, 422 unreadable, 409)."""
        if not self.blocking:
            return 201
        return self.resolved.status if self.resolved.lot is None else 409


async def decide(session: AsyncSession, body: ScanCreate, today: date) -> Decision:
    """Resolve the barcode and check every rule; nothing is written. Invalid input raises."""
    try:
        text_ = gs1.check_raw_barcode(body.barcode)
    except gs1.BarcodeFormatError as exc:
        raise Invalid(
            str(exc), code="INVALID_BARCODE", errors=[{"field": "barcode", "message": str(exc)}]
        ) from exc
    station = _station(session, body)
    batch = (await session.execute(_BATCH_BY_NUMBER, {"number": body.batch})).scalar_one_or_none()
    if batch is None:
        raise Invalid(
            f"Batch '{body.batch}' does not exist.",
            code="UNKNOWN_BATCH",
            errors=[{"field": "batch", "message": "no such batch"}],
        )
    resolved = await resolution.resolve(session, text_)
    quantity = body.quantity or 1
    if resolved.unit is not None and quantity != 1:
        raise Invalid(
            f"Unit {resolved.unit.barcode} is one item; quantity must be 1.",
            code="VALIDATION_ERROR",
            errors=[{"field": "quantity", "message": "must be 1 for a unit"}],
        )
    flags = list(resolved.flags)
    if resolved.lot is not None and resolved.component_type is not None:
        flags += await check(session, batch, resolved, quantity, body.step, today)
    if batch.status != BatchStatus.in_progress:
        flags.insert(
            0,
            Flag(
                "BATCH_NOT_ACTIVE",
                BLOCK,
                f"Batch '{batch.batch_number}' is {batch.status}; scans are "
                "accepted only while it is in progress.",
            ),
        )
    return Decision(batch, resolved, quantity, station, _when_blocked(flags))


def _when_blocked(flags: list[Flag]) -> list[Flag]:
    """A refused item is not used: it makes no BOM line over-consumed."""
    if any(f.severity == BLOCK for f in flags):
        return [f for f in flags if f.code != "OVER_BOM_QUANTITY"]
    return flags


async def dry_run(session: AsyncSession, body: ScanCreate, today: date) -> dict[str, Any]:
    """What `scan` would answer now, for kitting and staging: stores and consumes nothing.
    A scan made a moment later is decided again, at its own write."""
    decision = await decide(session, body, today)
    resolved = decision.resolved
    return {
        "outcome": BLOCKED if decision.blocking else ACCEPTED,
        "status": decision.status,
        "flags": [f.as_dict() for f in decision.flags],
        "unit": resolved.unit.barcode if resolved.unit else None,
        "lot": resolved.lot.id if resolved.lot else None,
        "lot_code": resolved.lot.code if resolved.lot else None,
        "component_type": resolved.component_type.code if resolved.component_type else None,
        "batch": decision.batch.batch_number,
        "quantity": decision.quantity,
        "step": body.step,
        "station": decision.station,
    }


async def scan(session: AsyncSession, actor: User, body: ScanCreate, today: date) -> ScanOutcome:
    """Resolve, check and store one scan; accepted -> consumed, else stored as blocked."""
    digest = request_hash(body)
    username = actor.username  # still readable after a rollback expires the ORM objects
    # A retry with a used client_scan_id is found by the unique constraint when the scan is
    # stored (below): the hot path spends no query looking for it first.
    decision = await decide(session, body, today)
    batch, resolved, quantity, station = (
        decision.batch,
        decision.resolved,
        decision.quantity,
        decision.station,
    )
    flags = decision.flags
    if not decision.blocking:
        assert resolved.lot is not None
        refusals = await consume(session, resolved, quantity, today)
        if refusals:
            flags = _when_blocked([f for f in flags if f.severity != BLOCK] + refusals)
    blocking = [f for f in flags if f.severity == BLOCK]
    outcome = BLOCKED if blocking else ACCEPTED
    status = 201 if not blocking else resolved.status if resolved.lot is None else 409
    lot = resolved.lot
    scan = Scan(
        barcode=body.barcode,
        outcome=outcome,
        flags=[f.as_dict() for f in flags],
        batch_id=batch.id or 0,
        step=body.step,
        station=station,
        quantity=quantity,
        unit_id=resolved.unit.id if resolved.unit else None,
        lot_id=lot.id if lot else None,
        lot_status_at_scan=lot.status if lot else None,
        expiry_at_scan=lot.expiry_date if lot else None,
        actor=actor.username,
        at=utcnow(),
        client_scan_id=body.client_scan_id,
        request_hash=digest,
        response_status=status,
    )
    session.add(scan)
    try:
        await session.flush()
    except IntegrityError:
        # The same client_scan_id sent twice at once: undo this attempt (and what it consumed);
        # the scan stored first answers both.
        if body.client_scan_id is None:
            raise
        await session.rollback()
        earlier = await _by_client_id(session, username, body.client_scan_id)
        if earlier is None:
            raise
        return await replay(session, earlier, digest)
    public = await scans.scan_public(
        session,
        scan,
        batch=batch,
        lot=lot,
        unit=resolved.unit,
        component_type=resolved.component_type,
    )
    await audit.append(
        session,
        actor=actor.username,
        action="scan.record",
        entity_type="scan",
        entity_id=scan.id or 0,
        after=audit.snapshot(public),
    )
    return _answer(public, status)


def _station(session: AsyncSession, body: ScanCreate) -> str | None:
    """Where the scan was made: the station credential's own name when the request came through
    one (a client cannot say otherwise), else what an API-key client sends."""
    station = credentials.station_of(session)
    if station is None:
        return body.station
    if body.station is not None and body.station != station:
        raise Invalid(
            f"This scan comes from station '{station}', not '{body.station}'; leave out "
            "'station' at an enrolled station.",
            code="STATION_MISMATCH",
            errors=[{"field": "station", "message": f"this is station '{station}'"}],
        )
    return station


def _answer(public: ScanPublic, status: int) -> ScanOutcome:
    if status == 201:
        return ScanOutcome(body=accepted_body(public))
    blocking = [f for f in public.flags if f["severity"] == BLOCK]
    refusal = _blocked(public, status, blocking)
    return ScanOutcome(body={}, refusal=refusal)


def _blocked(public: ScanPublic, status: int, blocking: list[ScanFlag]) -> ScanBlocked:
    error = ScanBlocked(
        " ".join(f["message"] for f in blocking),
        scan_id=public.id,
        outcome=BLOCKED,
        flags=public.flags,
    )
    error.status = status
    return error


def accepted_body(public: ScanPublic) -> dict[str, Any]:
    return {
        "id": public.id,
        "outcome": ACCEPTED,
        "flags": [f for f in public.flags if f["severity"] == WARN],
        "unit": public.unit,
        "lot": public.lot,
        "lot_code": public.lot_code,
        "component_type": public.component_type,
        "batch": public.batch,
        "quantity": public.quantity,
        "step": public.step,
        "station": public.station,
        "at": audit.format_at(public.at),
    }


async def replay(session: AsyncSession, scan: Scan, digest: str) -> ScanOutcome:
    """The first answer to a client_scan_id, again; a different body with it is a conflict."""
    if scan.request_hash != digest:
        raise Conflict(
            f"client_scan_id '{scan.client_scan_id}' was used for a different scan (scan "
            f"{scan.id}); use a new id for a new scan.",
            code="IDEMPOTENCY_CONFLICT",
            scan_id=scan.id,
        )
    public = await scans.scan_public(session, scan)
    if scan.response_status == 201:
        return ScanOutcome(body=accepted_body(public))
    blocking = [f for f in public.flags if f["severity"] == BLOCK]
    return ScanOutcome(body={}, refusal=_blocked(public, scan.response_status, blocking))


async def _by_client_id(session: AsyncSession, actor: str, client_scan_id: str) -> Scan | None:
    return (
        await session.execute(
            select(Scan).where(col(Scan.actor) == actor, col(Scan.client_scan_id) == client_scan_id)
        )
    ).scalar_one_or_none()


async def check(
    session: AsyncSession,
    batch: Batch,
    resolved: resolution.Resolved,
    quantity: int,
    step: str | None,
    today: date,
) -> list[Flag]:
    """Every rule of the flag table for a resolved lot (and unit); all failures together."""
    lot, component_type, unit = resolved.lot, resolved.component_type, resolved.unit
    assert lot is not None and component_type is not None
    flags = checks.lot_flags(
        lot_code=lot.code,
        status=lot.status,
        expiry_date=lot.expiry_date,
        retest_date=lot.retest_date,
        warning_days=component_type.expiry_warning_days,
        today=today,
    )
    flagged_batch = await source_batch_flagged(session, lot)
    if flagged_batch is not None:
        flags.append(
            Flag(
                "SOURCE_BATCH_FLAGGED",
                BLOCK,
                f"Lot '{lot.code}' was made by batch '{flagged_batch}', which has an "
                "open blocking flag.",
            )
        )
    if unit is not None:
        if unit.status == UnitStatus.consumed:
            flags.append(await _already_used(session, unit))
        else:
            flags += checks.unit_flags(barcode=unit.barcode, status=unit.status)
        if component_type.is_assembly:
            flags += await parts.part_flags(session, unit, today)
    elif quantity > lot.quantity_left:
        flags.append(
            Flag(
                "INSUFFICIENT_QUANTITY",
                BLOCK,
                f"Lot '{lot.code}' has {lot.quantity_left} left; {quantity} asked.",
            )
        )
    flags += await _bom_flags(session, batch, component_type, quantity, step)
    return flags


async def _already_used(session: AsyncSession, unit: Unit) -> Flag:
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


async def _bom_flags(
    session: AsyncSession,
    batch: Batch,
    component_type: ComponentType,
    quantity: int,
    step: str | None,
) -> list[Flag]:
    lines = await cache.bom(session, batch.id or 0)
    if not lines:
        return []
    matching = [
        (line_step, qty)
        for line_step, type_id, qty in lines
        if type_id == component_type.id and (step is None or line_step in (None, step))
    ]
    if not matching:
        where = f" at step '{step}'" if step else ""
        return [
            Flag(
                "WRONG_COMPONENT",
                BLOCK,
                f"Batch '{batch.batch_number}' has no BOM line for '{component_type.code}'{where}.",
            )
        ]
    planned = sum(qty for _, qty in matching)
    consumed = await batches.consumed_quantity(session, batch.id or 0, component_type.id or 0, step)
    if consumed + quantity > planned:
        return [
            Flag(
                "OVER_BOM_QUANTITY",
                WARN,
                f"Batch '{batch.batch_number}' planned {planned} of "
                f"'{component_type.code}'; this makes {consumed + quantity}.",
            )
        ]
    return []


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
        taken = (await session.execute(_TAKE_UNIT, {"unit_id": unit.id})).rowcount  # type: ignore[attr-defined]
        if not taken:
            return [await _already_used(session, unit)]
    statement = _TAKE_FROM_USABLE_LOT if lot_rules else _TAKE_FROM_LOT
    params = {"lot_id": lot.id, "taken": quantity, "today": today}
    if (await session.execute(statement, params)).rowcount:  # type: ignore[attr-defined]
        return []
    if unit is not None:
        await session.execute(_GIVE_UNIT_BACK, {"unit_id": unit.id})
    # Why the write found the lot unusable: the lot as the change that came first committed it.
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
