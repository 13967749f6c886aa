"""Answers people asked for: a lot's units, receipts by scan that carry what release needs, a
unit's history with its lot's events, supplier lot search by part, and the audit trail as CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
import pytest

from tests.support import (
    GS,
    INSPECTION_OK,
    Actors,
    add_units,
    assert_problem,
    audit_events,
    change_status,
    create_type,
    line_staff,
    receive_lot,
    site_today,
    yymmdd,
)

BAG_GTIN = "10614141000729"


def datamatrix(lot: str, serial: str, expiry_days: int = 400) -> str:
    expiry = yymmdd(site_today() + timedelta(days=expiry_days))
    return f"]d201{BAG_GTIN}17{expiry}10{lot}{GS}21{serial}"


@pytest.mark.req("URS-056")
async def test_a_lots_units_with_status_filter_and_paging(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial", gtin=BAG_GTIN)
    lot = await receive_lot(client, line.warehouse, "BAG", "BB-1", 10)
    other = await receive_lot(client, line.warehouse, "BAG", "BB-2", 10)
    barcodes = await add_units(client, line.warehouse, lot["id"], 5)
    await add_units(client, line.warehouse, other["id"], 2)
    r = await client.post(
        f"/units/{barcodes[1]}/discard",
        json={"reason_code": "dropped", "reason": "Fell on the floor"},
        headers=line.warehouse.headers,
    )
    assert r.status_code == 200, r.text

    r = await client.get(f"/lots/{lot['id']}/units", headers=line.operator.headers)
    page = r.json()
    assert page["total"] == 5 and [u["barcode"] for u in page["items"]] == barcodes
    assert page["items"][0]["blocking"] == ["QUARANTINED"]
    r = await client.get(
        f"/lots/{lot['id']}/units",
        params={"status": "available", "limit": 2, "offset": 2},
        headers=line.operator.headers,
    )
    assert r.json()["total"] == 4
    assert [u["barcode"] for u in r.json()["items"]] == [barcodes[3], barcodes[4]]
    r = await client.get(
        "/units", params={"lot": lot["id"], "status": "discarded"}, headers=line.qa.headers
    )
    assert [u["barcode"] for u in r.json()["items"]] == [barcodes[1]]
    assert r.json()["items"][0]["status"] == "discarded"
    r = await client.get("/units", params={"limit": 500}, headers=line.qa.headers)
    assert r.json()["total"] == 7
    assert_problem(
        await client.get("/lots/999/units", headers=line.qa.headers), 404, "LOT_NOT_FOUND"
    )
    assert_problem(
        await client.get("/units", params={"status": "lost"}, headers=line.qa.headers),
        422,
        "VALIDATION_ERROR",
    )


@pytest.mark.req("URS-056")
async def test_a_receipt_by_scan_carries_what_release_needs(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial", gtin=BAG_GTIN)
    retest = (site_today() + timedelta(days=200)).isoformat()
    r = await client.post(
        "/receipts/scan",
        json={
            "barcode": datamatrix("BB-7", "SN-1"),
            "quantity": 3,
            "supplier": "Example Cryo Ltd",
            "coa_ref": "COA-BB-7",
            "retest_date": retest,
        },
        headers=line.warehouse.headers,
    )
    assert r.status_code == 201, r.text
    lot = r.json()
    assert (lot["supplier"], lot["coa_ref"], lot["retest_date"]) == (
        "Example Cryo Ltd",
        "COA-BB-7",
        retest,
    )
    assert [u["serial"] for u in lot["units"]] == ["SN-1"]
    # Released as received: no correction needed first.
    r = await change_status(client, line.qa, lot["id"], "released", inspection=INSPECTION_OK)
    assert r.status_code == 200, r.text
    # A date the label carries may be repeated, never contradicted; supplier may be left out,
    # never blank.
    expiry = (site_today() + timedelta(days=400)).isoformat()
    r = await client.post(
        "/receipts/scan",
        json={"barcode": datamatrix("BB-8", "SN-2"), "quantity": 1, "expiry_date": expiry},
        headers=line.warehouse.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["supplier"] is None and r.json()["expiry_date"] == expiry
    r = await client.post(
        "/receipts/scan",
        json={"barcode": datamatrix("BB-9", "SN-3"), "quantity": 1, "expiry_date": "2030-01-01"},
        headers=line.warehouse.headers,
    )
    body = assert_problem(r, 422, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == "expiry_date" and "(17)" in body["detail"]
    r = await client.post(
        "/receipts/scan",
        json={"barcode": datamatrix("BB-9", "SN-3"), "quantity": 1, "supplier": "  "},
        headers=line.warehouse.headers,
    )
    assert assert_problem(r, 422, "VALIDATION_ERROR")["errors"][0]["field"] == "supplier"


@pytest.mark.req("URS-056")
async def test_a_units_history_includes_its_lots_events_in_time_order(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial", gtin=BAG_GTIN)
    lot = await receive_lot(client, line.warehouse, "BAG", "BB-1", 5, coa_ref="COA-1")
    [unit] = await add_units(client, line.warehouse, lot["id"], 1)
    r = await client.post(
        f"/lots/{lot['id']}/correct",
        json={
            "changes": {"supplier": "Cryo Ltd"},
            "reason": "Supplier missing on receipt",
            "signature": line.warehouse.signature("Correction"),
        },
        headers=line.warehouse.headers,
    )
    assert r.status_code == 200, r.text
    await change_status(client, line.qa, lot["id"], "released", inspection=INSPECTION_OK)
    await change_status(client, line.qa, lot["id"], "quarantined", reason="Supplier query")
    r = await client.post(
        "/recalls",
        json={
            "component_type": "BAG",
            "supplier_lot": "BB-1",
            "notice_ref": "FSN-9",
            "reason": "Cracked ports",
            "signature": line.qa.signature("Recall"),
        },
        headers=line.qa.headers,
    )
    assert r.status_code == 201, r.text
    history = (await client.get(f"/units/{unit}/history", headers=line.operator.headers)).json()
    assert [e["event"] for e in history] == [
        "received",
        "labelled",
        "lot.corrected",
        "lot.released",
        "lot.quarantined",
        "lot.recalled",
    ]
    assert [e["at"] for e in history] == sorted(e["at"] for e in history)
    corrected, released = history[2], history[3]
    assert corrected["data"]["changes"] == {"supplier": {"before": None, "after": "Cryo Ltd"}}
    assert corrected["reason"] == "Supplier missing on receipt"
    assert released["actor"] == "qa1" and released["data"]["signature"]["meaning"] == "Lot released"
    assert history[-1]["reason"] == "Recall FSN-9: Cracked ports"


@pytest.mark.req("URS-056")
async def test_an_expired_lot_shows_in_its_units_history(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial")
    expiry = site_today() - timedelta(days=3)
    lot = await receive_lot(client, line.warehouse, "BAG", "OLD-1", 2, expiry=expiry)
    [unit] = await add_units(client, line.warehouse, lot["id"], 1)
    history = (await client.get(f"/units/{unit}/history", headers=line.qa.headers)).json()
    # Expired at the start of the day after its expiry date: before it was received.
    assert [e["event"] for e in history] == ["lot.expired", "received", "labelled"]
    expired = next(e for e in history if e["event"] == "lot.expired")
    assert expired["at"].startswith((expiry + timedelta(days=1)).isoformat())
    assert expired["data"]["expiry_date"] == expiry.isoformat()


@pytest.mark.req("URS-056")
async def test_supplier_lot_search_by_part_in_any_case(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await line_staff(actors)
    await create_type(client, line.qa, "SET")
    for supplier_lot in ("TS-55821", "ts-55_9", "AB%12", "XY-1"):
        await receive_lot(client, line.warehouse, "SET", supplier_lot, 5)

    async def found(**params: str) -> list[str]:
        r = await client.get("/lots", params=params, headers=line.operator.headers)
        assert r.status_code == 200, r.text
        return sorted(lot["supplier_lot"] for lot in r.json()["items"])

    assert await found(supplier_lot_contains="ts-55") == ["TS-55821", "ts-55_9"]
    assert await found(supplier_lot_contains="5_") == [
        "ts-55_9"
    ]  # _ is a character, not a wildcard
    assert await found(supplier_lot_contains="%") == ["AB%12"]
    assert await found(supplier_lot_contains="b%1") == ["AB%12"]
    assert await found(supplier_lot="TS-55821") == ["TS-55821"]  # exact, as before
    assert await found(supplier_lot="ts-55821") == []
    assert_problem(
        await client.get(
            "/lots", params={"supplier_lot_contains": ""}, headers=line.operator.headers
        ),
        422,
        "VALIDATION_ERROR",
    )


@pytest.mark.req("URS-056")
async def test_the_audit_trail_as_csv_in_chain_order(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await line_staff(actors)
    await create_type(client, line.qa, "SET")
    lot = await receive_lot(client, line.warehouse, "SET", "S=1", 5)
    auditor = await actors.get("auditor")
    r = await client.get("/audit", params={"format": "csv"}, headers=auditor.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    page = (await client.get("/audit", params={"limit": 500}, headers=auditor.headers)).json()
    assert [int(row["seq"]) for row in rows] == sorted(e["seq"] for e in page["items"])
    by_seq = {e["seq"]: e for e in page["items"]}
    for row in rows:
        assert row["hash"] == by_seq[int(row["seq"])]["hash"]
    r = await client.get(
        "/audit",
        params={"format": "csv", "entity_type": "lot", "entity_id": str(lot["id"])},
        headers=auditor.headers,
    )
    [receipt] = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert receipt["action"] == "lot.receive" and '"supplier_lot":"S=1"' in receipt["after"]
    events = await audit_events(client, "lot", lot["id"], auditor.headers)
    assert receipt["prev_hash"] == events[0]["prev_hash"]
    assert_problem(
        await client.get("/audit", params={"format": "csv"}, headers=line.operator.headers),
        403,
        "ROLE_NOT_ALLOWED",
    )
