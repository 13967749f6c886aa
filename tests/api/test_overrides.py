"""After a scan: QA overrides a blocked scan as a signed deviation (a second person, only when
every blocking flag may be overridden, re-checked now); a supervisor or QA reverses an accepted
scan, returning or discarding what it took. Reconciliation balances throughout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.support import (
    Actor,
    Actors,
    Line,
    add_units,
    assemble,
    assert_blocked,
    assert_problem,
    batch_flags,
    batch_scans,
    change_status,
    create_batch,
    create_type,
    get_json,
    line_staff,
    post_scan,
    receive_lot,
    release_lot,
    released_lot,
    scan_ok,
    site_today,
    staff,
)

BATCH = "B-100"
SIGNATURE_FIELDS = {"username", "full_name", "at", "meaning", "record_hash"}


async def _line(client: httpx.AsyncClient, actors: Actors) -> Line:
    """BAG (serial) and SET (lot); batch B-100 in progress without a BOM."""
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial")
    await create_type(client, line.qa, "SET", tracking="lot")
    await create_batch(client, line.supervisor, BATCH)
    return line


async def _override(
    client: httpx.AsyncClient,
    qa: Actor,
    scan_id: int,
    *,
    deviation_ref: str = "DEV-2025-0042",
    password: str | None = None,
) -> httpx.Response:
    body = {
        "reason": "Lot release paperwork delayed; material verified by QA",
        "deviation_ref": deviation_ref,
        "signature": qa.signature("Deviation approved", password),
    }
    return await client.post(f"/scans/{scan_id}/override", json=body, headers=qa.headers)


async def _reverse(
    client: httpx.AsyncClient,
    actor: Actor,
    scan_id: int,
    disposition: str,
    password: str | None = None,
) -> httpx.Response:
    body = {
        "reason": "Scanned into the wrong batch",
        "disposition": disposition,
        "signature": actor.signature("Scan reversed", password),
    }
    return await client.post(f"/scans/{scan_id}/reverse", json=body, headers=actor.headers)


async def _unit_status(client: httpx.AsyncClient, line: Line, barcode: str) -> str:
    status: str = (await get_json(client, f"/units/{barcode}", line.qa))["status"]
    return status


async def _balanced(client: httpx.AsyncClient, line: Line, lot_id: int) -> dict[str, Any]:
    counts: dict[str, Any] = await get_json(client, f"/lots/{lot_id}/reconciliation", line.qa)
    assert counts["received"] == counts["consumed"] + counts["discarded"] + counts["on_hand"]
    return counts


async def _still_blocked(
    client: httpx.AsyncClient, line: Line, scan_id: int, unit: str | None = None
) -> None:
    """A refused override changed nothing: the scan is blocked, the unit unused, no flags."""
    [stored] = [s for s in await batch_scans(client, line.qa, BATCH) if s["id"] == scan_id]
    assert stored["outcome"] == "blocked" and stored["override"] is None
    if unit is not None:
        assert await _unit_status(client, line, unit) == "available"
    assert await batch_flags(client, line.qa, BATCH, "resolved") == []


# --- overrides -------------------------------------------------------------------------------


@pytest.mark.req("URS-020", "URS-035", "URS-082")
async def test_qa_overrides_a_kit_blocked_by_a_quarantined_part(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    """A kit blocked because its part's lot is quarantined is overridden like a unit; when the
    part's lot is recalled afterwards, the batch that used the kit is flagged for it."""
    line = await _line(client, actors)
    await create_type(
        client, line.qa, "KIT", tracking="serial", category="kit", is_assembly=True, hold_hours=48
    )
    lot = await receive_lot(client, line.warehouse, "BAG", "BB-1", quantity=1, coa_ref="COA-1")
    [bag] = await add_units(client, line.warehouse, lot["id"])
    kit = (await assemble(client, line.warehouse, "KIT", [bag]))["barcode"]
    blocked = assert_blocked(await post_scan(client, line.operator, kit, BATCH), 409, "QUARANTINED")
    r = await _override(client, line.qa, blocked["scan_id"])
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "accepted" and r.json()["unit"] == kit
    assert await _unit_status(client, line, kit) == "consumed"
    assert (await change_status(client, line.qa, lot["id"], "recalled")).status_code == 200
    flags = await batch_flags(client, line.qa, BATCH, "open")
    assert [(f["code"], f["lot_code"]) for f in flags] == [
        ("LOT_STATUS_CHANGED_AFTER_USE", lot["code"])
    ]


