"""Genealogy at any depth: forward and backward traces, and exports that list the same items."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pypdf
import pytest

from tests.support import (
    Actor,
    Actors,
    assemble,
    change_status,
    create_type,
    receive_lot,
    record_output,
    release_lot,
)


async def _batch(client: httpx.AsyncClient, supervisor: Actor, number: str, coi: str) -> None:
    r = await client.post(
        "/batches",
        headers=supervisor.headers,
        json={"batch_number": number, "product": "Product", "coi": coi},
    )
    assert r.status_code == 201, r.text
    assert (
        await client.post(f"/batches/{number}/start", headers=supervisor.headers)
    ).status_code == 200


async def _scan(
    client: httpx.AsyncClient,
    operator: Actor,
    barcode: str,
    batch: str,
    quantity: int | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"barcode": barcode, "batch": batch, "station": "ST-1"}
    if quantity:
        body["quantity"] = quantity
    r = await client.post("/scans", headers=operator.headers, json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def three_levels(client: httpx.AsyncClient, actors: Actors) -> dict[str, Any]:
    """A vector batch consumes a bag unit and a filter lot; its output vector lot is consumed by
    two cell therapy batches, one of them through an assembly."""
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    supervisor, operator = await actors.get("supervisor"), await actors.get("operator")
    await create_type(client, qa, "BAG", tracking="serial")
    await create_type(client, qa, "FILTER")
    await create_type(client, qa, "VECTOR")
    await create_type(client, qa, "KIT", tracking="serial", is_assembly=True, hold_hours=72)
    bags = await receive_lot(client, warehouse, "BAG", "BG-1", 5, coa_ref="C1")
    filters = await receive_lot(client, warehouse, "FILTER", "FL-1", 20, coa_ref="C2")
    for lot in (bags, filters):
        await release_lot(client, qa, lot["id"])
    units = (
        await client.post(f"/lots/{bags['id']}/units", headers=warehouse.headers, json={"count": 2})
    ).json()["items"]
    await _batch(client, supervisor, "VB-1", "DONOR-1")
    await _scan(client, operator, units[0]["barcode"], "VB-1")
    await _scan(client, operator, filters["code"], "VB-1", quantity=2)
    vector = await record_output(client, supervisor, "VB-1", "VECTOR", "VB-1-OUT")
    assert vector["source_batch"] == "VB-1" and vector["status"] == "quarantined"
    await release_lot(client, qa, vector["id"])
    await _batch(client, supervisor, "CT-1", "PATIENT-1")
    await _batch(client, supervisor, "CT-2", "PATIENT-2")
    await _scan(client, operator, vector["code"], "CT-1")
    kit = await assemble(
        client, warehouse, "KIT", [{"lot_id": vector["id"], "quantity": 1}, units[1]["barcode"]]
    )
    await _scan(client, operator, kit["barcode"], "CT-2")
    return {
        "bags": bags,
        "filters": filters,
        "vector": vector,
        "units": units,
        "kit": kit,
        "qa": qa,
    }


@pytest.mark.req("URS-029", "URS-024")
async def test_forward_trace_finds_every_batch_at_any_depth(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    made = await three_levels(client, actors)
    qa = made["qa"]
    r = await client.get(f"/lots/{made['bags']['id']}/where-used", headers=qa.headers)
    found = {u["batch"]: u for u in r.json()}
    assert set(found) == {"VB-1", "CT-1", "CT-2"}
    assert found["VB-1"]["path"] == [f"lot {made['bags']['code']}", "batch VB-1"]
    assert found["CT-1"]["depth"] == 3 and found["CT-1"]["coi"] == "PATIENT-1"
    assert found["CT-1"]["path"] == [
        f"lot {made['bags']['code']}",
        "batch VB-1",
        f"lot {made['vector']['code']}",
        "batch CT-1",
    ]
    # CT-2 is reached two ways (the bag unit in the kit, and the vector); the shortest wins.
    assert found["CT-2"]["path"] == [
        f"lot {made['bags']['code']}",
        f"assembly {made['kit']['barcode']}",
        "batch CT-2",
    ]
    assert found["CT-2"]["status"] == "in_progress"
    r = await client.get(f"/lots/{made['filters']['id']}/where-used", headers=qa.headers)
    assert {u["batch"]: u["depth"] for u in r.json()} == {"VB-1": 1, "CT-1": 3, "CT-2": 4}


@pytest.mark.req("URS-027")
@pytest.mark.req("URS-030", negative=True)
async def test_exports_list_the_same_items(client: httpx.AsyncClient, actors: Actors) -> None:
    made = await three_levels(client, actors)
    qa = made["qa"]
    # A recall after use: the flag shows up in every export, against the batch.
    r = await change_status(client, qa, made["filters"]["id"], "recalled", reason="Notice 7")
    assert {f["batch"] for f in r.json()["flags_raised"]} == {"VB-1", "CT-1", "CT-2"}
    r = await client.get("/batches/CT-2/genealogy", headers=qa.headers)
    assert r.status_code == 200, r.text
    trace = r.json()
    assert trace["batch"] == "CT-2" and trace["coi"] == "PATIENT-2"
    items = {(i["unit"] or i["lot_code"], i["used_in"]) for i in trace["items"]}
    expected = {
        (made["kit"]["barcode"], "CT-2"),
        (made["vector"]["code"], made["kit"]["barcode"]),
        (made["units"][1]["barcode"], made["kit"]["barcode"]),
        (made["units"][0]["barcode"], "VB-1"),
        (made["filters"]["code"], "VB-1"),
    }
    assert items == expected
    filters_item = next(i for i in trace["items"] if i["lot_code"] == made["filters"]["code"])
    assert filters_item["status_at_use"] == "released" and filters_item["status_now"] == "recalled"
    assert filters_item["operator"] == "operator1" and filters_item["station"] == "ST-1"
    assert filters_item["quantity"] == 2 and filters_item["depth"] == 4
    assert filters_item["path"] == [
        "batch CT-2",
        f"assembly {made['kit']['barcode']}",
        f"lot {made['vector']['code']}",
        "batch VB-1",
        f"lot {made['filters']['code']}",
    ]
    assert any(d["code"] == "LOT_STATUS_CHANGED_AFTER_USE" for d in filters_item["deviations"])
    head = (await client.get("/audit/head", headers=qa.headers)).json()

    r = await client.get("/batches/CT-2/genealogy", params={"format": "csv"}, headers=qa.headers)
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {(row["unit"] or row["lot_code"], row["used_in"]) for row in rows} == expected
    assert len(rows) == len(trace["items"])
    assert all(" > " in row["path"] for row in rows)

    r = await client.get("/batches/CT-2/genealogy", params={"format": "pdf"}, headers=qa.headers)
    assert r.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(r.content)).pages)
    assert "CT-2" in text and "PATIENT-2" in text
    for name, _ in expected:
        assert name in text, name
    assert "LOT_STATUS_CHANGED_AFTER_USE" in text
    assert head["hash"] in text.replace("\n", "")

    r = await client.get("/batches/CT-2/genealogy", params={"format": "svg"}, headers=qa.headers)
    assert r.headers["content-type"].startswith("image/svg+xml")
    svg = r.text
    for name, _ in expected:
        assert name in svg
    assert (
        await client.get("/batches/CT-2/genealogy", params={"format": "xls"}, headers=qa.headers)
    ).status_code == 422


@pytest.mark.req("URS-031")
async def test_unit_history_tells_the_whole_story(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    made = await three_levels(client, actors)
    qa, operator = made["qa"], await actors.get("operator")
    bag = made["units"][1]["barcode"]  # built into the kit
    r = await client.get(f"/units/{bag}/history", headers=qa.headers)
    events = [e["event"] for e in r.json()]
    assert events == ["received", "lot.released", "labelled", "built_into_assembly"], r.json()
    scanned = made["units"][0]["barcode"]
    r = await client.post(
        "/scans", headers=operator.headers, json={"barcode": scanned, "batch": "CT-1"}
    )
    assert r.status_code == 409
    history = (await client.get(f"/units/{scanned}/history", headers=qa.headers)).json()
    assert [e["event"] for e in history] == [
        "received",
        "lot.released",
        "labelled",
        "scan.accepted",
        "scan.blocked",
    ]
    assert "ALREADY_USED" in history[-1]["detail"] and history[-1]["actor"] == "operator1"
    assert [e["at"] for e in history] == sorted(e["at"] for e in history)
    kit = (await client.get(f"/units/{made['kit']['barcode']}/history", headers=qa.headers)).json()
    assert [e["event"] for e in kit] == ["assembled", "scan.accepted"]
