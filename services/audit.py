"""The tamper-evident audit trail: append under the chain lock, query, and verify.

Every write appends one event in the same transaction as the action. The chain head row is locked
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite transactions already begin IMMEDIATE), so `seq` runs
without gaps and each event's `prev_hash` is the hash of the event before it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import GENESIS_HASH, AuditEvent, AuditHead, ChainHead, VerifyResult
from models.base import utcnow

EVENT = AuditEvent.__table__  # type: ignore[attr-defined]
HEAD = AuditHead.__table__  # type: ignore[attr-defined]
VERIFY_CHUNK = 5000


def format_at(at: datetime) -> str:
    """The canonical form of an event time: UTC, microseconds, `Z`."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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
    """The hashed fields of a stored event, as `GET /audit` shows them."""
    return {
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


async def lock_chain(session: AsyncSession) -> ChainHead:
    """Take the chain lock for the rest of the transaction; returns the current head."""
    head = (
        await session.execute(
            select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1).with_for_update()
        )
    ).one()
    return ChainHead(seq=head.seq, hash=head.hash)


async def record(
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
) -> ChainHead:
    """Append one event to the chain inside the caller's transaction."""
    head = await lock_chain(session)
    at = utcnow()
    seq = head.seq + 1
    body: dict[str, Any] = {
        "seq": seq,
        "at": format_at(at),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "before": before,
        "after": after,
        "reason": reason,
        "signature": signature,
    }
    digest = event_hash(head.hash, body)
    await session.execute(
        insert(EVENT).values(**{**body, "at": at}, prev_hash=head.hash, hash=digest)
    )
    await session.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=seq, hash=digest))
    return ChainHead(seq=seq, hash=digest)


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
    conditions = []
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
    total = (
        await session.execute(select(func.count()).select_from(EVENT).where(*conditions))
    ).scalar_one()
    rows = (
        await session.execute(
            select(EVENT)
            .where(*conditions)
            .order_by(EVENT.c.seq.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return rows, total


async def verify(session: AsyncSession) -> VerifyResult:
    """Recompute the whole chain in `seq` order, in chunks, and compare it with the head row.

    Finds an event altered (its hash no longer matches), removed (a gap in `seq`, or a tail
    shorter than the head), or reordered (its `prev_hash` no longer links to its predecessor).
    """
    expected_seq = 1
    prev = GENESIS_HASH
    count = 0
    while True:
        rows = (
            await session.execute(
                select(EVENT)
                .where(EVENT.c.seq >= expected_seq)
                .order_by(EVENT.c.seq)
                .limit(VERIFY_CHUNK)
            )
        ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return _bad(expected_seq, f"Event {expected_seq} is missing from the chain.")
            if row.prev_hash != prev or event_hash(prev, event_body(row)) != row.hash:
                return _bad(row.seq, f"Event {row.seq} does not match its hash or its link.")
            prev = row.hash
            expected_seq += 1
            count += 1
    head = await chain_head(session)
    if head.seq != count or head.hash != prev:
        first_bad = min(head.seq, count) + 1
        return _bad(
            first_bad,
            f"The chain ends at event {count} but its head row says {head.seq}.",
        )
    unsequenced = (
        await session.execute(select(func.count()).select_from(EVENT).where(EVENT.c.seq.is_(None)))
    ).scalar_one()
    if unsequenced:
        return _bad(count + 1, f"{unsequenced} events carry no sequence number.")
    return VerifyResult(ok=True, events=count, head=ChainHead(seq=count, hash=prev))


def _bad(seq: int, detail: str) -> VerifyResult:
    return VerifyResult(ok=False, first_bad_seq=seq, detail=detail)
