"""The line's go/no-go over HTTP: every check of the flag table on its own, all failures
reported together, and what a stored scan keeps (raw barcode, status and expiry at scan)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.support import (
    BAG_GTIN,
    GS,
    SET_GTIN,
    Actors,
    Line,
    abort_batch,
    add_units,
    assert_blocked,
    assert_problem,
    audit_seq,
    batch_flags,
    batch_scans,
    change_status,
    complete_batch,
    create_batch,
    create_type,
    flag_message,
    get_json,
    gs1_string,
    line_staff,
    lot_label,
    post_scan,
    receive_lot,
    record_output,
    release_lot,
    released_lot,
    scan_ok,
    site_today,
    yymmdd,
)

BATCH = "B-100"


async def _line(client: httpx.AsyncClient, actors: Actors, *, start: bool = True) -> Line:
    """BAG (serial, GTIN) and SET (lot, GTIN), both warning 30 days before expiry, and batch
    B-100 in progress without a BOM."""
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial", gtin=BAG_GTIN)
    await create_type(client, line.qa, "SET", tracking="lot", gtin=SET_GTIN)
    await create_batch(client, line.supervisor, BATCH, start=start)
    return line


async def _lot(client: httpx.AsyncClient, line: Line, lot_id: int) -> dict[str, Any]:
    lot: dict[str, Any] = await get_json(client, f"/lots/{lot_id}", line.qa)
    return lot


async def _unit(client: httpx.AsyncClient, line: Line, barcode: str) -> dict[str, Any]:
    unit: dict[str, Any] = await get_json(client, f"/units/{barcode}", line.qa)
    return unit


async def _nothing_used(
    client: httpx.AsyncClient, line: Line, lot: dict[str, Any], units: tuple[str, ...] = ()
) -> None:
    """The refusal consumed nothing and opened no batch flag."""
    assert (await _lot(client, line, lot["id"]))["quantity_left"] == lot["quantity_left"]
    for barcode in units:
        assert (await _unit(client, line, barcode))["status"] == "available"
    assert await batch_flags(client, line.qa, BATCH) == []


# --- resolution failures -------------------------------------------------------------------


@pytest.mark.req("URS-018")
@pytest.mark.req("URS-016", "URS-015", negative=True)
async def test_unknown_barcode_is_404(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    await released_lot(client, line.qa, line.warehouse, "SET", "SL-1")
    unknown = {
        "U-99999999": "U-99999999",
        "L-999999": "L-999999",
        "HELLO-WORLD": "HELLO-WORLD",
        gs1_string("04006381333931", lot="X1"): "04006381333931",
        gs1_string(SET_GTIN, lot="NEVER-SEEN"): "NEVER-SEEN",
        gs1_string(BAG_GTIN, serial="SN-404"): "SN-404",
    }
    for barcode, named in unknown.items():
        body = assert_blocked(
            await post_scan(client, line.operator, barcode, BATCH), 404, "UNKNOWN_BARCODE"
        )
        assert [f["code"] for f in body["flags"]] == ["UNKNOWN_BARCODE"]
        assert named in flag_message(body, "UNKNOWN_BARCODE"), body
    stored = await batch_scans(client, line.qa, BATCH)
    assert [s["barcode"] for s in stored] == list(unknown)
    assert {s["outcome"] for s in stored} == {"blocked"}
    assert all(s["lot"] is None and s["unit"] is None for s in stored)


@pytest.mark.req("URS-016", negative=True)
async def test_unparseable_barcode_is_422(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "SL-1")
    bad = {
        # GTIN check digit 8 where 9 is right.
        "]C1" + "0110614141000728" + "10SL-1": "10614141000728",
        # 31 February.
        "]d2" + "01" + SET_GTIN + "17270231" + "10SL-1": "270231",
        # Month 13.
        "01" + SET_GTIN + "17271301" + "10SL-1": "271301",
        # A GTIN cut short.
        "]Q3" + "0100614141": "00614141",
    }
    for barcode, named in bad.items():
        r = await post_scan(client, line.operator, barcode, BATCH)
        body = assert_blocked(r, 422, "UNPARSEABLE_BARCODE")
        assert named in flag_message(body, "UNPARSEABLE_BARCODE"), body
    stored = await batch_scans(client, line.qa, BATCH)
    assert [(s["barcode"], s["outcome"]) for s in stored] == [(b, "blocked") for b in bad]
    await _nothing_used(client, line, lot)


# --- the lot's status ----------------------------------------------------------------------


@pytest.mark.req("URS-011", negative=True)
async def test_rejected_lot_is_blocked(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    lot = await receive_lot(client, line.warehouse, "SET", "SL-1")
    assert (await change_status(client, line.qa, lot["id"], "rejected")).status_code == 200
    body = assert_blocked(
        await post_scan(client, line.operator, lot["code"], BATCH), 409, "REJECTED"
    )
    message = flag_message(body, "REJECTED")
    assert lot["code"] in message and "rejected" in message
    await _nothing_used(client, line, lot)


@pytest.mark.req("URS-011", negative=True)
async def test_recalled_lot_is_blocked(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "BAG", "SL-1")
    [unit] = await add_units(client, line.warehouse, lot["id"])
    assert (await change_status(client, line.qa, lot["id"], "recalled")).status_code == 200
    body = assert_blocked(await post_scan(client, line.operator, unit, BATCH), 409, "RECALLED")
    message = flag_message(body, "RECALLED")
    assert lot["code"] in message and "recalled" in message
    await _nothing_used(client, line, lot, (unit,))


@pytest.mark.req("URS-011", "URS-002", negative=True)
async def test_quarantined_lot_is_blocked(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    lot = await receive_lot(client, line.warehouse, "BAG", "SL-1")
    [unit] = await add_units(client, line.warehouse, lot["id"])
    body = assert_blocked(await post_scan(client, line.operator, unit, BATCH), 409, "QUARANTINED")
    message = flag_message(body, "QUARANTINED")
    assert lot["code"] in message and "quarantined" in message
    await _nothing_used(client, line, lot, (unit,))


@pytest.mark.req("URS-024")
@pytest.mark.req("URS-011", "URS-028", negative=True)
async def test_lot_made_by_a_flagged_batch_is_blocked(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    used = await released_lot(client, line.qa, line.warehouse, "SET", "SL-1")
    await scan_ok(client, line.operator, used["code"], BATCH)
    output = await record_output(
        client, line.supervisor, BATCH, "SET", "OUT-1", quantity=4, days=90
    )
    await release_lot(client, line.qa, output["id"])
    # The lot the batch used is quarantined after use: the batch gets an open blocking flag.
    assert (await change_status(client, line.qa, used["id"], "quarantined")).status_code == 200
    await create_batch(client, line.supervisor, "B-200")
    r = await post_scan(client, line.operator, output["code"], "B-200")
    body = assert_blocked(r, 409, "SOURCE_BATCH_FLAGGED")
    message = flag_message(body, "SOURCE_BATCH_FLAGGED")
    assert output["code"] in message and BATCH in message
    assert (await _lot(client, line, output["id"]))["quantity_left"] == 4
    assert await batch_flags(client, line.qa, "B-200") == []


# --- dates -------------------------------------------------------------------------------


@pytest.mark.req("URS-012", negative=True)
async def test_expired_lot_is_blocked(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    yesterday = site_today() - timedelta(days=1)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "SL-1")
    r = await client.post(
        f"/lots/{lot['id']}/correct",
        json={
            "changes": {"expiry_date": yesterday.isoformat()},
            "reason": "Supplier corrected the expiry",
            "signature": line.qa.signature("Corrected"),
        },
        headers=line.qa.headers,
    )
    assert r.status_code == 200, r.text
    body = assert_blocked(
        await post_scan(client, line.operator, lot["code"], BATCH), 409, "EXPIRED"
    )
    assert yesterday.isoformat() in flag_message(body, "EXPIRED")
    assert lot["code"] in flag_message(body, "EXPIRED")
    await _nothing_used(client, line, lot)


@pytest.mark.req("URS-012")
async def test_a_lot_expiring_today_is_still_usable(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "SL-1", expiry=site_today())
    answer = await scan_ok(client, line.operator, lot["code"], BATCH)
    assert [f["code"] for f in answer["flags"]] == ["EXPIRES_SOON"]


@pytest.mark.req("URS-013", negative=True)
async def test_retest_due_lot_is_blocked(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    retest = site_today() - timedelta(days=1)
    lot = await released_lot(
        client, line.qa, line.warehouse, "SET", "SL-1", retest_date=retest.isoformat()
    )
    body = assert_blocked(
        await post_scan(client, line.operator, lot["code"], BATCH), 409, "RETEST_DUE"
    )
    message = flag_message(body, "RETEST_DUE")
    assert retest.isoformat() in message and lot["code"] in message
    await _nothing_used(client, line, lot)
    # Retest due today is not yet overdue.
    other = await released_lot(
        client, line.qa, line.warehouse, "SET", "SL-2", retest_date=site_today().isoformat()
    )
    await scan_ok(client, line.operator, other["code"], BATCH)


@pytest.mark.req("URS-012")
async def test_expires_soon_is_a_warning(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    expiry = site_today() + timedelta(days=10)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "SL-1", expiry=expiry)
    r = await post_scan(client, line.operator, lot["code"], BATCH)
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["outcome"] == "accepted"
    [flag] = answer["flags"]
    assert flag["code"] == "EXPIRES_SOON" and flag["severity"] == "warn"
    assert expiry.isoformat() in flag["message"] and lot["code"] in flag["message"]
    assert (await _lot(client, line, lot["id"]))["quantity_left"] == 9
    # Beyond the warning window: no warning.
    later = await released_lot(
        client, line.qa, line.warehouse, "SET", "SL-2", expiry=site_today() + timedelta(days=31)
    )
    assert (await scan_ok(client, line.operator, later["code"], BATCH))["flags"] == []


# --- units and quantities ------------------------------------------------------------------


@pytest.mark.req("URS-014", negative=True)
async def test_a_used_unit_is_blocked(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "BAG", "SL-1", quantity=5)
    used, dropped = await add_units(client, line.warehouse, lot["id"], 2)
    first = await scan_ok(client, line.operator, used, BATCH, station="BSC-2")
    r = await client.post(
        f"/units/{dropped}/discard",
        json={"reason_code": "dropped", "reason": "Fell on the floor"},
        headers=line.operator.headers,
    )
    assert r.status_code == 200, r.text
    left = (await _lot(client, line, lot["id"]))["quantity_left"]
    for barcode, status in ((used, "consumed"), (dropped, "discarded")):
        body = assert_blocked(
            await post_scan(client, line.operator, barcode, BATCH), 409, "ALREADY_USED"
        )
        message = flag_message(body, "ALREADY_USED")
        assert barcode in message
        if status == "consumed":
            # Where, when and by whom: the line can find the unit's first use.
            assert f"batch '{BATCH}'" in message and line.operator.username in message
            assert f"station BSC-2 (scan {first['id']})" in message
            assert first["at"][:16].replace("T", " ") + " UTC" in message
        else:
            assert status in message
        assert (await _unit(client, line, barcode))["status"] == status
    assert (await _lot(client, line, lot["id"]))["quantity_left"] == left
    assert [s["outcome"] for s in await batch_scans(client, line.qa, BATCH)] == [
        "accepted",
        "blocked",
        "blocked",
    ]


@pytest.mark.req("URS-014", negative=True)
async def test_concurrent_scans_of_one_unit_accept_exactly_one(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "BAG", "SL-1")
    [unit] = await add_units(client, line.warehouse, lot["id"])
    answers = await asyncio.gather(
        *(post_scan(client, actor, unit, BATCH) for actor in [line.operator, line.supervisor] * 3)
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in answers]
    for r in answers:
        if r.status_code == 409:
            assert_blocked(r, 409, "ALREADY_USED")
    stored = await batch_scans(client, line.qa, BATCH)
    assert sorted(s["outcome"] for s in stored) == ["accepted"] + ["blocked"] * 5
    assert (await _unit(client, line, unit))["status"] == "consumed"


@pytest.mark.req("URS-014", negative=True)
async def test_more_than_the_lot_has_left_is_blocked(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "SL-1", quantity=5)
    r = await post_scan(client, line.operator, lot["code"], BATCH, quantity=6)
    body = assert_blocked(r, 409, "INSUFFICIENT_QUANTITY")
    message = flag_message(body, "INSUFFICIENT_QUANTITY")
    assert lot["code"] in message and "5" in message
    await _nothing_used(client, line, lot)
    # Exactly what is left is fine.
    await scan_ok(client, line.operator, lot["code"], BATCH, quantity=5)
    assert (await _lot(client, line, lot["id"]))["quantity_left"] == 0


@pytest.mark.req("URS-016", negative=True)
async def test_serial_type_scanned_by_lot_is_blocked(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-17", quantity=3)
    units = await add_units(client, line.warehouse, lot["id"], 3)
    expiry = date.fromisoformat(lot["expiry_date"])
    by_supplier_lot = gs1_string(BAG_GTIN, expiry=expiry, lot="BB-17")
    body = assert_blocked(
        await post_scan(client, line.operator, by_supplier_lot, BATCH), 409, "SERIAL_REQUIRED"
    )
    assert "BB-17" in flag_message(body, "SERIAL_REQUIRED")
    for barcode in (lot["code"], lot_label(BAG_GTIN, lot)):
        body = assert_blocked(
            await post_scan(client, line.operator, barcode, BATCH), 409, "SERIAL_REQUIRED"
        )
        assert lot["code"] in flag_message(body, "SERIAL_REQUIRED")
    await _nothing_used(client, line, lot, tuple(units))


@pytest.mark.req("URS-015")
@pytest.mark.req("URS-016", negative=True)
async def test_a_supplier_lot_received_twice_is_ambiguous(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    expiry = site_today() + timedelta(days=200)
    first = await released_lot(client, line.qa, line.warehouse, "SET", "TS-5", 3, expiry)
    second = await released_lot(client, line.qa, line.warehouse, "SET", "TS-5", 3, expiry)
    supplier = gs1_string(SET_GTIN, expiry=expiry, lot="TS-5", prefix="]d2")
    body = assert_blocked(
        await post_scan(client, line.operator, supplier, BATCH), 409, "AMBIGUOUS_LOT"
    )
    message = flag_message(body, "AMBIGUOUS_LOT")
    assert "TS-5" in message and first["code"] in message and second["code"] in message
    await _nothing_used(client, line, first)
    await _nothing_used(client, line, second)
    # Our lot label, or the bare lot code, names exactly one receipt.
    answer = await scan_ok(client, line.operator, lot_label(SET_GTIN, first), BATCH, quantity=3)
    assert answer["lot"] == first["id"] and answer["lot_code"] == first["code"]
    answer = await scan_ok(client, line.operator, second["code"], BATCH)
    assert answer["lot"] == second["id"]
    # With only one receipt left holding stock, the supplier's label resolves to it.
    answer = await scan_ok(client, line.operator, supplier, BATCH)
    assert answer["lot"] == second["id"]
    assert (await _lot(client, line, second["id"]))["quantity_left"] == 1


@pytest.mark.req("URS-016", "URS-015", negative=True)
async def test_label_that_differs_from_the_record_is_blocked(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    expiry = site_today() + timedelta(days=200)
    wrong = expiry + timedelta(days=1)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-5", expiry=expiry)
    bag_lot = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1", expiry=expiry)
    r = await client.post(
        f"/lots/{bag_lot['id']}/units", json={"serials": ["SN-1"]}, headers=line.warehouse.headers
    )
    assert r.status_code == 201, r.text
    unit = r.json()["items"][0]["barcode"]
    cases = [
        (gs1_string(SET_GTIN, expiry=wrong, lot="TS-5"), lot),
        (lot_label(SET_GTIN, {**lot, "expiry_date": wrong.isoformat()}), lot),
        (gs1_string(BAG_GTIN, expiry=wrong, lot="BB-1", serial="SN-1"), bag_lot),
    ]
    # A (10) that differs from the record is a mismatch too.
    for barcode in (
        gs1_string(BAG_GTIN, expiry=expiry, lot="BB-9", serial="SN-1"),
        lot_label(SET_GTIN, {**lot, "supplier_lot": "TS-9"}),
    ):
        body = assert_blocked(
            await post_scan(client, line.operator, barcode, BATCH), 409, "LABEL_MISMATCH"
        )
        assert "-9" in flag_message(body, "LABEL_MISMATCH")
    for barcode, named in cases:
        body = assert_blocked(
            await post_scan(client, line.operator, barcode, BATCH), 409, "LABEL_MISMATCH"
        )
        message = flag_message(body, "LABEL_MISMATCH")
        assert named["code"] in message, message
        assert wrong.isoformat() in message and expiry.isoformat() in message, message
    await _nothing_used(client, line, lot)
    await _nothing_used(client, line, bag_lot, (unit,))


# --- the batch -----------------------------------------------------------------------------


@pytest.mark.req("URS-017", negative=True)
async def test_a_type_not_on_the_bom_is_the_wrong_component(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    await create_type(client, line.qa, "TUBE", tracking="lot")
    bom = [
        {"step": "thaw", "component_type": "SET", "quantity": 2},
        {"step": "wash", "component_type": "TUBE", "quantity": 1},
    ]
    await create_batch(client, line.supervisor, "B-BOM", bom=bom)
    lot = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1")
    [unit] = await add_units(client, line.warehouse, lot["id"])
    body = assert_blocked(
        await post_scan(client, line.operator, unit, "B-BOM"), 409, "WRONG_COMPONENT"
    )
    message = flag_message(body, "WRONG_COMPONENT")
    assert "BAG" in message and "B-BOM" in message
    # SET is on the BOM, at step thaw only.
    sets = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    r = await post_scan(client, line.operator, sets["code"], "B-BOM", step="wash")
    body = assert_blocked(r, 409, "WRONG_COMPONENT")
    message = flag_message(body, "WRONG_COMPONENT")
    assert "SET" in message and "wash" in message
    await _nothing_used(client, line, sets, (unit,))
    assert await batch_flags(client, line.qa, "B-BOM") == []
    await scan_ok(client, line.operator, sets["code"], "B-BOM", step="thaw")
    await scan_ok(client, line.operator, sets["code"], "B-BOM")


@pytest.mark.req("URS-017")
async def test_more_than_the_bom_asks_is_a_warning(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    bom = [{"step": "thaw", "component_type": "SET", "quantity": 2}]
    await create_batch(client, line.supervisor, "B-BOM", bom=bom)
    await create_batch(client, line.supervisor, "B-ANY", bom=bom)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    for batch, step in (("B-BOM", {"step": "thaw"}), ("B-ANY", {})):
        answer = await scan_ok(client, line.operator, lot["code"], batch, quantity=2, **step)
        assert answer["flags"] == []
        r = await post_scan(client, line.operator, lot["code"], batch, **step)
        assert r.status_code == 201, r.text
        answer = r.json()
        assert answer["outcome"] == "accepted"
        [flag] = answer["flags"]
        assert flag["code"] == "OVER_BOM_QUANTITY" and flag["severity"] == "warn"
        assert "SET" in flag["message"] and "3" in flag["message"]
    assert (await _lot(client, line, lot["id"]))["quantity_left"] == 4
    assert await batch_flags(client, line.qa, "B-BOM") == []


@pytest.mark.req("URS-017", negative=True)
async def test_a_blocked_scan_is_not_over_the_bom_nor_counted_towards_it(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    await create_batch(
        client, line.supervisor, "B-BOM", bom=[{"component_type": "SET", "quantity": 1}]
    )
    good = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    held = await receive_lot(client, line.warehouse, "SET", "TS-2")
    assert (await scan_ok(client, line.operator, good["code"], "B-BOM"))["flags"] == []
    body = assert_blocked(
        await post_scan(client, line.operator, held["code"], "B-BOM"), 409, "QUARANTINED"
    )
    assert [f["code"] for f in body["flags"]] == ["QUARANTINED"]
    assert [f["code"] for f in (await batch_scans(client, line.qa, "B-BOM"))[-1]["flags"]] == [
        "QUARANTINED"
    ]
    # The refused item was not used: the next accepted one makes 2, not 3.
    answer = await scan_ok(client, line.operator, good["code"], "B-BOM")
    assert "this makes 2" in flag_message(answer, "OVER_BOM_QUANTITY")


@pytest.mark.req("URS-017")
async def test_over_bom_counts_scans_with_and_without_a_step(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    bom = [{"step": "thaw", "component_type": "SET", "quantity": 2}]
    await create_batch(client, line.supervisor, "B-BOM", bom=bom)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    assert (await scan_ok(client, line.operator, lot["code"], "B-BOM", quantity=2))["flags"] == []
    answer = await scan_ok(client, line.operator, lot["code"], "B-BOM", step="thaw")
    assert [f["code"] for f in answer["flags"]] == ["OVER_BOM_QUANTITY"]


@pytest.mark.req("URS-017", negative=True)
async def test_a_batch_not_in_progress_blocks_every_scan(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors, start=False)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    await create_batch(client, line.supervisor, "B-DONE")
    assert (await complete_batch(client, line.supervisor, "B-DONE")).status_code == 200
    await create_batch(client, line.supervisor, "B-STOP")
    assert (await abort_batch(client, line.supervisor, "B-STOP")).status_code == 200
    for batch, status in ((BATCH, "planned"), ("B-DONE", "completed"), ("B-STOP", "aborted")):
        r = await post_scan(client, line.operator, lot["code"], batch)
        body = assert_blocked(r, 409, "BATCH_NOT_ACTIVE")
        message = flag_message(body, "BATCH_NOT_ACTIVE")
        assert batch in message and status in message
        [stored] = await batch_scans(client, line.qa, batch)
        assert stored["outcome"] == "blocked" and stored["id"] == body["scan_id"]
    assert (await _lot(client, line, lot["id"]))["quantity_left"] == 10


# --- all together, and what is stored ------------------------------------------------------


@pytest.mark.req("URS-018", "URS-011", "URS-012", "URS-017", negative=True)
async def test_every_failing_check_is_reported_together(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    expired_on = site_today() - timedelta(days=3)
    r = await client.post(
        "/lots",
        json={
            "component_type": "SET",
            "supplier_lot": "OLD-1",
            "quantity": 10,
            "expiry_date": expired_on.isoformat(),
        },
        headers=line.warehouse.headers,
    )
    assert r.status_code == 201, r.text
    lot = r.json()
    assert [w["code"] for w in lot["warnings"]] == ["EXPIRED_ON_RECEIPT"]
    assert (await change_status(client, line.qa, lot["id"], "recalled")).status_code == 200
    body = assert_blocked(
        await post_scan(client, line.operator, lot["code"], BATCH), 409, "RECALLED", "EXPIRED"
    )
    assert lot["code"] in flag_message(body, "RECALLED")
    assert expired_on.isoformat() in flag_message(body, "EXPIRED")
    # Add a batch that is not running and has another BOM: four reasons at once.
    await create_batch(
        client,
        line.supervisor,
        "B-PLAN",
        bom=[{"component_type": "BAG", "quantity": 1}],
        start=False,
    )
    r = await post_scan(client, line.operator, lot["code"], "B-PLAN", quantity=11)
    assert_blocked(
        r,
        409,
        "RECALLED",
        "EXPIRED",
        "INSUFFICIENT_QUANTITY",
        "WRONG_COMPONENT",
        "BATCH_NOT_ACTIVE",
    )
    assert (await _lot(client, line, lot["id"]))["quantity_left"] == 10


@pytest.mark.req("URS-033")
@pytest.mark.req("URS-018", "URS-011", negative=True)
async def test_a_blocked_scan_is_stored_and_consumes_nothing(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await receive_lot(client, line.warehouse, "BAG", "BB-1", quantity=2)
    [unit] = await add_units(client, line.warehouse, lot["id"])
    r = await post_scan(client, line.operator, unit, BATCH, step="thaw", station="BSC-2")
    body = assert_blocked(r, 409, "QUARANTINED")
    [stored] = await batch_scans(client, line.qa, BATCH)
    assert stored["id"] == body["scan_id"]
    assert stored["outcome"] == "blocked"
    assert stored["barcode"] == unit and stored["unit"] == unit
    assert stored["lot"] == lot["id"] and stored["batch"] == BATCH
    assert stored["step"] == "thaw" and stored["station"] == "BSC-2"
    assert stored["actor"] == line.operator.username and stored["quantity"] == 1
    assert stored["flags"] == body["flags"]
    assert stored["lot_status_at_scan"] == "quarantined"
    assert stored["override"] is None and stored["reversal"] is None
    view = await _unit(client, line, unit)
    assert view["status"] == "available" and view["blocking"] == ["QUARANTINED"]
    assert (await _lot(client, line, lot["id"]))["quantity_left"] == 2
    assert await batch_flags(client, line.qa, BATCH) == []
    batch_view = await get_json(client, f"/batches/{BATCH}", line.qa)
    assert batch_view["open_blocking_flags"] == 0
    page = await get_json(client, f"/batches/{BATCH}/flags", line.qa)
    assert page == {"items": [], "total": 0}


@pytest.mark.req("URS-018", "URS-015")
async def test_the_raw_barcode_is_stored_exactly_as_sent(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    expiry = date.fromisoformat(lot["expiry_date"])
    sent = [
        "]C1"
        + "01"
        + SET_GTIN
        + "17"
        + yymmdd(expiry)
        + "10TS-1"
        + GS
        + "91"
        + lot["code"]
        + "\r\n",
        "]d2" + GS + "01" + SET_GTIN + "10TS-1" + GS + "\n",
        lot["code"] + "\r\n",
        "U-12345678\n",
    ]
    for barcode in sent:
        await post_scan(client, line.operator, barcode, BATCH)
    stored = await batch_scans(client, line.qa, BATCH)
    assert [s["barcode"] for s in stored] == sent
    assert [s["outcome"] for s in stored] == ["accepted", "accepted", "accepted", "blocked"]


@pytest.mark.req("URS-018")
async def test_a_scan_keeps_the_lot_status_and_expiry_it_saw(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    answer = await scan_ok(client, line.operator, lot["code"], BATCH)
    assert (await change_status(client, line.qa, lot["id"], "recalled")).status_code == 200
    assert_blocked(await post_scan(client, line.operator, lot["code"], BATCH), 409, "RECALLED")
    first, second = await batch_scans(client, line.qa, BATCH)
    assert first["id"] == answer["id"] and first["outcome"] == "accepted"
    assert first["lot_status_at_scan"] == "released"
    assert first["expiry_at_scan"] == lot["expiry_date"]
    assert second["lot_status_at_scan"] == "recalled"
    assert second["expiry_at_scan"] == lot["expiry_date"]


@pytest.mark.req("URS-006", "URS-016", negative=True)
async def test_bad_barcodes_are_422_and_nothing_is_stored(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    head = await audit_seq(client)
    # Each with the code of what refused it: the body's validation or the barcode reader.
    bad = [
        ("A" * 513, "INVALID_BARCODE"),
        ("U-" + "1" * 600, "VALIDATION_ERROR"),
        ("", "VALIDATION_ERROR"),
        (lot["code"] + "\x00", "INVALID_BARCODE"),
        ("L-\t000001", "INVALID_BARCODE"),
        (lot["code"] + "\r\n\r\n", "INVALID_BARCODE"),
        ("\x1b" + lot["code"], "INVALID_BARCODE"),
        ("01" + SET_GTIN + "\r" + "10TS-1", "INVALID_BARCODE"),
        (lot["code"] + "\x7f", "INVALID_BARCODE"),
    ]
    for barcode, code in bad:
        r = await post_scan(client, line.operator, barcode, BATCH)
        body = assert_problem(r, 422, code)
        assert body["code"] != "SCAN_BLOCKED", body
        assert "scan_id" not in body
        assert any(e["field"].endswith("barcode") for e in body["errors"]), body
    assert await audit_seq(client) == head
    assert await batch_scans(client, line.qa, BATCH) == []
    assert (await _lot(client, line, lot["id"]))["quantity_left"] == 10
    # 512 characters is the limit, not over it: read, matched to nothing, stored.
    body = assert_blocked(
        await post_scan(client, line.operator, "A" * 512, BATCH), 404, "UNKNOWN_BARCODE"
    )
    assert [f["code"] for f in body["flags"]] == ["UNKNOWN_BARCODE"]
