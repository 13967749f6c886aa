"""The line's go/no-go: a scan is resolved, checked against every rule at once, and either
consumed into the batch or refused with every reason. Every attempt is stored.

The database decides (services.locks): the scan holds its batch's row `FOR SHARE` from its first
statement, so the batch cannot end while it decides; a conditional UPDATE consumes a unit only
while it is available, and takes lot stock only while enough is left and the lot is released and
in date, re-checked by PostgreSQL on the row a concurrent status change committed. The checks in
Python before it give every reason at once; the UPDATE's answer is the decision.

Round trips: the batch, what the barcode names and the facts the rules need are one read
(services.line.scan_read); on PostgreSQL the consuming writes, the scan and its audit event are
one statement (services.line.recording, which says why a CTE and not a function).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.batches import Batch, BatchStatus
from models.catalog import ComponentType
from models.scans import ACCEPTED, BLOCKED, Scan, ScanCreate, ScanFlag, ScanPublic
from models.units import UnitStatus
from models.users import User
from services import cache
from services.barcodes import gs1
from services.dock import checks, parts
from services.dock.checks import BLOCK, WARN, Flag, source_batch_flagged
from services.errors import Conflict, Invalid, SutraceError
from services.line import batches, recording, resolution, scan_read, scans
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


async def decide(
    session: AsyncSession, body: ScanCreate, today: date, *, lock: bool = True
) -> Decision:
    """Resolve the barcode and check every rule; nothing is written. Invalid input raises.
    `lock` takes what an assembly's rules read under the locks the scan decides under (see
    `check`); a dry run, which consumes nothing, leaves it off."""
    try:
        text_ = gs1.check_raw_barcode(body.barcode)
    except gs1.BarcodeFormatError as exc:
        raise Invalid(
            str(exc), code="INVALID_BARCODE", errors=[{"field": "barcode", "message": str(exc)}]
        ) from exc
    station = _station(session, body)
    read = await scan_read.read(session, text_, body.batch, body.step)
    batch = read.batch
    if batch is None:
        raise Invalid(
            f"Batch '{body.batch}' does not exist.",
            code="UNKNOWN_BATCH",
            errors=[{"field": "batch", "message": "no such batch"}],
        )
    resolved = read.resolved or await resolution.resolve(session, text_)
    quantity = body.quantity or 1
    if resolved.unit is not None and quantity != 1:
        raise Invalid(
            f"Unit {resolved.unit.barcode} is one item; quantity must be 1.",
            code="VALIDATION_ERROR",
            errors=[{"field": "quantity", "message": "must be 1 for a unit"}],
        )
    flags = list(resolved.flags)
    if resolved.lot is not None and resolved.component_type is not None:
        flags += await check(
            session, batch, resolved, quantity, body.step, today, read.facts, lock=lock
        )
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
    decision = await decide(session, body, today, lock=False)
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
    resolved = decision.resolved
    try:
        if decision.blocking:
            outcome, _ = await _store(session, actor, body, digest, decision, decision.flags, None)
            assert outcome is not None
            return outcome
        assert resolved.lot is not None
        take = recording.Take(
            resolved.unit.id if resolved.unit else None,
            resolved.lot.id or 0,
            decision.quantity,
            today,
        )
        outcome, unit_taken = await _store(
            session, actor, body, digest, decision, decision.flags, take
        )
        if outcome is not None:
            return outcome
        # The write found the use illegal (a change committed since the rules read the rows):
        # stored as blocked with the reason as it is now.
        refusals = await recording.refused(
            session, resolved, decision.quantity, today, unit_taken=unit_taken
        )
        flags = _when_blocked([f for f in decision.flags if f.severity != BLOCK] + refusals)
        outcome, _ = await _store(session, actor, body, digest, decision, flags, None)
        assert outcome is not None
        return outcome
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


async def _store(
    session: AsyncSession,
    actor: User,
    body: ScanCreate,
    digest: str,
    decision: Decision,
    flags: list[Flag],
    take: recording.Take | None,
) -> tuple[ScanOutcome | None, bool]:
    """Store the scan with `flags`, consuming `take`: its answer, or None when the take found
    the use illegal (and whether the unit had been taken meanwhile)."""
    resolved, lot, batch = decision.resolved, decision.resolved.lot, decision.batch
    blocking = [f for f in flags if f.severity == BLOCK]
    status = 201 if not blocking else resolved.status if lot is None else 409
    scan = Scan(
        barcode=body.barcode,
        outcome=BLOCKED if blocking else ACCEPTED,
        flags=[f.as_dict() for f in flags],
        batch_id=batch.id or 0,
        step=body.step,
        station=decision.station,
        quantity=decision.quantity,
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
    public = await scans.scan_public(
        session,
        scan,
        batch=batch,
        lot=lot,
        unit=resolved.unit,
        component_type=resolved.component_type,
    )
    stored = await recording.store(session, scan, public, take)
    if stored.scan_id is None:
        return None, stored.unit_taken
    return _answer(public.model_copy(update={"id": stored.scan_id}), status), False


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
    facts: scan_read.Facts | None = None,
    *,
    lock: bool = True,
) -> list[Flag]:
    """Every rule of the flag table for a resolved lot (and unit); all failures together.
    `facts` read with the lot (services.line.scan_read) spare the queries for them.

    An assembly's parts are read under lock (services.dock.parts; `lock` off for a dry run):
    its unit row first, re-read, then its part lots `FOR SHARE` in id order, all before the
    scan's own unit and lot writes, in the order of services.locks."""
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
    flagged_batch = facts.flagged_batch if facts else await source_batch_flagged(session, lot)
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
        part_flags = (
            await parts.part_flags(session, unit, today, lock=lock)
            if component_type.is_assembly
            else []
        )
        if unit.status == UnitStatus.consumed:
            flags.append(await recording.already_used(session, unit))
        else:
            flags += checks.unit_flags(barcode=unit.barcode, status=unit.status)
        flags += part_flags
    elif quantity > lot.quantity_left:
        flags.append(
            Flag(
                "INSUFFICIENT_QUANTITY",
                BLOCK,
                f"Lot '{lot.code}' has {lot.quantity_left} left; {quantity} asked.",
            )
        )
    consumed = facts.consumed if facts else None
    flags += await _bom_flags(session, batch, component_type, quantity, step, consumed)
    return flags


async def _bom_flags(
    session: AsyncSession,
    batch: Batch,
    component_type: ComponentType,
    quantity: int,
    step: str | None,
    consumed: int | None,
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
    if consumed is None:
        type_id = component_type.id or 0
        consumed = await batches.consumed_quantity(session, batch.id or 0, type_id, step)
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
