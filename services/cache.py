"""Every in-process cache of the service, of facts that never change once written: a component
type's code, a batch's number, a batch's BOM.

A value read inside a transaction may be that transaction's own uncommitted write (a batch and its
BOM created in the same request); were it cached and the transaction rolled back, SQLite would
reuse the id and the cache would answer for a row that never existed. So a read is used at once
but enters the shared cache only when its session commits, and is dropped when it rolls back.
Keys include the database URL, so one process serving or testing several databases never mixes
them up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import col

from models.batches import Batch, BomLine
from models.catalog import ComponentType

V = TypeVar("V")
_PENDING = "sutrace_cache_pending"


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
        if full in self._values:
            return self._values[full]
        value = await load()
        pending: list[tuple[ImmutableCache[Any], tuple[str, object], Any]]
        pending = session.sync_session.info.setdefault(_PENDING, [])
        pending.append((self, full, value))
        return value

    def _publish(self, full: tuple[str, object], value: V) -> None:
        if len(self._values) >= self._limit:
            self._values.clear()
        self._values[full] = value


@event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    for cache, full, value in session.info.pop(_PENDING, ()):
        cache._publish(full, value)


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    # Fires after `after_commit` has published, and on rollback or close without a commit.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


_type_codes: ImmutableCache[str] = ImmutableCache()
_batch_numbers: ImmutableCache[str] = ImmutableCache()
_boms: ImmutableCache[list[tuple[str | None, int, int]]] = ImmutableCache()


async def type_code_of(session: AsyncSession, type_id: int) -> str:
    """The code of component type `type_id`."""

    async def load() -> str:
        return (
            await session.execute(
                select(col(ComponentType.code)).where(col(ComponentType.id) == type_id)
            )
        ).scalar_one()

    return await _type_codes.get(session, type_id, load)


async def batch_number_of(session: AsyncSession, batch_id: int) -> str:
    """The batch number of batch `batch_id`."""

    async def load() -> str:
        return (
            await session.execute(select(col(Batch.batch_number)).where(col(Batch.id) == batch_id))
        ).scalar_one()

    return await _batch_numbers.get(session, batch_id, load)


async def bom(session: AsyncSession, batch_id: int) -> list[tuple[str | None, int, int]]:
    """The batch's BOM lines as (step, component type id, quantity); a BOM never changes after
    the batch is created."""

    async def load() -> list[tuple[str | None, int, int]]:
        return [
            (step, type_id, quantity)
            for step, type_id, quantity in (
                await session.execute(
                    select(col(BomLine.step), col(BomLine.component_type_id), col(BomLine.quantity))
                    .where(col(BomLine.batch_id) == batch_id)
                    .order_by(col(BomLine.id))
                )
            )
        ]

    return await _boms.get(session, batch_id, load)
