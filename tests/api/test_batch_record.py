"""The batch component record (JSON and PDF), planned vs consumed per BOM line, and the batch's
audit bundle, as a reviewer and an auditor meet them."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest

from tests.support import (
    GS,
    Actors,
    add_units,
    assert_blocked,
    complete_batch,
    create_batch,
    create_type,
    gs1_string,
    line_staff,
    post_scan,
    receive_lot,
    released_lot,
    scan_ok,
    site_today,
)

BAG_GTIN = "10614141000729"


async def reviewed_batch(client: httpx.AsyncClient, actors: Actors) -> dict[str, Any]:
    """A batch with a BOM, a bag and tubing used, a blocked scan overridden as a deviation, one
    blocked attempt never used, completed short of its BOM with a justification."""
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial", gtin=BAG_GTIN)
    await create_type(client, line.qa, "TUBE")
    bags = await released_lot(
        client, line.qa, line.warehouse, "BAG", "BB-17", 5, supplier="Cryo Ltd"
    )
    [bag, spare] = await add_units(client, line.warehouse, bags["id"], 2)
    tubes = await released_lot(client, line.qa, line.warehouse, "TUBE", "TS-9", 20)
    held = await receive_lot(client, line.warehouse, "TUBE", "TS-10", 5, coa_ref="COA-TS-10")
    bom = [
        {"step": "fill", "component_type": "BAG", "quantity": 2},
        {"step": "connect", "component_type": "TUBE", "quantity": 3},
    ]
    await create_batch(client, line.supervisor, "BR-1", bom=bom, coi="PATIENT-7")
    await scan_ok(client, line.operator, bag, "BR-1", step="fill", station="BSC-2")
    await scan_ok(client, line.operator, tubes["code"], "BR-1", step="connect", quantity=2)
    blocked = assert_blocked(
        await post_scan(client, line.operator, held["code"], "BR-1", step="connect"),
        409,
        "QUARANTINED",
    )
    r = await client.post(
        f"/scans/{blocked['scan_id']}/override",
        json={
            "reason": "Lot released by phone; paperwork follows",
            "deviation_ref": "DEV-2026-031",
            "signature": line.qa.signature("Deviation approved"),
        },
        headers=line.qa.headers,
    )
    assert r.status_code == 200, r.text
    assert_blocked(
        await post_scan(client, line.operator, bag, "BR-1", step="fill"), 409, "ALREADY_USED"
    )
    r = await complete_batch(client, line.supervisor, "BR-1", justification="One bag spare")
    assert r.status_code == 200, r.text
    return {"line": line, "bag": bag, "spare": spare, "tubes": tubes, "held": held, "bags": bags}


@pytest.mark.req("URS-056")
async def test_batch_shows_planned_and_consumed_per_bom_line(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    made = await reviewed_batch(client, actors)
    r = await client.get("/batches/BR-1", headers=made["line"].operator.headers)
    assert r.json()["bom"] == [
        {"step": "fill", "component_type": "BAG", "quantity": 2, "consumed": 1, "remaining": 1},
        {"step": "connect", "component_type": "TUBE", "quantity": 3, "consumed": 3, "remaining": 0},
    ]


@pytest.mark.req("URS-056")
async def test_the_record_says_what_a_reviewer_checks(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    made = await reviewed_batch(client, actors)
    line = made["line"]
    r = await client.get("/batches/BR-1/record", headers=line.qa.headers)
    assert r.status_code == 200, r.text
    record = r.json()
    assert [(e["event"], e["by"]) for e in record["lifecycle"]] == [
        ("created", "supervisor1"),
        ("started", "supervisor1"),
        ("completed", "supervisor1"),
    ]
    completed = record["lifecycle"][-1]
    assert completed["full_name"] == "Test Supervisor1"
    assert completed["signature"]["meaning"] == "Batch complete"
    assert record["justification"] == "One bag spare"
    assert record["zone"] == "UTC"
    assert [(b["component_type"], b["consumed"]) for b in record["bom"]] == [
        ("BAG", 1),
        ("TUBE", 3),
    ]
    bag_lot = next(c for c in record["components"] if c["component_type"] == "BAG")
    assert bag_lot["name"] == "BAG name" and bag_lot["gtin"] == BAG_GTIN
    assert bag_lot["coa_ref"] == "COA-BB-17" and bag_lot["supplier"] == "Cryo Ltd"
    assert bag_lot["released_by"]["full_name"] == "Test Qa1"
    assert record["people"]["operator1"] == "Test Operator1"
    bag_item = next(i for i in record["items"] if i["unit"] == made["bag"])
    assert (bag_item["step"], bag_item["station"]) == ("fill", "BSC-2")
    [deviation] = record["flags"]
    assert deviation["code"] == "QUARANTINED" and deviation["deviation_ref"] == "DEV-2026-031"
    assert deviation["resolution"]["signature"]["meaning"] == "Deviation approved"
    assert [(b["flags"][0]["code"], b["override"] is not None) for b in record["blocked"]] == [
        ("QUARANTINED", True),
        ("ALREADY_USED", False),
    ]
    assert record["blocked"][1]["operator_name"] == "Test Operator1"

    r = await client.get("/batches/BR-1/record", params={"format": "pdf"}, headers=line.qa.headers)
    assert r.headers["content-type"] == "application/pdf"
    if os.environ.get("SUTRACE_KEEP_PDF"):  # to look at it: render with pdftoppm
        await asyncio.to_thread(Path(os.environ["SUTRACE_KEEP_PDF"]).write_bytes, r.content)
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages)
    for expected in (
        "Test Supervisor1",
        "Batch complete",
        "One bag spare",
        "BAG name",
        BAG_GTIN,
        "COA-BB-17",
        "Test Qa1",
        "Test Operator1",
        "BSC-2",
        "DEV-2026-031",
        "Deviation approved",
        "ALREADY_USED",
        "Times in UTC",
        "Planned",
    ):
        assert expected in text, expected
    same = await client.get(
        "/batches/BR-1/genealogy", params={"format": "pdf"}, headers=line.qa.headers
    )
    assert same.headers["content-type"] == "application/pdf"


@pytest.mark.req("URS-056")
async def test_the_audit_bundle_proves_itself(client: httpx.AsyncClient, actors: Actors) -> None:
    made = await reviewed_batch(client, actors)
    line = made["line"]
    r = await client.get("/batches/BR-1/audit-bundle", headers=line.supervisor.headers)
    assert r.status_code == 403
    auditor = await actors.get("auditor")
    r = await client.get("/batches/BR-1/audit-bundle", headers=auditor.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["batch"] == "BR-1"
    for name, digest in manifest["files"].items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name
    events = json.loads(archive.read("audit-events.json"))
    assert manifest["events"] == len(events)
    seen = {(e["entity_type"], e["action"]) for e in events}
    assert {
        ("batch", "batch.create"),
        ("batch", "batch.complete"),
        ("scan", "scan.record"),
        ("scan", "scan.override"),
        ("flag", "flag.raise"),
        ("lot", "lot.receive"),
        ("lot", "lot.status"),
    } <= seen
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    # Each event is the trail's own: the same hash as GET /audit shows.
    page = (await client.get("/audit", params={"limit": 500}, headers=auditor.headers)).json()
    by_seq = {e["seq"]: e["hash"] for e in page["items"]}
    assert all(by_seq[e["seq"]] == e["hash"] for e in events)
    rows = list(csv.DictReader(io.StringIO(archive.read("audit-events.csv").decode("utf-8-sig"))))
    assert [int(row["seq"]) for row in rows] == [e["seq"] for e in events]
    genealogy = json.loads(archive.read("genealogy.json"))
    assert {i["unit"] for i in genealogy["items"] if i["unit"]} == {made["bag"]}
    assert archive.read("record.pdf").startswith(b"%PDF")


@pytest.mark.req("URS-056")
async def test_a_raw_gs1_scan_is_in_the_record_as_sent(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial", gtin=BAG_GTIN)
    lot = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-17", 5)
    await create_batch(client, line.supervisor, "BR-2")
    expiry = site_today() + timedelta(days=365)
    raw = "]d2" + gs1_string(BAG_GTIN, expiry=expiry, lot="BB-17", serial="X9", prefix="")
    assert GS in raw
    r = await post_scan(client, line.operator, raw, "BR-2")
    assert r.status_code == 404, r.text  # serial X9 was never registered
    record = (await client.get("/batches/BR-2/record", headers=line.qa.headers)).json()
    assert record["blocked"][0]["barcode"] == raw
    assert lot["status"] == "released"


@pytest.mark.req("URS-056")
async def test_an_aborted_batch_and_long_text_in_the_record(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await line_staff(actors)
    await create_batch(client, line.supervisor, "BR-3", coi="PATIENT-9")
    reason = "Apheresis material failed viability " + "and was quarantined " * 15 + "ENDMARK"
    r = await client.post(
        "/batches/BR-3/abort",
        json={"reason": reason, "signature": line.supervisor.signature("Batch aborted")},
        headers=line.supervisor.headers,
    )
    assert r.status_code == 200, r.text
    record = (await client.get("/batches/BR-3/record", headers=line.qa.headers)).json()
    aborted = record["lifecycle"][-1]
    assert (aborted["event"], aborted["reason"]) == ("aborted", reason)
    assert aborted["signature"]["meaning"] == "Batch aborted"
    r = await client.get("/batches/BR-3/record", params={"format": "pdf"}, headers=line.qa.headers)
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(r.content)).pages)
    # The whole reason is there, wrapped inside its cell, not cut at the cell's edge.
    assert "ENDMARK" in text and "Batch aborted" in text
