"""measure"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from tests.support import (
    Actors,
    add_units,
    change_status,
    create_batch,
    create_type,
    line_staff,
    post_scan,
    record_output,
    release_lot,
    released_lot,
)


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        sql = str(args[2])
        if "audit_head" in sql or "seq IS NULL" in sql:
            return
        seen.append(" ".join(sql.split())[:150])

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_measure(app: FastAPI, client: httpx.AsyncClient, actors: Actors, db_url: str) -> None:
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial")
    await create_type(client, line.qa, "SET", tracking="lot")
    bags = await released_lot(client, line.qa, line.warehouse, "BAG", "BG-1", 20)
    units = await add_units(client, line.warehouse, bags["id"], 10)
    sets = await released_lot(client, line.qa, line.warehouse, "SET", "ST-1", 20)
    await create_batch(client, line.supervisor, "B-1")
    await create_batch(client, line.supervisor, "B-2", bom=[{"component_type": "BAG", "quantity": 5}, {"component_type": "SET", "quantity": 5}])
    await create_batch(client, line.supervisor, "B-SRC")
    made = await record_output(client, line.supervisor, "B-SRC", "BAG", "MADE-1")
    await release_lot(client, line.qa, made["id"])
    made_units = await add_units(client, line.warehouse, made["id"], 3)
    q = await released_lot(client, line.qa, line.warehouse, "BAG", "BG-Q", 5)
    q_units = await add_units(client, line.warehouse, q["id"], 2)
    await change_status(client, line.qa, q["id"], "quarantined")
    # warm caches
    await post_scan(client, line.operator, units[9], "B-1")
    await post_scan(client, line.operator, units[8], "B-2")
    cases = [
        ("unit, no BOM", units[0], "B-1", {}),
        ("unit, BOM", units[1], "B-2", {}),
        ("lot code, BOM", sets["code"], "B-2", {"quantity": 2}),
        ("unit of made lot, BOM", made_units[0], "B-2", {}),
        ("unit of made lot, no BOM", made_units[1], "B-1", {}),
        ("blocked quarantined, no BOM", q_units[0], "B-1", {}),
        ("blocked quarantined, BOM", q_units[1], "B-2", {}),
        ("blocked already used", units[0], "B-1", {}),
    ]
    out = []
    for name, barcode, batch, extra in cases:
        with statements(app) as seen:
            r = await post_scan(client, line.operator, barcode, batch, **extra)
        out.append(f"== {db_url.split(':')[0]} {name}: {r.status_code} {len(seen)} statements")
        out += ["   " + s for s in seen]
    with open(f"/tmp/i10scan/measure-{db_url.split(':')[0]}.txt", "w") as f:
        f.write("\n".join(out) + "\n")
