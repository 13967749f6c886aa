"""The audit trail as CSV, for auditors' own tools: one row per sequenced event in chain order
(seq ascending), every field of `GET /audit`, the JSON fields as the canonical JSON that was
hashed. Cells are verbatim, so the chain can be recomputed from the file alone; a spreadsheet
program should open them as text."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import canonical_json
from services.trust import audit

COLUMNS = [
    "seq",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "before",
    "after",
    "reason",
    "signature",
    "prev_hash",
    "hash",
]
JSON_COLUMNS = {"before", "after", "signature"}
CHUNK = 2000


def row_cells(row: Any) -> list[str]:
    body = {**audit.event_body(row), "prev_hash": row.prev_hash, "hash": row.hash}
    return [
        canonical_json(body[c]) if c in JSON_COLUMNS else "" if body[c] is None else str(body[c])
        for c in COLUMNS
    ]


def to_csv(rows: Iterable[Any], *, header: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(COLUMNS)
    writer.writerows(row_cells(row) for row in rows)
    return out.getvalue()


async def stream_csv(
    sessionmaker: Callable[[], AsyncSession], conditions: list[Any]
) -> AsyncIterator[bytes]:
    """Every sequenced event matching `conditions`, in chain order, a chunk at a time, each
    chunk read in its own short transaction (the export of a long trail holds no lock)."""
    yield ("\ufeff" + to_csv([])).encode("utf-8")
    last = 0
    while True:
        async with sessionmaker() as session:
            rows = (
                await session.execute(
                    select(audit.EVENT)
                    .where(*conditions, audit.EVENT.c.seq > last)
                    .order_by(audit.EVENT.c.seq)
                    .limit(CHUNK)
                )
            ).all()
        if not rows:
            return
        yield to_csv(rows, header=False).encode("utf-8")
        last = rows[-1].seq
