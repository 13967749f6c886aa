"""Genealogy over the awkward shapes of a real line: a batch that consumes its own output (a
cycle), assemblies nested in assemblies, many units of one lot in one batch, a lot reached two
ways, a reversed scan, and an overridden scan recorded as a deviation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import (
    Actors,
    add_units,
    assemble,
    batch_flags,
    change_status,
    create_batch,
    create_type,
    get_json,
    post_scan,
    receive_lot,
    record_output,
    release_lot,
    released_lot,
    scan_ok,
)


async def awkward_line(client: httpx.AsyncClient, actors: Actors) -> dict[str, Any]:
    """VB-1 uses two bag units and the filter lot three times, makes the vector lot VEC and then
    consumes some of VEC itself. KIT holds VEC and a bag; BOX holds KIT and a bag. CT-1 uses VEC
    and a quarantined filter lot by override; CT-2 uses BOX; CT-3's only bag scan is reversed."""
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    supervisor, operator = await actors.get("supervisor"), await actors.get("operator")
    for code, tracking, assembly in (
        ("BAG", "serial", False),
        ("FILTER", "lot", False),
        ("VECTOR", "lot", False),
        ("KIT", "serial", True),
        ("BOX", "serial", True),
    ):
        extra: dict[str, Any] = {"is_assembly": True, "hold_hours": 72} if assembly else {}
        await create_type(client, qa, code, tracking=tracking, **extra)
    bags = await released_lot(client, qa, warehouse, "BAG", "BG-1", 6)
    bag = await add_units(client, warehouse, bags["id"], 6)
    filters = await released_lot(client, qa, warehouse, "FILTER", "FL-1", 20)
    spare = await receive_lot(client, warehouse, "FILTER", "FL-2", 5)  # stays quarantined

    for number, coi in (("VB-1", "DONOR-1"), ("CT-1", "P-1"), ("CT-2", "P-2"), ("CT-3", "P-3")):
        await create_batch(client, supervisor, number, coi=coi)
    await scan_ok(client, operator, bag[0], "VB-1", station="ST-1")
    await scan_ok(client, operator, bag[1], "VB-1", station="ST-1")
    for _ in range(3):
        await scan_ok(client, operator, filters["code"], "VB-1", station="ST-1")
    vector = await record_output(client, supervisor, "VB-1", "VECTOR", "VB-1-OUT")
    await release_lot(client, qa, vector["id"])
    await scan_ok(client, operator, vector["code"], "VB-1", station="ST-1")  # the cycle

    parts: list[str | dict[str, Any]] = [{"lot_id": vector["id"], "quantity": 1}, bag[2]]
    kit = (await assemble(client, warehouse, "KIT", parts))["barcode"]
    box = (await assemble(client, warehouse, "BOX", [kit, bag[3]]))["barcode"]
    await scan_ok(client, operator, vector["code"], "CT-1", station="ST-2")
    r = await post_scan(client, operator, spare["code"], "CT-1", station="ST-2")
    assert r.status_code == 409, r.text
    r = await client.post(
        f"/scans/{r.json()['scan_id']}/override",
        headers=qa.headers,
        json={
            "reason": "CoA on file, release paperwork late",
            "deviation_ref": "DEV-7",
            "signature": qa.signature("Deviation approved"),
        },
    )
    assert r.status_code == 200, r.text
    await scan_ok(client, operator, box, "CT-2", station="ST-3")
    wrong = await scan_ok(client, operator, bag[4], "CT-3", station="ST-4")
    r = await client.post(
        f"/scans/{wrong['id']}/reverse",
        headers=supervisor.headers,
        json={
            "reason": "Wrong batch",
            "disposition": "return",
            "signature": supervisor.signature("Scan reversed"),
        },
    )
    assert r.status_code == 200, r.text
    return {
        "qa": qa,
        "bags": bags,
        "bag": bag,
        "filters": filters,
        "spare": spare,
        "vector": vector,
        "kit": kit,
        "box": box,
    }


