"""A lot whose status changes after use flags every batch that used it: directly, inside an
assembly, or through a lot another batch made from it, in any batch status. The flags hold the
batch (and the lots it made) until QA resolves them; genealogy and recalls show the reach."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.support import (
    Actor,
    Actors,
    Line,
    abort_batch,
    add_units,
    assemble,
    assert_blocked,
    assert_problem,
    batch_flags,
    change_status,
    complete_batch,
    create_batch,
    create_type,
    flag_message,
    get_json,
    line_staff,
    post_scan,
    record_output,
    release_lot,
    released_lot,
    scan_ok,
    site_today,
)

AFTER_USE = "LOT_STATUS_CHANGED_AFTER_USE"


async def _line(client: httpx.AsyncClient, actors: Actors) -> Line:
    """SET (lot), BAG (serial), VEC (lot: what a batch makes), KIT (assembly)."""
    line = await line_staff(actors)
    await create_type(client, line.qa, "SET", tracking="lot")
    await create_type(client, line.qa, "BAG", tracking="serial")
    await create_type(client, line.qa, "VEC", tracking="lot", category="vector")
    await create_type(
        client, line.qa, "KIT", tracking="serial", category="kit", is_assembly=True, hold_hours=72
    )
    return line


async def _output(
    client: httpx.AsyncClient, line: Line, batch: str, supplier_lot: str
) -> dict[str, Any]:
    """A quarantined lot of VEC made by `batch`."""
    return await record_output(
        client, line.supervisor, batch, "VEC", supplier_lot, quantity=5, days=30
    )


async def _move(
    client: httpx.AsyncClient, line: Line, lot_id: int, status: str
) -> list[dict[str, Any]]:
    """QA moves the lot; returns the flags raised."""
    r = await change_status(client, line.qa, lot_id, status, reason="Supplier notice SN-17")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == status
    raised: list[dict[str, Any]] = r.json()["flags_raised"]
    return raised


async def _resolve(
    client: httpx.AsyncClient, qa: Actor, ids: list[int], password: str | None = None
) -> httpx.Response:
    body = {
        "ids": ids,
        "reason": "Investigation INV-9: lot cleared",
        "signature": qa.signature("Flags resolved", password),
    }
    return await client.post("/flags/resolve", json=body, headers=qa.headers)


async def _open_after_use(client: httpx.AsyncClient, line: Line) -> dict[str, list[int]]:
    """Open LOT_STATUS_CHANGED_AFTER_USE flags by batch."""
    page = await get_json(client, "/flags", line.qa, status="open", code=AFTER_USE, limit=500)
    by_batch: dict[str, list[int]] = {}
    for flag in page["items"]:
        by_batch.setdefault(flag["batch"], []).append(flag["id"])
    return by_batch


def _in_order(path: list[str], *names: str) -> bool:
    """Each name appears in the path, in this order."""
    at = 0
    for name in names:
        found = [i for i, step in enumerate(path) if name in step and i >= at]
        if not found:
            return False
        at = found[0] + 1
    return True


@pytest.mark.req("URS-027", negative=True)
async def test_every_batch_that_used_the_lot_is_flagged_once(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    for number in ("A-RUN", "A-DONE", "A-STOP", "UNUSED"):
        await create_batch(client, line.supervisor, number)
    for number in ("A-RUN", "A-DONE", "A-STOP"):
        await scan_ok(client, line.operator, lot["code"], number)
    assert (await complete_batch(client, line.supervisor, "A-DONE")).status_code == 200
    assert (await abort_batch(client, line.supervisor, "A-STOP")).status_code == 200
    raised = await _move(client, line, lot["id"], "quarantined")
    assert sorted(f["batch"] for f in raised) == ["A-DONE", "A-RUN", "A-STOP"]
    for flag in raised:
        assert flag["code"] == AFTER_USE and flag["severity"] == "block"
        assert flag["status"] == "open" and flag["lot_id"] == lot["id"]
        assert lot["code"] in flag["message"] and "quarantined" in flag["message"]
        [shown] = await batch_flags(client, line.qa, flag["batch"], "open")
        assert shown == flag
    assert await batch_flags(client, line.qa, "UNUSED") == []
    done = await get_json(client, "/batches/A-DONE", line.qa)
    assert done["status"] == "completed" and done["open_blocking_flags"] == 1
    # Moving the lot again raises no second open flag.
    assert await _move(client, line, lot["id"], "rejected") == []
    assert await _move(client, line, lot["id"], "recalled") == []
    opened = await _open_after_use(client, line)
    assert {k: len(v) for k, v in opened.items()} == {"A-RUN": 1, "A-DONE": 1, "A-STOP": 1}
    assert sorted(i for ids in opened.values() for i in ids) == sorted(f["id"] for f in raised)


@pytest.mark.req("URS-027", "URS-029")
@pytest.mark.req("URS-023", negative=True)
async def test_a_part_inside_an_assembly_flags_the_batch(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    bags = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1")
    [bag] = await add_units(client, line.warehouse, bags["id"])
    kit = (await assemble(client, line.warehouse, "KIT", [bag]))["barcode"]
    await create_batch(client, line.supervisor, "A-1", coi="COI-0001")
    await scan_ok(client, line.operator, kit, "A-1")
    [flag] = await _move(client, line, bags["id"], "recalled")
    assert flag["batch"] == "A-1" and flag["code"] == AFTER_USE and flag["status"] == "open"
    assert bags["code"] in flag["message"]
    [use] = await get_json(client, f"/lots/{bags['id']}/where-used", line.qa)
    assert use["batch"] == "A-1" and use["status"] == "in_progress" and use["coi"] == "COI-0001"
    assert _in_order(use["path"], bags["code"], kit, "A-1"), use["path"]
    assert isinstance(use["depth"], int) and use["depth"] >= 1
    r = await complete_batch(client, line.supervisor, "A-1")
    assert_problem(r, 409, "OPEN_FLAGS")


@pytest.mark.req("URS-027", "URS-029", "URS-024")
async def test_a_batch_that_used_an_output_lot_is_flagged_too(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    await create_batch(client, line.supervisor, "CAR-A", coi="COI-A")
    await create_batch(client, line.supervisor, "CAR-B", coi="COI-B")
    await scan_ok(client, line.operator, lot["code"], "CAR-A")
    made = await _output(client, line, "CAR-A", "VEC-1")
    await release_lot(client, line.qa, made["id"])
    await scan_ok(client, line.operator, made["code"], "CAR-B")
    assert (await complete_batch(client, line.supervisor, "CAR-B")).status_code == 200
    raised = await _move(client, line, lot["id"], "quarantined")
    assert sorted(f["batch"] for f in raised) == ["CAR-A", "CAR-B"]
    assert all(f["code"] == AFTER_USE and f["lot_id"] == lot["id"] for f in raised)
    uses = {u["batch"]: u for u in await get_json(client, f"/lots/{lot['id']}/where-used", line.qa)}
    assert set(uses) == {"CAR-A", "CAR-B"}
    assert (uses["CAR-A"]["status"], uses["CAR-A"]["coi"]) == ("in_progress", "COI-A")
    assert (uses["CAR-B"]["status"], uses["CAR-B"]["coi"]) == ("completed", "COI-B")
    assert uses["CAR-A"]["depth"] < uses["CAR-B"]["depth"]
    assert _in_order(uses["CAR-A"]["path"], lot["code"], "CAR-A"), uses["CAR-A"]["path"]
    assert _in_order(uses["CAR-B"]["path"], lot["code"], "CAR-A", made["code"], "CAR-B"), uses[
        "CAR-B"
    ]["path"]
    assert len(uses["CAR-A"]["path"]) < len(uses["CAR-B"]["path"])


@pytest.mark.req("URS-028", "URS-008", "URS-011", "URS-023", negative=True)
async def test_an_open_flag_holds_the_batch_and_the_lots_it_made(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    await create_batch(client, line.supervisor, "CAR-A")
    await create_batch(client, line.supervisor, "CAR-C")
    await scan_ok(client, line.operator, lot["code"], "CAR-A")
    shipped = await _output(client, line, "CAR-A", "VEC-1")
    await release_lot(client, line.qa, shipped["id"])
    pending = await _output(client, line, "CAR-A", "VEC-2")
    [flag] = await _move(client, line, lot["id"], "quarantined")
    # The lot A made cannot be released, nor used, while A has an open blocking flag.
    r = await change_status(
        client,
        line.qa,
        pending["id"],
        "released",
        inspection={"coa_reviewed": True, "packaging_intact": True, "label_correct": True},
    )
    assert "CAR-A" in assert_problem(r, 409, "SOURCE_BATCH_FLAGGED")["detail"]
    assert (await get_json(client, f"/lots/{pending['id']}", line.qa))["status"] == "quarantined"
    body = assert_blocked(
        await post_scan(client, line.operator, shipped["code"], "CAR-C"),
        409,
        "SOURCE_BATCH_FLAGGED",
    )
    assert shipped["code"] in flag_message(body, "SOURCE_BATCH_FLAGGED")
    assert (await get_json(client, f"/lots/{shipped['id']}", line.qa))["quantity_left"] == 5
    assert_problem(await complete_batch(client, line.supervisor, "CAR-A"), 409, "OPEN_FLAGS")
    assert (await get_json(client, "/batches/CAR-A", line.qa))["status"] == "in_progress"
    # QA resolves the flag, signed: the batch completes, its lots may be released and used.
    body = {"reason": "Lot TS-1 cleared: INV-9", "signature": line.qa.signature("Resolved")}
    r = await client.post(f"/flags/{flag['id']}/resolve", json=body, headers=line.qa.headers)
    assert r.status_code == 200, r.text
    resolved = r.json()
    assert resolved["id"] == flag["id"] and resolved["status"] == "resolved"
    assert resolved["resolved_by"] == line.qa.username and resolved["resolved_at"]
    assert resolved["resolution"]["reason"] == "Lot TS-1 cleared: INV-9"
    assert resolved["resolution"]["signature"]["username"] == line.qa.username
    r = await client.post(f"/flags/{flag['id']}/resolve", json=body, headers=line.qa.headers)
    assert_problem(r, 409, "FLAG_RESOLVED")
    await release_lot(client, line.qa, pending["id"])
    await scan_ok(client, line.operator, shipped["code"], "CAR-C")
    assert (await complete_batch(client, line.supervisor, "CAR-A")).status_code == 200


@pytest.mark.req("URS-042")
@pytest.mark.req("URS-028", "URS-009", negative=True)
async def test_resolving_many_flags_is_all_or_none(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    for number in ("CAR-A", "CAR-B", "CAR-C"):
        await create_batch(client, line.supervisor, number)
        await scan_ok(client, line.operator, lot["code"], number)
    raised = {f["batch"]: f["id"] for f in await _move(client, line, lot["id"], "quarantined")}
    assert (await _resolve(client, line.qa, [raised["CAR-A"]])).status_code == 200
    ids = [raised["CAR-B"], raised["CAR-A"], raised["CAR-C"]]
    assert_problem(await _resolve(client, line.qa, ids), 409, "FLAG_RESOLVED")
    assert_problem(
        await _resolve(client, line.qa, [raised["CAR-B"], 999_999]), 404, "FLAG_NOT_FOUND"
    )
    r = await _resolve(
        client, line.qa, [raised["CAR-B"], raised["CAR-C"]], password="wrong password"
    )
    assert_problem(r, 403, "SIGNATURE_INVALID")
    r = await client.post(
        "/flags/resolve",
        json={
            "ids": [raised["CAR-B"]],
            "reason": "x",
            "signature": line.supervisor.signature("Resolved"),
        },
        headers=line.supervisor.headers,
    )
    assert_problem(r, 403, "ROLE_NOT_ALLOWED")
    assert await _open_after_use(client, line) == {
        "CAR-B": [raised["CAR-B"]],
        "CAR-C": [raised["CAR-C"]],
    }
    r = await _resolve(client, line.qa, [raised["CAR-B"], raised["CAR-C"]])
    assert r.status_code == 200, r.text
    assert sorted(f["id"] for f in r.json()) == sorted([raised["CAR-B"], raised["CAR-C"]])
    for flag in r.json():
        assert flag["status"] == "resolved" and flag["resolved_by"] == line.qa.username
        assert flag["resolution"]["reason"] == "Investigation INV-9: lot cleared"
    assert await _open_after_use(client, line) == {}
    for number in ("CAR-A", "CAR-B", "CAR-C"):
        assert (await complete_batch(client, line.supervisor, number)).status_code == 200


@pytest.mark.req("URS-026", "URS-027", "URS-025")
async def test_a_recall_answers_with_its_impact(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    expiry = site_today() + timedelta(days=200)
    first = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-9", 5, expiry)
    second = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-9", 5, expiry)
    used, *spare = await add_units(client, line.warehouse, first["id"], 3)
    spare += await add_units(client, line.warehouse, second["id"], 2)
    await create_batch(client, line.supervisor, "CAR-A", coi="COI-A")
    await create_batch(client, line.supervisor, "CAR-B", coi="COI-B")
    await scan_ok(client, line.operator, used, "CAR-A")
    made = await _output(client, line, "CAR-A", "VEC-1")
    await release_lot(client, line.qa, made["id"])
    await scan_ok(client, line.operator, made["code"], "CAR-B")
    r = await client.post(
        "/recalls",
        json={
            "component_type": "BAG",
            "supplier_lot": "BB-9",
            "notice_ref": "FSCA-2025-07",
            "reason": "Seal failure reported by the supplier",
            "signature": line.qa.signature("Recall"),
        },
        headers=line.qa.headers,
    )
    assert r.status_code == 201, r.text
    recall = r.json()
    assert sorted(recall["lots"]) == sorted([first["id"], second["id"]])
    batches = {b["batch"]: b for b in recall["impact"]["batches"]}
    assert set(batches) == {"CAR-A", "CAR-B"}
    assert batches["CAR-A"]["coi"] == "COI-A" and batches["CAR-B"]["coi"] == "COI-B"
    assert sorted(recall["impact"]["units_available"]) == sorted(spare)
    opened = await _open_after_use(client, line)
    assert {k: len(v) for k, v in opened.items()} == {"CAR-A": 1, "CAR-B": 1}
    for lot in (first, second):
        assert (await get_json(client, f"/lots/{lot['id']}", line.qa))["status"] == "recalled"
