"""In-process caches of facts that never change once written (a type's code, a batch's number).

Keyed by the database as well, so that one process serving or testing several databases never
mixes them up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

V = TypeVar("V")


class ImmutableCache(Generic[V]):
    def __init__(self, limit: int = 100_000) -> None:
        self._values: dict[tuple[str, object], V] = {}
        self._limit = limit

    async def get(
        self,
        session: AsyncSession,
        key: object,
        load: Callable[[], Awaitable[V]],
    ) -> V:
        full = (str(session.get_bind().engine.url), key)
        if full not in self._values:
            if len(self._values) >= self._limit:
                self._values.clear()
            self._values[full] = await load()
        return self._values[full]
