"""Is the database reachable? The answer `/healthz` gives, asked of the database at most once a
second per process however often it is asked.

A health check is polled (by a load balancer, an orchestrator, a monitor) and must stay cheap
under load: a `SELECT 1` in a unit of work per poll is three round trips (BEGIN, SELECT, COMMIT)
and held `/healthz` under 1,000/s on two workers. The probe asks with one statement on a pooled
connection, remembers the answer for `fresh` seconds, and callers who arrive while a probe is in
flight wait for that one instead of starting their own. So a database that stops answering is
reported within `fresh` seconds plus `timeout`, and a poll costs no round trip in between.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_SELECT_1 = text("SELECT 1")


class DatabaseProbe:
    def __init__(self, engine: AsyncEngine, *, fresh: float = 1.0, timeout: float = 2.0) -> None:
        self._engine = engine
        self._fresh = fresh
        self._timeout = timeout
        self._asked_at = -float("inf")  # time.monotonic() of the last answer
        self._reachable = False
        self._asking: asyncio.Future[bool] | None = None

    async def reachable(self) -> bool:
        """Whether the database answered a `SELECT 1` (within the timeout) in the last
        `fresh` seconds; asks it when the last answer is older."""
        if time.monotonic() - self._asked_at < self._fresh:
            return self._reachable
        if self._asking is None:
            self._asking = asyncio.ensure_future(self._ask())
        # Shielded: a caller that gives up does not cancel the probe the others wait for.
        return await asyncio.shield(self._asking)

    async def _ask(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                async with self._engine.connect() as connection:
                    await connection.execute(_SELECT_1)
            reachable = True
        except Exception:  # any failure to answer is "unreachable", never an error of ours
            reachable = False
        finally:
            self._asking = None
        self._reachable, self._asked_at = reachable, time.monotonic()
        return reachable