@pytest.mark.req("URS-020", "URS-042")
async def test_qa_overrides_a_quarantined_unit_as_a_deviation(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await receive_lot(client, line.warehouse, "BAG", "BB-1", quantity=3)
    [unit] = await add_units(client, line.warehouse, lot["id"])
    blocked = assert_blocked(
        await post_scan(client, line.operator, unit, BATCH), 409, "QUARANTINED"
    )
    r = await _override(client, line.qa, blocked["scan_id"])
    assert r.status_code == 200, r.text
    scan = r.json()
    assert scan["id"] == blocked["scan_id"] and scan["outcome"] == "accepted"
    assert scan["unit"] == unit and scan["lot"] == lot["id"] and scan["actor"] == "operator1"
    override = scan["override"]
    assert override["by"] == line.qa.username
    assert override["deviation_ref"] == "DEV-2025-0042" and override["reason"]
    assert set(override["signature"]) >= SIGNATURE_FIELDS
    assert override["signature"]["username"] == line.qa.username
    assert await batch_scans(client, line.qa, BATCH) == [scan]
    assert await _unit_status(client, line, unit) == "consumed"
    assert (await _balanced(client, line, lot["id"]))["consumed"] == 1
    [flag] = await batch_flags(client, line.qa, BATCH)
    assert flag["code"] == "QUARANTINED" and flag["severity"] == "block"
    assert flag["status"] == "resolved" and flag["batch"] == BATCH
    assert flag["deviation_ref"] == "DEV-2025-0042" and flag["scan_id"] == scan["id"]
    assert flag["lot_id"] == lot["id"] and flag["unit"] == unit
    assert flag["resolved_by"] == line.qa.username and flag["resolved_at"]
    assert lot["code"] in flag["message"]
    assert set(flag["resolution"]["signature"]) >= SIGNATURE_FIELDS
    assert (await get_json(client, f"/batches/{BATCH}", line.qa))["open_blocking_flags"] == 0
    assert await batch_flags(client, line.qa, BATCH, "open") == []


@pytest.mark.req("URS-020", "URS-013", "URS-012", "URS-017")
async def test_expired_retest_due_and_wrong_component_are_overridden_together(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    await create_batch(
        client, line.supervisor, "B-BOM", bom=[{"component_type": "BAG", "quantity": 1}]
    )
    past = site_today() - timedelta(days=2)
    lot = await receive_lot(
        client,
        line.warehouse,
        "SET",
        "OLD-1",
        quantity=5,
        expiry=past,
        retest_date=past.isoformat(),
    )
    r = await post_scan(client, line.operator, lot["code"], "B-BOM", quantity=2)
    codes = ("QUARANTINED", "EXPIRED", "RETEST_DUE", "WRONG_COMPONENT")
    blocked = assert_blocked(r, 409, *codes)
    r = await _override(client, line.qa, blocked["scan_id"], deviation_ref="DEV-7")
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "accepted"
    assert (await get_json(client, f"/lots/{lot['id']}", line.qa))["quantity_left"] == 3
    flags = await batch_flags(client, line.qa, "B-BOM")
    assert sorted(f["code"] for f in flags) == sorted(codes)
    for flag in flags:
        assert flag["status"] == "resolved" and flag["deviation_ref"] == "DEV-7"
        assert flag["scan_id"] == blocked["scan_id"] and flag["lot_id"] == lot["id"]
        assert flag["resolution"]["signature"]["username"] == line.qa.username
    await _balanced(client, line, lot["id"])


@pytest.mark.req("URS-020", negative=True)
async def test_flags_that_cannot_be_overridden_refuse_the_override(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1")
    [used] = await add_units(client, line.warehouse, lot["id"])
    await scan_ok(client, line.operator, used, BATCH)
    again = assert_blocked(await post_scan(client, line.operator, used, BATCH), 409, "ALREADY_USED")
    other = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-2")
    [unit] = await add_units(client, line.warehouse, other["id"])
    assert (await change_status(client, line.qa, other["id"], "recalled")).status_code == 200
    recalled = assert_blocked(await post_scan(client, line.operator, unit, BATCH), 409, "RECALLED")
    for blocked, barcode in ((again, None), (recalled, unit)):
        problem = assert_problem(
            await _override(client, line.qa, blocked["scan_id"]), 409, "NOT_OVERRIDABLE"
        )
        assert problem["code"] != "SCAN_BLOCKED"
        await _still_blocked(client, line, blocked["scan_id"], barcode)
    assert await _unit_status(client, line, used) == "consumed"


@pytest.mark.req("URS-020", negative=True)
async def test_an_override_is_checked_again_now(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    lot = await receive_lot(client, line.warehouse, "BAG", "BB-1", coa_ref="COA-1")
    [first] = await add_units(client, line.warehouse, lot["id"])
    # Blocked as quarantined; then QA recalls the lot: no override now.
    blocked = assert_blocked(
        await post_scan(client, line.operator, first, BATCH), 409, "QUARANTINED"
    )
    other = await receive_lot(client, line.warehouse, "BAG", "BB-2", coa_ref="COA-2")
    [unit] = await add_units(client, line.warehouse, other["id"])
    used_since = assert_blocked(
        await post_scan(client, line.operator, unit, BATCH), 409, "QUARANTINED"
    )
    assert (await change_status(client, line.qa, lot["id"], "recalled")).status_code == 200
    problem = assert_problem(
        await _override(client, line.qa, blocked["scan_id"]), 409, "NOT_OVERRIDABLE"
    )
    assert lot["code"] in problem["detail"]
    await _still_blocked(client, line, blocked["scan_id"], first)
    # Blocked as quarantined; then released and used by another scan: no override now.
    await release_lot(client, line.qa, other["id"])
    await scan_ok(client, line.operator, unit, "B-100")
    problem = assert_problem(
        await _override(client, line.qa, used_since["scan_id"]), 409, "NOT_OVERRIDABLE"
    )
    assert unit in problem["detail"]


@pytest.mark.req("URS-020", negative=True)
async def test_the_qa_user_who_scanned_cannot_override(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    [second_qa] = await staff(actors, "qa:qa2")
    lot = await receive_lot(client, line.warehouse, "BAG", "BB-1")
    [unit] = await add_units(client, line.warehouse, lot["id"])
    blocked = assert_blocked(await post_scan(client, line.qa, unit, BATCH), 409, "QUARANTINED")
    assert_problem(await _override(client, line.qa, blocked["scan_id"]), 403, "SAME_USER")
    await _still_blocked(client, line, blocked["scan_id"], unit)
    r = await _override(client, second_qa, blocked["scan_id"])
    assert r.status_code == 200, r.text
    assert r.json()["override"]["by"] == "qa2" and r.json()["actor"] == line.qa.username


@pytest.mark.req("URS-020", "URS-043", "URS-009", negative=True)
async def test_an_override_needs_the_qa_users_own_password(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await receive_lot(client, line.warehouse, "BAG", "BB-1")
    [unit] = await add_units(client, line.warehouse, lot["id"])
    blocked = assert_blocked(
        await post_scan(client, line.operator, unit, BATCH), 409, "QUARANTINED"
    )
    r = await _override(client, line.qa, blocked["scan_id"], password="not my password at all")
    assert_problem(r, 403, "SIGNATURE_INVALID")
    await _still_blocked(client, line, blocked["scan_id"], unit)
    # Only QA overrides.
    r = await _override(client, line.supervisor, blocked["scan_id"])
    assert_problem(r, 403, "ROLE_NOT_ALLOWED")
    await _still_blocked(client, line, blocked["scan_id"], unit)


# --- reversals -------------------------------------------------------------------------------


@pytest.mark.req("URS-034")
@pytest.mark.req("URS-021", negative=True)
async def test_reverse_returns_a_unit_to_stock(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1", quantity=3)
    [unit] = await add_units(client, line.warehouse, lot["id"])
    accepted = await scan_ok(client, line.operator, unit, BATCH)
    assert (await _balanced(client, line, lot["id"]))["on_hand"] == 2
    r = await _reverse(client, line.supervisor, accepted["id"], "return")
    assert r.status_code == 200, r.text
    scan = r.json()
    assert scan["id"] == accepted["id"] and scan["outcome"] == "accepted"
    reversal = scan["reversal"]
    assert reversal["disposition"] == "return" and reversal["by"] == line.supervisor.username
    assert reversal["reason"] == "Scanned into the wrong batch"
    assert set(reversal["signature"]) >= SIGNATURE_FIELDS
    assert await batch_scans(client, line.qa, BATCH) == [scan]
    assert await _unit_status(client, line, unit) == "available"
    counts = await _balanced(client, line, lot["id"])
    assert (counts["consumed"], counts["on_hand"]) == (0, 3)
    r = await _reverse(client, line.qa, accepted["id"], "return")
    assert_problem(r, 409, "NOT_REVERSIBLE")
    assert await _unit_status(client, line, unit) == "available"
    assert (await _balanced(client, line, lot["id"]))["on_hand"] == 3
    # Back in stock, it goes into the right batch.
    await create_batch(client, line.supervisor, "B-200")
    await scan_ok(client, line.operator, unit, "B-200")
    assert (await _balanced(client, line, lot["id"]))["consumed"] == 1


@pytest.mark.req("URS-034")
@pytest.mark.req("URS-021", negative=True)
async def test_reverse_can_discard_a_unit(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1", quantity=3)
    [unit] = await add_units(client, line.warehouse, lot["id"])
    accepted = await scan_ok(client, line.operator, unit, BATCH)
    r = await _reverse(client, line.qa, accepted["id"], "discard")
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "accepted"
    assert r.json()["reversal"]["disposition"] == "discard"
    assert await _unit_status(client, line, unit) == "discarded"
    counts = await _balanced(client, line, lot["id"])
    assert (counts["consumed"], counts["discarded"], counts["on_hand"]) == (0, 1, 2)
    assert_problem(
        await _reverse(client, line.qa, accepted["id"], "discard"), 409, "NOT_REVERSIBLE"
    )
    assert_problem(await _reverse(client, line.qa, accepted["id"], "return"), 409, "NOT_REVERSIBLE")
    assert await _unit_status(client, line, unit) == "discarded"
    assert await _balanced(client, line, lot["id"]) == counts


@pytest.mark.req("URS-034")
@pytest.mark.req("URS-021", "URS-046", negative=True)
async def test_reverse_gives_back_or_writes_off_a_lot_quantity(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1", quantity=10)
    returned = await scan_ok(client, line.operator, lot["code"], BATCH, quantity=3)
    written_off = await scan_ok(client, line.operator, lot["code"], BATCH, quantity=2)
    counts = await _balanced(client, line, lot["id"])
    assert (counts["consumed"], counts["on_hand"]) == (5, 5)
    # A wrong password changes nothing.
    r = await _reverse(client, line.supervisor, returned["id"], "return", password="wrong one!")
    assert_problem(r, 403, "SIGNATURE_INVALID")
    assert await _balanced(client, line, lot["id"]) == counts
    assert (await _reverse(client, line.supervisor, returned["id"], "return")).status_code == 200
    counts = await _balanced(client, line, lot["id"])
    assert (counts["consumed"], counts["discarded"], counts["on_hand"]) == (2, 0, 8)
    assert (await _reverse(client, line.qa, written_off["id"], "discard")).status_code == 200
    counts = await _balanced(client, line, lot["id"])
    assert (counts["consumed"], counts["discarded"], counts["on_hand"]) == (0, 2, 8)
    assert (await get_json(client, f"/lots/{lot['id']}", line.qa))["quantity_left"] == 8
    # A blocked scan has nothing to reverse; an operator may not reverse.
    blocked = assert_blocked(
        await post_scan(client, line.operator, lot["code"], BATCH, quantity=9),
        409,
        "INSUFFICIENT_QUANTITY",
    )
    assert_problem(
        await _reverse(client, line.qa, blocked["scan_id"], "return"), 409, "NOT_REVERSIBLE"
    )
    assert_problem(
        await _reverse(client, line.operator, returned["id"], "return"), 403, "ROLE_NOT_ALLOWED"
    )
    assert await _balanced(client, line, lot["id"]) == counts
    stored = await batch_scans(client, line.qa, BATCH)
    assert [s["reversal"]["disposition"] for s in stored[:2]] == ["return", "discard"]