@pytest.mark.req("URS-020")
@pytest.mark.req("URS-029", negative=True)
async def test_where_used_through_a_cycle_nested_assemblies_and_repeats(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    made = await awkward_line(client, actors)
    qa, bags, vector = made["qa"], made["bags"], made["vector"]
    kit, box = made["kit"], made["box"]
    used = await get_json(client, f"/lots/{bags['id']}/where-used", qa)
    # CT-3 is missing: its only scan of a bag was reversed. VB-1 appears once, however often it
    # used bags, and although it consumed its own output.
    assert [(u["batch"], u["depth"]) for u in used] == [("VB-1", 1), ("CT-2", 2), ("CT-1", 3)]
    paths = {u["batch"]: u["path"] for u in used}
    assert paths["VB-1"] == [f"lot {bags['code']}", "batch VB-1"]
    assert paths["CT-1"] == [
        f"lot {bags['code']}",
        "batch VB-1",
        f"lot {vector['code']}",
        "batch CT-1",
    ]
    # CT-2 is reached through BOX directly (bag[3]), through KIT in BOX (bag[2]) and through
    # VB-1's vector in KIT: the shortest path wins.
    assert paths["CT-2"] == [f"lot {bags['code']}", f"assembly {box}", "batch CT-2"]
    statuses = {u["batch"]: (u["status"], u["coi"]) for u in used}
    assert statuses == {
        "VB-1": ("in_progress", "DONOR-1"),
        "CT-1": ("in_progress", "P-1"),
        "CT-2": ("in_progress", "P-2"),
    }

    # From the vector lot: VB-1 used it directly (the cycle ends there), KIT holds it.
    used = await get_json(client, f"/lots/{vector['id']}/where-used", qa)
    assert [(u["batch"], u["depth"], u["path"]) for u in used] == [
        ("VB-1", 1, [f"lot {vector['code']}", "batch VB-1"]),
        ("CT-1", 1, [f"lot {vector['code']}", "batch CT-1"]),
        (
            "CT-2",
            3,
            [f"lot {vector['code']}", f"assembly {kit}", f"assembly {box}", "batch CT-2"],
        ),
    ]
    # An assembly's own lot is named by the assembly.
    kit_unit = await get_json(client, f"/units/{kit}", qa)
    used = await get_json(client, f"/lots/{kit_unit['lot']}/where-used", qa)
    assert [u["path"] for u in used] == [[f"assembly {kit}", f"assembly {box}", "batch CT-2"]]
    # A lot nobody used, and a lot only overridden into a batch.
    assert await get_json(client, f"/lots/{made['spare']['id']}/where-used", qa) == [
        {
            "batch": "CT-1",
            "status": "in_progress",
            "coi": "P-1",
            "depth": 1,
            "path": [f"lot {made['spare']['code']}", "batch CT-1"],
        }
    ]
    fresh = await released_lot(client, qa, await actors.get("warehouse"), "FILTER", "FL-3", 1)
    assert await get_json(client, f"/lots/{fresh['id']}/where-used", qa) == []


@pytest.mark.req("URS-027", "URS-020")
@pytest.mark.req("URS-030", negative=True)
async def test_backward_trace_through_a_cycle_nested_assemblies_and_repeats(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    made = await awkward_line(client, actors)
    qa, bag, vector, kit, box = made["qa"], made["bag"], made["vector"], made["kit"], made["box"]
    filters = made["filters"]
    trace = await get_json(client, "/batches/CT-2/genealogy", qa)
    items = [(i["unit"] or i["lot_code"], i["used_in"], i["depth"]) for i in trace["items"]]
    # VB-1's own use of VEC is listed once, under VB-1: the walk does not go round the cycle.
    assert sorted(items) == sorted(
        [
            (box, "CT-2", 1),
            (kit, box, 2),
            (bag[3], box, 2),
            (vector["code"], kit, 3),
            (bag[2], kit, 3),
            (bag[0], "VB-1", 5),
            (bag[1], "VB-1", 5),
            (filters["code"], "VB-1", 5),
            (filters["code"], "VB-1", 5),
            (filters["code"], "VB-1", 5),
            (vector["code"], "VB-1", 5),
        ]
    )
    assert [i["depth"] for i in trace["items"]] == sorted(i["depth"] for i in trace["items"])
    bag0 = next(i for i in trace["items"] if i["unit"] == bag[0])
    assert bag0["path"] == [
        "batch CT-2",
        f"assembly {box}",
        f"assembly {kit}",
        f"lot {vector['code']}",
        "batch VB-1",
        f"unit {bag[0]}",
    ]
    assert bag0["kind"] == "unit" and bag0["unit_status_now"] == "consumed"
    assert bag0["status_at_use"] == "released" and bag0["station"] == "ST-1"
    kit_item = next(i for i in trace["items"] if i["unit"] == kit)
    assert kit_item["path"] == ["batch CT-2", f"assembly {box}", f"unit {kit}"]
    assert kit_item["operator"] == "warehouse1" and kit_item["scan_id"] is None

    ct1 = await get_json(client, "/batches/CT-1/genealogy", qa)
    spare = next(i for i in ct1["items"] if i["lot_code"] == made["spare"]["code"])
    assert spare["status_at_use"] == "quarantined" and spare["operator"] == "operator1"
    assert [d["code"] for d in spare["deviations"]] == ["QUARANTINED"]
    assert spare["deviations"][0]["deviation_ref"] == "DEV-7"
    # The reversed scan is not part of what went into CT-3.
    assert (await get_json(client, "/batches/CT-3/genealogy", qa))["items"] == []

    # A recall after use flags every batch downstream, once each, and the trace shows it.
    r = await change_status(client, qa, filters["id"], "recalled", reason="Notice 9")
    assert r.status_code == 200, r.text
    assert sorted(f["batch"] for f in r.json()["flags_raised"]) == ["CT-1", "CT-2", "VB-1"]
    assert len(await batch_flags(client, qa, "CT-2", "open")) == 1
    trace = await get_json(client, "/batches/CT-2/genealogy", qa)
    recalled = [i for i in trace["items"] if i["lot_code"] == filters["code"]]
    assert {i["status_now"] for i in recalled} == {"recalled"}
    assert all(
        [d["code"] for d in i["deviations"]] == ["LOT_STATUS_CHANGED_AFTER_USE"] for i in recalled
    )
