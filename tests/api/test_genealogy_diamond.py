"""Genealogy over a diamond: two batches per level, each using both lots the level above made.
Every batch of level n is reached by 2^(n-1) paths; the traces must still list each batch (and
each item) once, with its depth and one shortest path, and answer without walking every path."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import (
    Actors,
    create_batch,
    create_type,
    get_json,
    record_output,
    release_lot,
    released_lot,
    scan_ok,
)

LEVELS = 18


async def diamond(client: httpx.AsyncClient, actors: Actors, levels: int) -> dict[str, Any]:
    """Level 1: batches D1A and D1B each use the root lot and make a lot; level n: DnA and DnB
    each use both lots level n-1 made. Returns the root lot and the lots by level."""
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    supervisor, operator = await actors.get("supervisor"), await actors.get("operator")
    await create_type(client, qa, "MEDIUM", tracking="lot")
    await create_type(client, qa, "CELLS", tracking="lot")
    root = await released_lot(client, qa, warehouse, "MEDIUM", "MD-1", 10)
    above = [root]
    made: list[list[dict[str, Any]]] = []
    for level in range(1, levels + 1):
        lots = []
        for side in "AB":
            number = f"D{level}{side}"
            await create_batch(client, supervisor, number)
            for lot in above:
                await scan_ok(client, operator, lot["code"], number)
            output = await record_output(client, supervisor, number, "CELLS", f"{number}-OUT")
            lots.append(await release_lot(client, qa, output["id"]))
        made.append(lots)
        above = lots
    return {"root": root, "made": made, "qa": qa}


@pytest.mark.req("URS-029", "URS-064")
@pytest.mark.req("URS-064", negative=True)
async def test_traces_of_a_diamond_list_each_batch_once_by_a_shortest_path(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await diamond(client, actors, LEVELS)
    root, made, qa = line["root"], line["made"], line["qa"]

    used = await get_json(client, f"/lots/{root['id']}/where-used", qa)
    # Every batch once, level by level, at depth 2n - 1 (batch, lot, batch, ...).
    assert [(u["batch"], u["depth"]) for u in used] == [
        (f"D{level}{side}", 2 * level - 1) for level in range(1, LEVELS + 1) for side in "AB"
    ]
    for u in used:
        path = u["path"]
        assert len(path) == u["depth"] + 1
        assert path[0] == f"lot {root['code']}" and path[-1] == f"batch {u['batch']}"
        # Each step of the path is a real use: the batch of level n used a lot of level n - 1
        # and made the lot after it.
        level = 1
        for i in range(1, len(path) - 1, 2):
            batch, lot = path[i].removeprefix("batch "), path[i + 1].removeprefix("lot ")
            assert batch in (f"D{level}A", f"D{level}B")
            assert lot == made[level - 1]["AB".index(batch[-1])]["code"]
            level += 1
    # The same answer on every call.
    assert await get_json(client, f"/lots/{root['id']}/where-used", qa) == used

    # Nothing above a lot comes back from it: the last level's lots went nowhere, a lot of the
    # level before only into the last level's two batches.
    assert await get_json(client, f"/lots/{made[-1][0]['id']}/where-used", qa) == []
    below = await get_json(client, f"/lots/{made[-2][1]['id']}/where-used", qa)
    assert [(u["batch"], u["depth"]) for u in below] == [
        (f"D{LEVELS}A", 1),
        (f"D{LEVELS}B", 1),
    ]

    # Backward from the last level: each lot once, at its least depth.
    last = f"D{LEVELS}A"
    trace = await get_json(client, f"/batches/{last}/genealogy", qa)
    items = [(i["lot_code"], i["used_in"], i["depth"]) for i in trace["items"]]
    # A batch of level k is a container at depth 2 (LEVELS - k); what it used is one deeper.
    deepest = 2 * (LEVELS - 1) + 1
    expected = [(root["code"], "D1A", deepest), (root["code"], "D1B", deepest)]
    for level in range(2, LEVELS + 1):
        for user in "AB" if level < LEVELS else "A":
            for lot in made[level - 2]:
                expected.append((lot["code"], f"D{level}{user}", 2 * (LEVELS - level) + 1))
    # D{LEVELS}B, made beside it, is not in it.
    assert sorted(items) == sorted(expected)
    assert len(items) == len(set(items))
    for item in trace["items"]:
        assert item["path"][0] == f"batch {last}"
        assert len(item["path"]) == item["depth"] + 1
