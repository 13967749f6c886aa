"""Real-time events for QA dashboards, read from the audit trail after commit.

Only the line's events are streamed (scans, batch flags, lot status changes): no user, key or
other administrative event ever is, which is why supervisors may follow the stream too. A
follower may narrow it to one batch (`batch`): then only that batch's scans and flags.

Each event is an audit event of a kind a dashboard follows, its `id` the audit `seq`; a client
that reconnects with `Last-Event-ID` resumes exactly where it left off, since the trail is the
single ordered record of everything that happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.audit import AuditEvent
from services.trust import audit

KINDS = {
    "scan.record": "scan.recorded",
    "flag.raise": "flag.raised",
    "lot.status": "lot.status_changed",
}
BATCH = 500


@dataclass(frozen=True)
class Event:
    seq: int
    name: str
    data: dict[str, Any]

    def encode(self) -> str:
        payload = json.dumps(self.data, separators=(",", ":"), ensure_ascii=False)
        return f"id: {self.seq}\nevent: {self.name}\ndata: {payload}\n\n"


async def after(
    session: AsyncSession, seq: int, batch: str | None = None
) -> tuple[list[Event], int, int]:
    """The next events after `seq` (at most BATCH of the trail's rows read), of one batch when
    given. Returns the last seq read too, so that a narrow stream moves past what it skips."""
    rows = (
        await session.execute(
            select(col(AuditEvent.seq), col(AuditEvent.action), col(AuditEvent.after))
            .where(col(AuditEvent.seq) > seq, col(AuditEvent.action).in_(list(KINDS)))
            .order_by(col(AuditEvent.seq))
            .limit(BATCH)
        )
    ).all()
    events = [Event(seq=s, name=KINDS[action], data=data or {}) for s, action, data in rows]
    if batch is not None:
        events = [e for e in events if e.data.get("batch") == batch]
    return events, (rows[-1][0] if rows else seq), len(rows)


class Signal:
    """Wakes waiting streams in this process when a unit of work commits."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)


async def stream(
    sessionmaker: Callable[[], AsyncSession],
    signal: Signal,
    last_seq: int | None,
    *,
    batch: str | None = None,
    poll_seconds: float = 1.0,
    keepalive_seconds: float = 15.0,
    still_allowed: Callable[[], Awaitable[bool]] | None = None,
    recheck_seconds: float = 3.0,
    deliver: Callable[[list[Event]], Awaitable[str]] | None = None,
) -> AsyncIterator[str]:
    """Server-Sent Events from `last_seq` on (or from now); polls as a fallback for events
    committed by other workers. Each read's events are sent as they are, or as `deliver` makes
    them into one message (a page sends the view they change instead).

    `still_allowed` asks whether the follower's credential still works (a key not revoked, a
    session not ended, a user still active, a role still allowed): before every delivery and at
    least every `recheck_seconds` while idle. The stream ends the first time it says no."""
    if last_seq is None:
        # "Later" means committed after connecting: chain what is committed first, so an event
        # committed before the connection but not yet sequenced is not sent as a new one.
        async with sessionmaker() as session, session.begin():
            await audit.sequence(session, wait=True)
            last_seq = (await audit.chain_head(session)).seq
    yield ": connected\n\n"
    idle = 0.0
    checked = time.monotonic()
    while True:
        async with sessionmaker() as session:
            events, last_seq, read = await after(session, last_seq, batch)
        if still_allowed is not None and (events or time.monotonic() - checked >= recheck_seconds):
            if not await still_allowed():
                return
            checked = time.monotonic()
        if events and deliver is not None:
            yield await deliver(events)
        else:
            for event in events:
                yield event.encode()
        if read == BATCH:
            continue
        if events:
            idle = 0.0
        elif idle >= keepalive_seconds:
            yield ": keepalive\n\n"
            idle = 0.0
        await signal.wait(poll_seconds)
        idle += poll_seconds
