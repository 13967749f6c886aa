"""The codes the service assigns: lot codes `L-000042`, unit barcodes `U-00000042`.

Both start with a letter, so they are never mistaken for GS1 element strings, and both match
`[A-Z0-9-]+`, printable in Code 128. Numbers come from a counter row updated in SQL, which
reserves a whole block at once for bulk unit registration and is safe across workers.
"""

from __future__ import annotations

import re

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.lots import Counter

LOT_CODE = re.compile(r"^L-\d{6,}$")
UNIT_BARCODE = re.compile(r"^U-\d{8,}$")


async def reserve(session: AsyncSession, name: str, count: int = 1) -> int:
    """Reserve `count` consecutive numbers of counter `name`; returns the first."""
    last = (
        await session.execute(
            update(Counter)
            .where(col(Counter.name) == name)
            .values(value=col(Counter.value) + count)
            .returning(col(Counter.value))
        )
    ).scalar_one()
    return int(last) - count + 1


def lot_code(number: int) -> str:
    return f"L-{number:06d}"


def unit_barcode(number: int) -> str:
    return f"U-{number:08d}"
