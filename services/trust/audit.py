"""The tamper-evident audit trail: append, sequence and query (verify: services.trust.verification).

Every write appends one event in the same transaction as the action, with `seq`, `prev_hash` and
`hash` still null. A single sequencer then chains committed events in the order it sees them
commit, as Certificate Transparency logs do: it locks the one-row chain head (`FOR UPDATE SKIP
LOCKED` on PostgreSQL, so a second sequencer steps aside instead of queueing; SQLite transactions
begin IMMEDIATE), numbers the events without gaps and hashes each onto the one before. It runs
right after each request's commit and every quarter second besides, so every event is sequenced
well within a second. Requests never wait for the chain lock: measured in bench/scan_load.py,
holding it inside each scan's transaction serialised the line (see the README).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeAlias

from pydantic import BaseModel
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import AuditEvent, AuditHead, ChainHead
from models.base import utcnow
from services.db import canonical_json as canonical_json

EVENT = AuditEvent.__table__  # type: ignore[attr-defined]
HEAD = AuditHead.__table__  # type: ignore[attr-defined]
log = logging.getLogger("sutrace.audit")
SEQUENCE_BATCH = 5000


def format_at(at: datetime) -> str:
    """The canonical form of an event time: UTC, microseconds, `Z`."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_hash(prev_hash: str, event: dict[str, Any]) -> str:
    """`sha256_hex(prev_hash + canonical JSON of the event without hash and prev_hash)`."""
    body = {k: v for k, v in event.items() if k not in ("hash", "prev_hash")}
    return sha256_hex(prev_hash + canonical_json(body))


def snapshot(record: BaseModel | None) -> dict[str, Any] | None:
    """A full JSON snapshot of an entity as the API shows it."""
    return None if record is None else record.model_dump(mode="json")


def event_body(row: Any) -> dict[str, Any]:
    """The hashed fields of a stored event, as `GET /audit` shows them: `credential` only when
    the event has one (events written before it existed, or with none, hash as they did)."""
    body = {
        "seq": row.seq,
        "at": format_at(row.at),
        "actor": row.actor,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "before": row.before,
        "after": row.after,
        "reason": row.reason,
        "signature": row.signature,
    }
    if row.credential is not None:
        body["credential"] = row.credential
    return body


async def lock_chain(session: AsyncSession, *, skip_locked: bool = False) -> ChainHead | None:
    """Take the chain lock for the rest of the transaction; returns the current head, or None
    when `skip_locked` and another transaction holds it."""
    head = (
        await session.execute(
            select(HEAD.c.seq, HEAD.c.hash)
            .where(HEAD.c.id == 1)
            .with_for_update(skip_locked=skip_locked)
        )
    ).one_or_none()
    return None if head is None else ChainHead(seq=head.seq, hash=head.hash)


_APPEND = insert(EVENT)


async def append(
    session: AsyncSession,
    *,
    actor: str | None,
    action: str,
    entity_type: str,
    entity_id: str | int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    signature: dict[str, Any] | None = None,
) -> None:
    """Append one event inside the caller's transaction; the sequencer chains it after commit.

    The event records the credential the unit of work acts through (`credentials.bind`).
    """
    row = event_row(session, actor, action, entity_type, entity_id, before, after)
    await session.execute(_APPEND, {**row, "reason": reason, "signature": signature})


def event_row(
    session: AsyncSession,
    actor: str | None,
    action: str,
    entity_type: str,
    entity_id: str | int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An unsigned event's columns as `append` writes them (a statement that writes the event
    with others, as a scan on PostgreSQL does, fills in what it makes itself)."""
    credential = session.info.get("credential")
    return {
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "before": before,
        "after": after,
        "reason": None,
        "signature": None,
        "credential": None if credential is None else credential.record(),
    }


@dataclass(frozen=True)
class Event:
    """One event of `append_many`."""

    action: str
    entity_type: str
    entity_id: str | int
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str | None = None
    signature: dict[str, Any] | None = None


async def append_many(session: AsyncSession, *, actor: str | None, events: list[Event]) -> None:
    """`append` for several events by one actor, as one INSERT."""
    if not events:
        return
    credential = session.info.get("credential")
    record = None if credential is None else credential.record()
    at = utcnow()
    await session.execute(
        _APPEND,
        [
            {
                "at": at,
                "actor": actor,
                "action": event.action,
                "entity_type": event.entity_type,
                "entity_id": str(event.entity_id),
                "before": event.before,
                "after": event.after,
                "reason": event.reason,
                "signature": event.signature,
                "credential": record,
            }
            for event in events
        ],
    )


Shown: TypeAlias = BaseModel | dict[str, Any] | None
"""An entity as its events show it: its public model, or a snapshot already made."""


class Sealer(Protocol):
    def seal(self, record: dict[str, Any] | None) -> dict[str, Any]: ...


@dataclass
class Change:
    """The one event `changing` records: the entity before, and its signature if any."""

    shown: Callable[[], Shown | Awaitable[Shown]]
    before: dict[str, Any] | None = None
    signature: dict[str, Any] | None = None

    async def now(self) -> dict[str, Any] | None:
        """The entity's snapshot as it stands."""
        shown = self.shown()
        if isinstance(shown, Awaitable):
            shown = await shown
        return shown if shown is None or isinstance(shown, dict) else snapshot(shown)

    async def seal(self, signer: Sealer) -> dict[str, Any]:
        """Sign the entity as it stands; the event carries this signature."""
        self.signature = signer.seal(await self.now())
        return self.signature


