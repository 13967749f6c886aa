"""Batches over HTTP: plan with a BOM, start, complete (signed; refused while a blocking flag is
open or the BOM is short without a justification), abort (signed, with a reason), the lots a
batch makes, and the batch's scans and flags."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support import (
    Actor,
    Actors,
    Line,
    abort_batch,
    add_units,
    assert_blocked,
    assert_problem,
    audit_events,
    audit_seq,
    change_status,
    complete_batch,
    create_batch,
    create_type,
    get_json,
    line_staff,
    lot_total,
    post_scan,
    receive_lot,
    released_lot,
    scan_ok,
    site_today,
    staff,
)

BATCH_FIELDS = {
    "batch_number",
    "product",
    "coi",
    "status",
    "bom",
    "created_at",
    "created_by",
    "started_at",
    "ended_at",
}


async def _line(client: httpx.AsyncClient, actors: Actors) -> Line:
    """BAG (serial) and SET (lot)."""
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial")
    await create_type(client, line.qa, "SET", tracking="lot")
    return line


async def _batch(client: httpx.AsyncClient, line: Line, number: str) -> dict[str, Any]:
    batch: dict[str, Any] = await get_json(client, f"/batches/{number}", line.qa)
    return batch


async def _post(
    client: httpx.AsyncClient, actor: Actor, path: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(path, json=body, headers=actor.headers)


def _output(supplier_lot: str = "OUT-1") -> dict[str, Any]:
    return {
        "component_type": "SET",
        "supplier_lot": supplier_lot,
        "quantity": 20,
        "expiry_date": (site_today() + timedelta(days=60)).isoformat(),
        "coa_ref": "COA-OUT",
    }


@pytest.mark.req("URS-022")
async def test_plan_a_batch_with_a_bom(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    body = {
        "batch_number": "CAR-T-0001",
        "product": "Autologous CAR-T",
        "coi": "COI-2025-00017",
        "bom": [
            {"step": "thaw", "component_type": "SET", "quantity": 2},
            {"component_type": "BAG", "quantity": 1},
        ],
    }
    r = await _post(client, line.supervisor, "/batches", body)
    assert r.status_code == 201, r.text
    batch = r.json()
    assert set(batch) >= BATCH_FIELDS
    assert batch["batch_number"] == "CAR-T-0001" and batch["product"] == "Autologous CAR-T"
    assert batch["coi"] == "COI-2025-00017" and batch["status"] == "planned"
    assert batch["bom"] == [
        {"step": "thaw", "component_type": "SET", "quantity": 2, "consumed": 0, "remaining": 2},
        {"step": None, "component_type": "BAG", "quantity": 1, "consumed": 0, "remaining": 1},
    ]
    assert batch["created_by"] == line.supervisor.username
    assert datetime.fromisoformat(batch["created_at"]).utcoffset() is not None
    assert batch["started_at"] is None and batch["ended_at"] is None
    assert await _batch(client, line, "CAR-T-0001") == batch
    # Without a COI or a BOM.
    plain = await create_batch(client, line.supervisor, "CAR-T-0002", start=False)
    assert plain["coi"] is None and plain["bom"] == []
    page = await get_json(client, "/batches", line.operator)
    assert page["total"] == 2
    assert sorted(b["batch_number"] for b in page["items"]) == ["CAR-T-0001", "CAR-T-0002"]
    assert_problem(
        await client.get("/batches/CAR-T-9999", headers=line.qa.headers), 404, "BATCH_NOT_FOUND"
    )


@pytest.mark.req("URS-022", "URS-006", "URS-046", negative=True)
async def test_a_taken_number_or_an_unknown_type_is_refused(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    first = await create_batch(client, line.supervisor, "B-1", start=False)
    head = await audit_seq(client)
    r = await _post(client, line.supervisor, "/batches", {"batch_number": "B-1", "product": "X"})
    assert "B-1" in assert_problem(r, 409, "ALREADY_EXISTS")["detail"]
    body = {
        "batch_number": "B-2",
        "product": "X",
        "bom": [
            {"component_type": "SET", "quantity": 1},
            {"component_type": "NOPE", "quantity": 1},
        ],
    }
    problem = assert_problem(
        await _post(client, line.supervisor, "/batches", body), 422, "UNKNOWN_COMPONENT_TYPE"
    )
    assert "NOPE" in problem["detail"] or any("bom" in e["field"] for e in problem["errors"])
    for bad in (
        {"batch_number": "B-3", "product": "X", "bom": [{"component_type": "SET", "quantity": 0}]},
        {"batch_number": "B-3", "product": "X", "coi": "Jane\x00Doe"},
        {"batch_number": "B-3"},
    ):
        assert_problem(
            await _post(client, line.supervisor, "/batches", bad), 422, "VALIDATION_ERROR"
        )
    # Only a supervisor plans batches.
    assert_problem(
        await _post(client, line.operator, "/batches", {"batch_number": "B-4", "product": "X"}),
        403,
        "ROLE_NOT_ALLOWED",
    )
    assert await audit_seq(client) == head
    assert (await get_json(client, "/batches", line.qa))["total"] == 1
    assert await _batch(client, line, "B-1") == first
    for number in ("B-2", "B-3", "B-4"):
        assert_problem(
            await client.get(f"/batches/{number}", headers=line.qa.headers), 404, "BATCH_NOT_FOUND"
        )


@pytest.mark.req("URS-038")
@pytest.mark.req("URS-022", negative=True)
async def test_the_status_machine(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    await create_batch(client, line.supervisor, "B-1", start=False)
    r = await _post(client, line.supervisor, "/batches/B-1/start")
    assert r.status_code == 200, r.text
    started = r.json()
    assert started["status"] == "in_progress" and started["started_at"]
    assert_problem(
        await _post(client, line.supervisor, "/batches/B-1/start"), 409, "ILLEGAL_TRANSITION"
    )
    assert_problem(
        await _post(client, line.operator, "/batches/B-1/start"), 403, "ROLE_NOT_ALLOWED"
    )
    assert (await complete_batch(client, line.supervisor, "B-1")).status_code == 200
    done = await _batch(client, line, "B-1")
    assert done["status"] == "completed" and done["ended_at"]
    for refused in (
        await _post(client, line.supervisor, "/batches/B-1/start"),
        await complete_batch(client, line.supervisor, "B-1"),
        await abort_batch(client, line.supervisor, "B-1"),
    ):
        assert_problem(refused, 409, "ILLEGAL_TRANSITION")
    assert await _batch(client, line, "B-1") == done

    await create_batch(client, line.supervisor, "B-2", start=False)
    assert_problem(await complete_batch(client, line.supervisor, "B-2"), 409, "ILLEGAL_TRANSITION")
    assert (await _batch(client, line, "B-2"))["status"] == "planned"
    r = await abort_batch(client, line.supervisor, "B-2", "Donor material not received")
    assert r.status_code == 200, r.text
    aborted = r.json()
    assert aborted["status"] == "aborted" and aborted["ended_at"]
    [event, *_] = await audit_events(client, "batch", "B-2", line.qa.headers)
    assert event["action"] == "batch.abort" and event["reason"] == "Donor material not received"
    assert event["signature"]["username"] == line.supervisor.username
    for refused in (
        await _post(client, line.supervisor, "/batches/B-2/start"),
        await complete_batch(client, line.supervisor, "B-2"),
        await abort_batch(client, line.supervisor, "B-2"),
    ):
        assert_problem(refused, 409, "ILLEGAL_TRANSITION")
    assert await _batch(client, line, "B-2") == aborted
    # A batch in progress may be aborted too.
    await create_batch(client, line.supervisor, "B-3")
    assert (await abort_batch(client, line.supervisor, "B-3")).status_code == 200


@pytest.mark.req("URS-022", "URS-042", "URS-043", negative=True)
async def test_complete_and_abort_are_signed(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    started = await create_batch(client, line.supervisor, "B-1")
    r = await complete_batch(client, line.supervisor, "B-1", password="not the password")
    assert_problem(r, 403, "SIGNATURE_INVALID")
    r = await _post(client, line.supervisor, "/batches/B-1/complete", {})
    assert_problem(r, 422, "VALIDATION_ERROR")
    for body in (
        {"signature": line.supervisor.signature("Abort")},
        {"reason": "", "signature": line.supervisor.signature("Abort")},
        {"reason": "Contaminated"},
    ):
        assert_problem(
            await _post(client, line.supervisor, "/batches/B-1/abort", body),
            422,
            "VALIDATION_ERROR",
        )
    body = {"reason": "Contaminated", "signature": line.supervisor.signature("Abort", "wrong!")}
    r = await _post(client, line.supervisor, "/batches/B-1/abort", body)
    assert_problem(r, 403, "SIGNATURE_INVALID")
    # A failed signature is recorded; the batch is unchanged.
    assert await _batch(client, line, "B-1") == started
    actions = [e["action"] for e in await audit_events(client, "batch", "B-1", line.qa.headers)]
    assert actions == ["batch.start", "batch.create"]
    r = await complete_batch(client, line.supervisor, "B-1")
    assert r.status_code == 200, r.text
    [event, *_] = await audit_events(client, "batch", "B-1", line.qa.headers)
    assert event["action"] == "batch.complete"
    assert event["signature"]["username"] == line.supervisor.username
    assert event["signature"]["meaning"] == "Batch complete"


@pytest.mark.req("URS-023", "URS-028", negative=True)
async def test_complete_is_refused_while_a_blocking_flag_is_open(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    await create_batch(client, line.supervisor, "B-1")
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    await scan_ok(client, line.operator, lot["code"], "B-1")
    r = await change_status(client, line.qa, lot["id"], "quarantined")
    assert r.status_code == 200, r.text
    [flag] = r.json()["flags_raised"]
    assert (await _batch(client, line, "B-1"))["open_blocking_flags"] == 1
    for justification in (None, "Investigated"):
        r = await complete_batch(client, line.supervisor, "B-1", justification)
        problem = assert_problem(r, 409, "OPEN_FLAGS")
        assert "B-1" in problem["detail"] and f"flag {flag['id']}" in problem["detail"]
        assert problem["open_flags"] == [
            {
                "id": flag["id"],
                "code": "LOT_STATUS_CHANGED_AFTER_USE",
                "message": flag["message"],
                "scan_id": flag["scan_id"],
            }
        ]
    assert (await _batch(client, line, "B-1"))["status"] == "in_progress"
    body = {"reason": "Lot cleared by QA", "signature": line.qa.signature("Resolved")}
    r = await _post(client, line.qa, f"/flags/{flag['id']}/resolve", body)
    assert r.status_code == 200, r.text
    assert (await complete_batch(client, line.supervisor, "B-1")).status_code == 200


@pytest.mark.req("URS-023", negative=True)
async def test_complete_lists_bom_lines_not_fully_consumed(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    bom = [
        {"step": "thaw", "component_type": "SET", "quantity": 3},
        {"step": "fill", "component_type": "BAG", "quantity": 1},
    ]
    await create_batch(client, line.supervisor, "B-1", bom=bom)
    await create_batch(client, line.supervisor, "B-2", bom=bom)
    sets = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    bags = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1")
    [bag] = await add_units(client, line.warehouse, bags["id"])
    await scan_ok(client, line.operator, sets["code"], "B-1", step="thaw")
    head = await audit_seq(client)
    r = await complete_batch(client, line.supervisor, "B-1")
    problem = assert_problem(r, 409, "BOM_INCOMPLETE")
    assert "SET" in problem["detail"] and "BAG" in problem["detail"]
    lines = {x["component_type"]: x for x in problem["lines"]}
    assert lines["SET"]["quantity"] == 3 and lines["SET"]["consumed"] == 1
    assert lines["BAG"]["quantity"] == 1 and lines["BAG"]["consumed"] == 0
    assert await audit_seq(client) == head
    assert (await _batch(client, line, "B-1"))["status"] == "in_progress"
    r = await complete_batch(client, line.supervisor, "B-1", "Two sets were not needed")
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "completed"
    assert done["completion"]["justification"] == "Two sets were not needed"
    # A BOM fully consumed completes without a justification.
    await scan_ok(client, line.operator, sets["code"], "B-2", step="thaw", quantity=3)
    await scan_ok(client, line.operator, bag, "B-2", step="fill")
    assert (await complete_batch(client, line.supervisor, "B-2")).status_code == 200


@pytest.mark.req("URS-002")
@pytest.mark.req("URS-024", "URS-046", negative=True)
async def test_outputs_are_quarantined_lots_made_by_the_batch(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    await create_batch(client, line.supervisor, "B-PLAN", start=False)
    await create_batch(client, line.supervisor, "B-RUN")
    await create_batch(client, line.supervisor, "B-DONE")
    assert (await complete_batch(client, line.supervisor, "B-DONE")).status_code == 200
    await create_batch(client, line.supervisor, "B-STOP")
    assert (await abort_batch(client, line.supervisor, "B-STOP")).status_code == 200
    total = await lot_total(client, line.qa.headers)
    for number in ("B-PLAN", "B-STOP"):
        r = await _post(client, line.supervisor, f"/batches/{number}/outputs", _output())
        assert number in assert_problem(r, 409, "BATCH_NOT_ACTIVE")["detail"]
    r = await _post(client, line.warehouse, "/batches/B-RUN/outputs", _output())
    assert_problem(r, 403, "ROLE_NOT_ALLOWED")
    assert await lot_total(client, line.qa.headers) == total
    for number in ("B-RUN", "B-DONE"):
        r = await _post(client, line.supervisor, f"/batches/{number}/outputs", _output(number))
        assert r.status_code == 201, r.text
        lot = r.json()
        assert lot["source_batch"] == number and lot["status"] == "quarantined"
        assert lot["component_type"] == "SET" and lot["supplier_lot"] == number
        assert lot["quantity_received"] == lot["quantity_left"] == 20
        assert lot["code"].startswith("L-")
        shown = await get_json(client, f"/lots/{lot['id']}", line.qa)
        assert shown["source_batch"] == number and shown["status"] == "quarantined"
    assert await lot_total(client, line.qa.headers) == total + 2


@pytest.mark.req("URS-018", "URS-020", "URS-027")
async def test_a_batch_lists_its_scans_oldest_first_and_its_flags(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    await create_batch(client, line.supervisor, "B-1", coi="COI-7")
    released = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    held = await receive_lot(client, line.warehouse, "SET", "TS-2")
    accepted = await scan_ok(client, line.operator, released["code"], "B-1", station="BSC-1")
    blocked = assert_blocked(
        await post_scan(client, line.operator, held["code"], "B-1"), 409, "QUARANTINED"
    )
    [second_qa] = await staff(actors, "qa:qa2")
    body = {
        "reason": "Released paperwork pending",
        "deviation_ref": "DEV-1",
        "signature": second_qa.signature("Deviation approved"),
    }
    r = await _post(client, second_qa, f"/scans/{blocked['scan_id']}/override", body)
    assert r.status_code == 200, r.text
    last = await scan_ok(client, line.operator, released["code"], "B-1", quantity=2)
    scans = (await get_json(client, "/batches/B-1/scans", line.operator))["items"]
    assert [s["id"] for s in scans] == [accepted["id"], blocked["scan_id"], last["id"]]
    assert [s["outcome"] for s in scans] == ["accepted", "accepted", "accepted"]
    assert scans[0]["station"] == "BSC-1" and scans[2]["quantity"] == 2
    assert scans[1]["override"]["deviation_ref"] == "DEV-1"
    r = await change_status(client, line.qa, released["id"], "quarantined")
    assert r.status_code == 200, r.text

    async def flags(**params: Any) -> list[str]:
        page = await get_json(client, "/batches/B-1/flags", line.operator, **params)
        assert page["total"] == len(page["items"])
        return sorted(f["code"] for f in page["items"])

    assert await flags() == ["LOT_STATUS_CHANGED_AFTER_USE", "QUARANTINED"]
    assert await flags(status="open") == ["LOT_STATUS_CHANGED_AFTER_USE"]
    assert await flags(status="resolved") == ["QUARANTINED"]
    assert_problem(
        await client.get("/batches/B-1/flags?status=maybe", headers=line.qa.headers),
        422,
        "VALIDATION_ERROR",
    )
    assert_problem(
        await client.get("/batches/NOPE/scans", headers=line.qa.headers), 404, "BATCH_NOT_FOUND"
    )
    assert_problem(
        await client.get("/batches/NOPE/flags", headers=line.qa.headers), 404, "BATCH_NOT_FOUND"
    )
