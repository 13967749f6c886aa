"""A page of scans or flags is read in a fixed number of statements, whatever its size: each
item's lot, unit, type and batch come with the page, not one query per item (N+1)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support import (
    Actors,
    add_units,
    change_status,
    create_batch,
    create_type,
    get_json,
    line_staff,
    released_lot,
    scan_ok,
    statements,
)

_TRANSACTION_CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK")


def _not_the_page(sql: str) -> bool:
    """The audit sequencer's rounds (its reads and writes name audit tables) and transaction
    control (on SQLite every transaction, the sequencer's too, opens with BEGIN IMMEDIATE and a
    SAVEPOINT, so a round that overlaps the request would add them to its count)."""
    return "audit_" in sql or sql.startswith(_TRANSACTION_CONTROL)


async def counted(
    app: FastAPI, client: httpx.AsyncClient, path: str, headers: dict[str, str], limit: int
) -> tuple[int, list[dict[str, Any]]]:
    with statements(app, _not_the_page) as seen:
        r = await client.get(path, params={"limit": limit}, headers=headers)
    assert r.status_code == 200, r.text
    return len(seen), r.json()["items"]


@pytest.mark.req("URS-065")
async def test_a_page_of_scans_or_flags_is_read_in_the_same_statements_whatever_its_size(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await line_staff(actors)
    await create_type(client, line.qa, "FILTER", tracking="lot")
    await create_type(client, line.qa, "BAG", tracking="serial")
    filters = [
        await released_lot(client, line.qa, line.warehouse, "FILTER", f"FL-{i}", 5)
        for i in range(4)
    ]
    bags = await released_lot(client, line.qa, line.warehouse, "BAG", "BG-1", 2)
    units = await add_units(client, line.warehouse, bags["id"], 2)
    for number in ("B-1", "B-2", "B-3"):
        await create_batch(client, line.supervisor, number)
    for lot in filters:
        await scan_ok(client, line.operator, lot["code"], "B-1")
    for unit in units:
        await scan_ok(client, line.operator, unit, "B-1")
    # Three batches used filter lot 0; quarantining it flags each of them.
    await scan_ok(client, line.operator, filters[0]["code"], "B-2")
    await scan_ok(client, line.operator, filters[0]["code"], "B-3")
    r = await change_status(client, line.qa, filters[0]["id"], "quarantined")
    assert r.status_code == 200, r.text

    one, _ = await counted(app, client, "/batches/B-1/scans", line.qa.headers, 1)
    six, page = await counted(app, client, "/batches/B-1/scans", line.qa.headers, 6)
    assert six == one, f"a page of 1 scan took {one} statements, a page of 6 took {six}"
    assert [(s["lot_code"], s["unit"], s["component_type"], s["batch"]) for s in page] == [
        *((lot["code"], None, "FILTER", "B-1") for lot in filters),
        *((bags["code"], unit, "BAG", "B-1") for unit in units),
    ]

    one, _ = await counted(app, client, "/flags", line.qa.headers, 1)
    three, page = await counted(app, client, "/flags", line.qa.headers, 3)
    assert three == one, f"a page of 1 flag took {one} statements, a page of 3 took {three}"
    assert sorted((f["batch"], f["lot_code"], f["code"]) for f in page) == [
        (number, filters[0]["code"], "LOT_STATUS_CHANGED_AFTER_USE")
        for number in ("B-1", "B-2", "B-3")
    ]
    assert page == (await get_json(client, "/flags", line.qa))["items"]
    flagged = await get_json(client, "/batches/B-2/flags", line.qa)
    assert [f["lot_code"] for f in flagged["items"]] == [filters[0]["code"]]