@asynccontextmanager
async def changing(
    session: AsyncSession,
    shown: Callable[[], Shown | Awaitable[Shown]],
    *,
    actor: str | None,
    action: str,
    entity_type: str,
    entity_id: str | int,
    reason: str | None = None,
) -> AsyncIterator[Change]:
    """Record what the block changes in one entity as one event: `shown()` before the block,
    and after it once its writes are flushed. A block that raises records nothing."""
    change = Change(shown)
    change.before = await change.now()
    yield change
    await session.flush()
    await append(
        session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=change.before,
        after=await change.now(),
        reason=reason,
        signature=change.signature,
    )


async def sequence(session: AsyncSession, *, wait: bool = False) -> int:
    """Chain committed, unsequenced events in the order they became visible; returns how many.

    Returns 0 at once when another sequencer holds the head, unless `wait` (a reader that must
    see everything committed waits for that sequencer, then chains what is left).
    """
    head = await lock_chain(session, skip_locked=not wait)
    if head is None:
        return 0
    rows = (
        await session.execute(
            select(EVENT).where(EVENT.c.seq.is_(None)).order_by(EVENT.c.id).limit(SEQUENCE_BATCH)
        )
    ).all()
    if not rows:
        return 0
    seq, prev = head.seq, head.hash
    chained: list[dict[str, Any]] = []
    for row in rows:
        seq += 1
        digest = event_hash(prev, {**event_body(row), "seq": seq})
        chained.append({"event_id": row.id, "new_seq": seq, "new_prev": prev, "new_hash": digest})
        prev = digest
    await session.execute(
        update(EVENT)
        .where(EVENT.c.id == bindparam("event_id"))
        .values(
            seq=bindparam("new_seq"), prev_hash=bindparam("new_prev"), hash=bindparam("new_hash")
        ),
        chained,
    )
    await session.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=seq, hash=prev))
    return len(chained)


async def sequence_all(sessionmaker: Callable[[], AsyncSession]) -> int:
    """Sequence everything committed so far, in as many batches as it takes."""
    total = 0
    while True:
        async with sessionmaker() as session, session.begin():
            done = await sequence(session)
        total += done
        if done < SEQUENCE_BATCH:
            return total


async def sequencer_loop(
    sessionmaker: Callable[[], AsyncSession],
    on_sequenced: Callable[[], None],
    period: float,
) -> None:
    """Every `period` seconds, chain what was committed since, in one batch. Under load this
    amortises the chain lock over hundreds of events; at rest it costs one query a round."""
    while True:
        await asyncio.sleep(period)
        try:
            if await sequence_all(sessionmaker):
                on_sequenced()
        except Exception:  # a lost connection must not end the loop; the next round retries
            log.exception("audit sequencer round failed")


async def chain_head(session: AsyncSession) -> ChainHead:
    head = (await session.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1))).one()
    return ChainHead(seq=head.seq, hash=head.hash)


async def query(
    session: AsyncSession,
    *,
    entity_type: str | None,
    entity_id: str | None,
    actor: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Any], int]:
    """Events matching every given filter, newest first, and how many match in all."""
    conditions = filters(
        entity_type=entity_type,
        entity_id=entity_id,
        actor=actor,
        action=action,
        since=since,
        until=until,
    )
    total = (
        await session.execute(select(func.count()).select_from(EVENT).where(*conditions))
    ).scalar_one()
    rows = (
        await session.execute(
            select(EVENT)
            .where(*conditions)
            .order_by(EVENT.c.seq.is_(None).desc(), EVENT.c.seq.desc(), EVENT.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return rows, total


def filters(
    *,
    entity_type: str | None,
    entity_id: str | None,
    actor: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[Any]:
    """The WHERE of an audit query: every filter given must hold."""
    conditions: list[Any] = []
    if entity_type is not None:
        conditions.append(EVENT.c.entity_type == entity_type)
    if entity_id is not None:
        conditions.append(EVENT.c.entity_id == entity_id)
    if actor is not None:
        conditions.append(EVENT.c.actor == actor)
    if action is not None:
        conditions.append(EVENT.c.action == action)
    if since is not None:
        conditions.append(EVENT.c.at >= since)
    if until is not None:
        conditions.append(EVENT.c.at <= until)
    return conditions
