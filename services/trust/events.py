"""Real-time events for QA dashboards, read from the audit trail after commit.

Each event is an audit event of a kind a dashboard follows, its `id` the audit `seq`; a client
that reconnects with `Last-Event-ID` resumes exactly where it left off, since the trail is the
single ordered record of everything that happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
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


async def after(session: AsyncSession, seq: int) -> list[Event]:
    rows = (
        await session.execute(
            select(col(AuditEvent.seq), col(AuditEvent.action), col(AuditEvent.after))
            .where(col(AuditEvent.seq) > seq, col(AuditEvent.action).in_(list(KINDS)))
            .order_by(col(AuditEvent.seq))
            .limit(BATCH)
        )
    ).all()
    return [Event(seq=s, name=KINDS[action], data=data or {}) for s, action, data in rows]


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
    poll_seconds: float = 1.0,
    keepalive_seconds: float = 15.0,
) -> AsyncIterator[str]:
    """Server-Sent Events from `last_seq` on (or from now); polls as a fallback for events
    committed by other workers."""
    if last_seq is None:
        # "Later" means committed after connecting: chain what is committed first, so an event
        # committed before the connection but not yet sequenced is not sent as a new one.
        async with sessionmaker() as session, session.begin():
            await audit.sequence(session, wait=True)
            last_seq = (await audit.chain_head(session)).seq
    yield ": connected\n\n"
    idle = 0.0
    while True:
        async with sessionmaker() as session:
            events = await after(session, last_seq)
        for event in events:
            yield event.encode()
            last_seq = event.seq
        if len(events) == BATCH:
            continue
        if events:
            idle = 0.0
        elif idle >= keepalive_seconds:
            yield ": keepalive\n\n"
            idle = 0.0
        await signal.wait(poll_seconds)
        idle += poll_seconds
