"""Assemblies over HTTP: a kit built from units and lot quantities is a unit of its own, in an
internal released lot, with the earliest expiry; at the line it is blocked whenever a part
would be, at any nesting depth, and the flag names the part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support import (
    UNIT_FIELDS,
    Actors,
    Line,
    add_units,
    assert_blocked,
    assert_problem,
    audit_seq,
    batch_flags,
    change_status,
    create_batch,
    create_type,
    flag_message,
    get_json,
    line_staff,
    lot_total,
    post_scan,
    receive_lot,
    release_lot,
    released_lot,
    scan_ok,
    site_today,
)

BATCH = "B-100"


async def _line(client: httpx.AsyncClient, actors: Actors) -> Line:
    """BAG (serial) and SET (lot) parts; KIT (assembly, held 1000 days) and KIT48 (held 48
    hours); PACK, an assembly of assemblies; batch B-100 in progress."""
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial")
    await create_type(client, line.qa, "SET", tracking="lot")
    for code, hours in (("KIT", 24 * 1000), ("KIT48", 48), ("PACK", 24 * 1000)):
        await create_type(
            client,
            line.qa,
            code,
            tracking="serial",
            category="kit",
            is_assembly=True,
            hold_hours=hours,
        )
    await create_batch(client, line.supervisor, BATCH)
    return line


async def _build(
    client: httpx.AsyncClient, line: Line, component_type: str, *components: dict[str, Any]
) -> httpx.Response:
    body = {"component_type": component_type, "components": list(components)}
    return await client.post("/assemblies", json=body, headers=line.warehouse.headers)


async def _built(
    client: httpx.AsyncClient, line: Line, component_type: str, *components: dict[str, Any]
) -> dict[str, Any]:
    r = await _build(client, line, component_type, *components)
    assert r.status_code == 201, r.text
    unit: dict[str, Any] = r.json()
    return unit


async def _unit(client: httpx.AsyncClient, line: Line, barcode: str) -> dict[str, Any]:
    unit: dict[str, Any] = await get_json(client, f"/units/{barcode}", line.qa)
    return unit


async def _lot(client: httpx.AsyncClient, line: Line, lot_id: int) -> dict[str, Any]:
    lot: dict[str, Any] = await get_json(client, f"/lots/{lot_id}", line.qa)
    return lot


@pytest.mark.req("URS-035", "URS-014", "URS-034")
async def test_build_from_units_and_lot_quantities(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    bags = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1", quantity=4)
    first, second = await add_units(client, line.warehouse, bags["id"], 2)
    set_expiry = site_today() + timedelta(days=100)
    sets = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1", 10, set_expiry)
    kit = await _built(
        client, line, "KIT", {"barcode": first}, {"lot_id": sets["id"], "quantity": 3}
    )
    assert set(kit) == UNIT_FIELDS
    assert kit["component_type"] == "KIT" and kit["status"] == "available"
    assert kit["barcode"] not in (first, second) and kit["barcode"].startswith("U-")
    assert kit["usable"] is True and kit["blocking"] == []
    # The earliest of its parts' expiry and of build time plus hold_hours.
    assert kit["expiry_date"] == set_expiry.isoformat()
    internal = await _lot(client, line, kit["lot"])
    assert internal["code"] == kit["lot_code"] and internal["component_type"] == "KIT"
    assert internal["supplier"] == "in-house" and internal["status"] == "released"
    assert internal["quantity_received"] == 1
    assert internal["expiry_date"] == set_expiry.isoformat()
    assert internal["id"] not in (bags["id"], sets["id"])
    # Its parts are consumed into it.
    assert (await _unit(client, line, first))["status"] == "consumed"
    assert (await _unit(client, line, second))["status"] == "available"
    assert (await _lot(client, line, sets["id"]))["quantity_left"] == 7
    counts = await get_json(client, f"/lots/{sets['id']}/reconciliation", line.qa)
    assert (counts["consumed"], counts["on_hand"]) == (3, 7)
    assert counts["received"] == counts["consumed"] + counts["discarded"] + counts["on_hand"]
    # A short hold time comes before the parts' expiry.
    before = (datetime.now(UTC) + timedelta(hours=48)).date().isoformat()
    short = await _built(client, line, "KIT48", {"barcode": second})
    after = (datetime.now(UTC) + timedelta(hours=48)).date().isoformat()
    assert short["expiry_date"] in (before, after)
    # The kit goes into a batch as one unit.
    answer = await scan_ok(client, line.operator, kit["barcode"], BATCH)
    assert answer["unit"] == kit["barcode"] and answer["component_type"] == "KIT"
    assert (await _unit(client, line, kit["barcode"]))["status"] == "consumed"


@pytest.mark.req("URS-046", "URS-035", negative=True)
async def test_only_the_warehouse_builds(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    bags = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1")
    [bag] = await add_units(client, line.warehouse, bags["id"])
    total = await lot_total(client, line.qa.headers)
    body = {"component_type": "KIT", "components": [{"barcode": bag}]}
    r = await client.post("/assemblies", json=body, headers=line.operator.headers)
    assert_problem(r, 403, "ROLE_NOT_ALLOWED")
    assert (await _unit(client, line, bag))["status"] == "available"
    assert await lot_total(client, line.qa.headers) == total


@pytest.mark.req("URS-035", "URS-011", "URS-002", negative=True)
async def test_a_kit_is_blocked_while_a_part_is_quarantined(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    bags = await receive_lot(client, line.warehouse, "BAG", "BB-1", coa_ref="COA-1")
    [bag] = await add_units(client, line.warehouse, bags["id"])
    sets = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    kit = await _built(client, line, "KIT", {"barcode": bag}, {"lot_id": sets["id"], "quantity": 1})
    r = await post_scan(client, line.operator, kit["barcode"], BATCH)
    body = assert_blocked(r, 409, "QUARANTINED")
    message = flag_message(body, "QUARANTINED")
    assert bag in message and "quarantined" in message
    assert (await _unit(client, line, kit["barcode"]))["status"] == "available"
    assert await batch_flags(client, line.qa, BATCH) == []
    # Released, the part no longer blocks the kit.
    await release_lot(client, line.qa, bags["id"])
    await scan_ok(client, line.operator, kit["barcode"], BATCH)


@pytest.mark.req("URS-033")
@pytest.mark.req("URS-035", negative=True)
async def test_the_kit_view_shows_what_blocks_a_part(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    bags = await receive_lot(client, line.warehouse, "BAG", "BB-1")
    [bag] = await add_units(client, line.warehouse, bags["id"])
    kit = await _built(client, line, "KIT", {"barcode": bag})
    assert_blocked(
        await post_scan(client, line.operator, kit["barcode"], BATCH), 409, "QUARANTINED"
    )
    view = await _unit(client, line, kit["barcode"])
    assert view["usable"] is False and view["blocking"] == ["QUARANTINED"]


@pytest.mark.req("URS-035", "URS-011", negative=True)
async def test_a_kit_is_blocked_when_a_part_is_recalled(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    bags = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1")
    [bag] = await add_units(client, line.warehouse, bags["id"])
    sets = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    kit = await _built(client, line, "KIT", {"barcode": bag}, {"lot_id": sets["id"], "quantity": 2})
    for lot in (bags, sets):
        assert (await change_status(client, line.qa, lot["id"], "recalled")).status_code == 200
    body = assert_blocked(
        await post_scan(client, line.operator, kit["barcode"], BATCH), 409, "RECALLED", "RECALLED"
    )
    messages = [f["message"] for f in body["flags"]]
    assert any(bag in m for m in messages), messages
    assert any(sets["code"] in m and bag not in m for m in messages), messages
    assert (await _unit(client, line, kit["barcode"]))["status"] == "available"


@pytest.mark.req("URS-035", "URS-011", negative=True)
async def test_a_nested_kit_is_blocked_when_an_inner_part_is_recalled(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    bags = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1")
    [bag] = await add_units(client, line.warehouse, bags["id"])
    kit = await _built(client, line, "KIT", {"barcode": bag})
    pack = await _built(client, line, "PACK", {"barcode": kit["barcode"]})
    assert (await _unit(client, line, kit["barcode"]))["status"] == "consumed"
    assert (await change_status(client, line.qa, bags["id"], "recalled")).status_code == 200
    body = assert_blocked(
        await post_scan(client, line.operator, pack["barcode"], BATCH), 409, "RECALLED"
    )
    assert bag in flag_message(body, "RECALLED")
    assert (await _unit(client, line, pack["barcode"]))["status"] == "available"


@pytest.mark.req("URS-035", "URS-014", negative=True)
async def test_a_used_part_cannot_be_built_in(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    bags = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1")
    used, fresh = await add_units(client, line.warehouse, bags["id"], 2)
    sets = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1", quantity=5)
    await scan_ok(client, line.operator, used, BATCH)
    total = await lot_total(client, line.qa.headers)
    head = await audit_seq(client)
    r = await _build(
        client,
        line,
        "KIT",
        {"barcode": fresh},
        {"barcode": used},
        {"lot_id": sets["id"], "quantity": 1},
    )
    assert used in assert_problem(r, 409, "PART_NOT_USABLE")["detail"]
    r = await _build(client, line, "KIT", {"barcode": fresh}, {"lot_id": sets["id"], "quantity": 6})
    assert sets["code"] in assert_problem(r, 409, "PART_NOT_USABLE")["detail"]
    assert await audit_seq(client) == head
    assert await lot_total(client, line.qa.headers) == total
    assert (await _unit(client, line, fresh))["status"] == "available"
    assert (await _lot(client, line, sets["id"]))["quantity_left"] == 5
