"""Natural keys of records that never change once written, cached in-process."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.batches import Batch
from services.cache import ImmutableCache

_batch_numbers: ImmutableCache[str] = ImmutableCache()


async def batch_number_of(session: AsyncSession, batch_id: int) -> str:
    async def load() -> str:
        return (
            await session.execute(select(col(Batch.batch_number)).where(col(Batch.id) == batch_id))
        ).scalar_one()

    return await _batch_numbers.get(session, batch_id, load)
