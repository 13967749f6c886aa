"""Units over HTTP: registration by count or serials, the unit view, discard and history."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support import (
    UNIT_FIELDS,
    Actor,
    Actors,
    assert_problem,
    audit_events,
    audit_seq,
    audited_lot,
    change_status,
    create_type,
    receive_lot,
    release_lot,
    site_today,
)


async def _setup(client: httpx.AsyncClient, actors: Actors) -> tuple[Actor, Actor]:
    """QA and warehouse users; BAG is serial-tracked, SET lot-tracked."""
    qa = await actors.get("qa")
    warehouse = await actors.get("warehouse")
    await create_type(client, qa, "BAG", tracking="serial", expiry_warning_days=30)
    await create_type(client, qa, "SET", tracking="lot")
    return qa, warehouse


async def _register(
    client: httpx.AsyncClient, warehouse: Actor, lot_id: int, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"/lots/{lot_id}/units", json=body, headers=warehouse.headers)


async def _units(
    client: httpx.AsyncClient, warehouse: Actor, lot_id: int, body: dict[str, Any]
) -> list[dict[str, Any]]:
    r = await _register(client, warehouse, lot_id, body)
    assert r.status_code == 201, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _unit(client: httpx.AsyncClient, barcode: str, actor: Actor) -> dict[str, Any]:
    r = await client.get(f"/units/{barcode}", headers=actor.headers)
    assert r.status_code == 200, r.text
    unit: dict[str, Any] = r.json()
    return unit


async def _discard(
    client: httpx.AsyncClient, actor: Actor, barcode: str, reason_code: str = "damaged"
) -> httpx.Response:
    return await client.post(
        f"/units/{barcode}/discard",
        json={"reason_code": reason_code, "reason": "Torn port seen at unpacking"},
        headers=actor.headers,
    )


async def _registered(client: httpx.AsyncClient, qa: Actor, lot_id: int) -> int:
    """How many units the lot has, counted from its registration events."""
    events = await audit_events(client, "lot", lot_id, qa.headers)
    return sum(len(e["after"]["units"]) for e in events if e["action"] == "lot.units_register")


# --- registration ----------------------------------------------------------------------------


@pytest.mark.req("URS-032", "URS-002", "URS-033", "URS-038")
async def test_register_by_count(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=5)
    before = (await client.get(f"/lots/{lot['id']}", headers=qa.headers)).json()
    units = await _units(client, warehouse, lot["id"], {"count": 3})
    assert len(units) == 3
    barcodes = [u["barcode"] for u in units]
    assert len(set(barcodes)) == 3
    for unit in units:
        assert set(unit) == UNIT_FIELDS
        assert re.fullmatch(r"U-\d{8}", unit["barcode"]), unit["barcode"]
        assert unit["serial"] is None
        assert unit["lot"] == lot["id"] and unit["lot_code"] == lot["code"]
        assert unit["component_type"] == "BAG" and unit["status"] == "available"
        assert unit["expiry_date"] == lot["expiry_date"]
        assert unit["usable"] is False and unit["blocking"] == ["QUARANTINED"]
        assert await _unit(client, unit["barcode"], warehouse) == unit

    events = await audit_events(client, "lot", lot["id"], qa.headers)
    assert [e["action"] for e in events] == ["lot.units_register", "lot.receive"]
    event = events[0]
    assert event["actor"] == warehouse.username
    assert event["before"] == audited_lot(before)
    assert [u["barcode"] for u in event["after"]["units"]] == barcodes
    assert {k: v for k, v in event["after"].items() if k != "units"} == audited_lot(before)


@pytest.mark.req("URS-032")
async def test_register_by_serials(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=5)
    units = await _units(client, warehouse, lot["id"], {"serials": ["SN-9", "SN-1", "SN-5"]})
    assert [u["serial"] for u in units] == ["SN-9", "SN-1", "SN-5"]
    assert len({u["barcode"] for u in units}) == 3
    for unit in units:
        assert (await _unit(client, unit["barcode"], qa))["serial"] == unit["serial"]
    event = (await audit_events(client, "lot", lot["id"], qa.headers))[0]
    assert event["after"]["units"] == [
        {"barcode": u["barcode"], "serial": u["serial"]} for u in units
    ]


@pytest.mark.req("URS-032", negative=True)
async def test_more_units_than_the_lot_received_is_409(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=5)
    head = await audit_seq(client)
    body = assert_problem(
        await _register(client, warehouse, lot["id"], {"count": 6}), 409, "QUANTITY_EXCEEDED"
    )
    assert lot["code"] in body["detail"]
    assert await audit_seq(client) == head
    await _units(client, warehouse, lot["id"], {"count": 3})
    head = await audit_seq(client)
    r = await _register(client, warehouse, lot["id"], {"serials": ["A", "B", "C"]})
    assert_problem(r, 409, "QUANTITY_EXCEEDED")
    assert await audit_seq(client) == head
    assert await _registered(client, qa, lot["id"]) == 3
    # Exactly what is left still fits.
    assert len(await _units(client, warehouse, lot["id"], {"serials": ["A", "B"]})) == 2
    assert_problem(
        await _register(client, warehouse, lot["id"], {"count": 1}), 409, "QUANTITY_EXCEEDED"
    )
    assert await _registered(client, qa, lot["id"]) == 5


@pytest.mark.parametrize(
    "body",
    [
        {"serials": ["SN-1", "SN-2", "SN-1"]},
        {"count": 2, "serials": ["SN-1", "SN-2"]},
        {},
        {"count": 0},
        {"count": -3},
        {"count": 2.5},
        {"serials": []},
        {"serials": [""]},
        {"serials": ["S" * 21]},
        {"serials": ["SN\x001"]},
        {"serials": ["SN-1", 5]},
        {"serials": "SN-1"},
    ],
    ids=[
        "repeated",
        "both",
        "neither",
        "zero",
        "negative",
        "fraction",
        "empty-list",
        "empty-serial",
        "too-long",
        "nul",
        "not-text",
        "not-a-list",
    ],
)
@pytest.mark.req("URS-032", "URS-006", negative=True)
async def test_bad_registrations_are_422(
    client: httpx.AsyncClient, actors: Actors, body: dict[str, Any]
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=10)
    head = await audit_seq(client)
    problem = assert_problem(
        await _register(client, warehouse, lot["id"], body), 422, "VALIDATION_ERROR"
    )
    if body.get("serials") == ["SN-1", "SN-2", "SN-1"]:
        assert "SN-1" in problem["detail"]
    assert await audit_seq(client) == head
    assert await _registered(client, qa, lot["id"]) == 0


@pytest.mark.req("URS-032", negative=True)
async def test_a_serial_registered_before_is_409(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    first = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=5)
    second = await receive_lot(client, warehouse, "BAG", "BB-2", quantity=5)
    [unit] = await _units(client, warehouse, first["id"], {"serials": ["SN-7"]})
    head = await audit_seq(client)
    for lot in (first, second):
        r = await _register(client, warehouse, lot["id"], {"serials": ["SN-8", "SN-7"]})
        body = assert_problem(r, 409, "ALREADY_EXISTS")
        assert "SN-7" in body["detail"] and unit["barcode"] in body["detail"]
    assert await audit_seq(client) == head
    assert await _registered(client, qa, second["id"]) == 0
    # Another type's serials are its own.
    await create_type(client, qa, "KIT", tracking="serial")
    kit = await receive_lot(client, warehouse, "KIT", "K-1", quantity=1)
    assert len(await _units(client, warehouse, kit["id"], {"serials": ["SN-7"]})) == 1


@pytest.mark.req("URS-032", negative=True)
async def test_lot_tracked_lots_have_no_units(client: httpx.AsyncClient, actors: Actors) -> None:
    _, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1", quantity=5)
    head = await audit_seq(client)
    body = assert_problem(
        await _register(client, warehouse, lot["id"], {"count": 1}), 409, "NOT_SERIAL_TRACKED"
    )
    assert lot["code"] in body["detail"]
    assert await audit_seq(client) == head


@pytest.mark.req("URS-046", "URS-032", negative=True)
async def test_only_the_warehouse_registers(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=5)
    head = await audit_seq(client)
    assert_problem(await _register(client, qa, lot["id"], {"count": 1}), 403, "ROLE_NOT_ALLOWED")
    assert await audit_seq(client) == head
    assert_problem(await _register(client, warehouse, 999999, {"count": 1}), 404, "LOT_NOT_FOUND")


@pytest.mark.req("URS-032")
async def test_ten_thousand_units_by_count_in_one_call(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-BIG", quantity=10_000)
    # How long it takes is measured by `python -m bench.receiving`, not asserted here.
    units = await _units(client, warehouse, lot["id"], {"count": 10_000})
    assert len(units) == 10_000
    assert len({u["barcode"] for u in units}) == 10_000
    assert all(u["lot"] == lot["id"] and u["status"] == "available" for u in units)
    events = await audit_events(client, "lot", lot["id"], qa.headers)
    assert [e["action"] for e in events] == ["lot.units_register", "lot.receive"]
    assert len(events[0]["after"]["units"]) == 10_000
    assert await _unit(client, units[-1]["barcode"], qa) == units[-1]
    assert_problem(
        await _register(client, warehouse, lot["id"], {"count": 1}), 409, "QUANTITY_EXCEEDED"
    )


@pytest.mark.req("URS-032")
async def test_ten_thousand_units_by_serials_in_one_call(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-BIG", quantity=10_000)
    serials = [f"SN{i:06d}" for i in range(10_000)]
    units = await _units(client, warehouse, lot["id"], {"serials": serials})
    assert [u["serial"] for u in units] == serials
    assert len({u["barcode"] for u in units}) == 10_000
    unit = await _unit(client, units[4321]["barcode"], qa)
    assert unit["serial"] == "SN004321" and unit["lot"] == lot["id"]
    # A second lot repeating the last serial is refused as a whole.
    other = await receive_lot(client, warehouse, "BAG", "BB-2", quantity=2)
    r = await _register(client, warehouse, other["id"], {"serials": ["NEW-1", "SN009999"]})
    assert_problem(r, 409, "ALREADY_EXISTS")
    assert await _registered(client, qa, other["id"]) == 0


# --- the unit view ---------------------------------------------------------------------------


@pytest.mark.req("URS-033")
async def test_blocking_follows_the_lot(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=5, coa_ref="COA-1")
    [unit] = await _units(client, warehouse, lot["id"], {"count": 1})
    barcode = unit["barcode"]
    shown = await _unit(client, barcode, qa)
    assert shown["usable"] is False and shown["blocking"] == ["QUARANTINED"]

    await release_lot(client, qa, lot["id"])
    operator = await actors.get("operator")
    shown = await _unit(client, barcode, operator)
    assert shown["usable"] is True and shown["blocking"] == []

    assert (await change_status(client, qa, lot["id"], "quarantined")).status_code == 200
    assert (await _unit(client, barcode, qa))["blocking"] == ["QUARANTINED"]
    assert (await change_status(client, qa, lot["id"], "rejected")).status_code == 200
    shown = await _unit(client, barcode, qa)
    assert shown["usable"] is False and shown["blocking"] == ["REJECTED"]


@pytest.mark.req("URS-033", "URS-012")
async def test_blocking_for_an_expired_lot(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    yesterday = site_today() - timedelta(days=1)
    old = await receive_lot(client, warehouse, "BAG", "OLD", quantity=2, expiry=yesterday)
    [unit] = await _units(client, warehouse, old["id"], {"count": 1})
    assert unit["usable"] is False
    assert sorted(unit["blocking"]) == ["EXPIRED", "QUARANTINED"]
    assert unit["expiry_date"] == yesterday.isoformat()

    # A released lot whose expiry QA corrects into the past is blocked by EXPIRED alone.
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=2, coa_ref="COA-1")
    [unit] = await _units(client, warehouse, lot["id"], {"count": 1})
    await release_lot(client, qa, lot["id"])
    r = await client.post(
        f"/lots/{lot['id']}/correct",
        json={
            "changes": {"expiry_date": yesterday.isoformat()},
            "reason": "Supplier notice: shorter shelf life",
            "signature": qa.signature("Corrected"),
        },
        headers=qa.headers,
    )
    assert r.status_code == 200, r.text
    shown = await _unit(client, unit["barcode"], qa)
    assert shown["usable"] is False and shown["blocking"] == ["EXPIRED"]
    assert shown["expiry_date"] == yesterday.isoformat()


@pytest.mark.req("URS-033", "URS-012")
async def test_expiring_today_or_soon_is_not_blocking(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    for days in (0, 3):
        lot = await receive_lot(
            client,
            warehouse,
            "BAG",
            f"BB-{days}",
            quantity=1,
            expiry=site_today() + timedelta(days=days),
            coa_ref="COA-1",
        )
        [unit] = await _units(client, warehouse, lot["id"], {"count": 1})
        await release_lot(client, qa, lot["id"])
        shown = await _unit(client, unit["barcode"], qa)
        assert shown["usable"] is True and shown["blocking"] == []


@pytest.mark.req("URS-033")
@pytest.mark.req("URS-013", negative=True)
async def test_retest_due_blocks(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(
        client,
        warehouse,
        "BAG",
        "BB-1",
        quantity=1,
        coa_ref="COA-1",
        retest_date=(site_today() - timedelta(days=1)).isoformat(),
    )
    [unit] = await _units(client, warehouse, lot["id"], {"count": 1})
    await release_lot(client, qa, lot["id"])
    assert (await _unit(client, unit["barcode"], qa))["blocking"] == ["RETEST_DUE"]


@pytest.mark.req("URS-033", "URS-025")
async def test_blocking_after_recall(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=3, coa_ref="COA-1")
    [unit] = await _units(client, warehouse, lot["id"], {"count": 1})
    await release_lot(client, qa, lot["id"])
    r = await client.post(
        "/recalls",
        json={
            "component_type": "BAG",
            "supplier_lot": "BB-1",
            "notice_ref": "FSN-2026-01",
            "reason": "Seal failure",
            "signature": qa.signature("Recalled"),
        },
        headers=qa.headers,
    )
    assert r.status_code == 201, r.text
    shown = await _unit(client, unit["barcode"], qa)
    assert shown["usable"] is False and shown["blocking"] == ["RECALLED"]


@pytest.mark.req("URS-033", "URS-006", negative=True)
async def test_unknown_unit_is_404(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    head = await audit_seq(client)
    for path in ("/units/U-99999999", "/units/U-99999999/history", "/units/U-99999999/label"):
        assert_problem(await client.get(path, headers=qa.headers), 404, "UNIT_NOT_FOUND")
    assert_problem(await _discard(client, warehouse, "U-99999999"), 404, "UNIT_NOT_FOUND")
    # A barcode longer than any unit's names no unit: the check order answers 404 before it
    # would judge the path's value (401 -> 403 -> 404 -> 422, docs/api.md).
    assert_problem(
        await client.get(f"/units/{'U' * 65}", headers=qa.headers), 404, "UNIT_NOT_FOUND"
    )
    assert await audit_seq(client) == head


# --- discard and history ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "reason_code"),
    [
        ("warehouse", "damaged"),
        ("operator", "dropped"),
        ("supervisor", "expired"),
        ("qa", "other"),
    ],
)
@pytest.mark.req("URS-038")
@pytest.mark.req("URS-034", "URS-014", negative=True)
async def test_discard_with_a_reason_code(
    client: httpx.AsyncClient, actors: Actors, role: str, reason_code: str
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=4, coa_ref="COA-1")
    [unit, other] = await _units(client, warehouse, lot["id"], {"count": 2})
    await release_lot(client, qa, lot["id"])
    actor = await actors.get(role)
    before = await _unit(client, unit["barcode"], qa)
    r = await _discard(client, actor, unit["barcode"], reason_code)
    assert r.status_code == 200, r.text
    discarded = r.json()
    assert discarded == {
        **before,
        "status": "discarded",
        "usable": False,
        "blocking": ["ALREADY_USED"],
    }
    assert await _unit(client, unit["barcode"], qa) == discarded
    assert (await _unit(client, other["barcode"], qa))["status"] == "available"
    lot_now = (await client.get(f"/lots/{lot['id']}", headers=qa.headers)).json()
    assert lot_now["quantity_left"] == 3

    [event] = await audit_events(client, "unit", unit["barcode"], qa.headers)
    assert event["action"] == "unit.discard" and event["actor"] == actor.username
    assert event["before"]["status"] == "available"
    assert event["after"]["status"] == "discarded"
    assert reason_code in event["reason"] and "Torn port" in event["reason"]

    head = await audit_seq(client)
    body = assert_problem(await _discard(client, actor, unit["barcode"]), 409, "ALREADY_USED")
    assert unit["barcode"] in body["detail"]
    assert await audit_seq(client) == head
    lot_again = (await client.get(f"/lots/{lot['id']}", headers=qa.headers)).json()
    assert lot_again["quantity_left"] == 3


@pytest.mark.req("URS-034", "URS-006", "URS-046", negative=True)
async def test_bad_discards(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=2)
    [unit] = await _units(client, warehouse, lot["id"], {"count": 1})
    auditor = await actors.get("auditor")
    head = await audit_seq(client)
    assert_problem(await _discard(client, auditor, unit["barcode"]), 403, "ROLE_NOT_ALLOWED")
    assert_problem(
        await _discard(client, warehouse, unit["barcode"], "lost"), 422, "VALIDATION_ERROR"
    )
    for body in (
        {"reason_code": "damaged"},
        {"reason_code": "damaged", "reason": ""},
        {"reason_code": "damaged", "reason": "x" * 2001},
        {"reason_code": "damaged", "reason": "bad\x1bescape"},
    ):
        r = await client.post(
            f"/units/{unit['barcode']}/discard", json=body, headers=warehouse.headers
        )
        assert_problem(r, 422, "VALIDATION_ERROR")
    assert (await _unit(client, unit["barcode"], qa))["status"] == "available"
    assert await audit_seq(client) == head


@pytest.mark.req("URS-031")
async def test_history_oldest_first(client: httpx.AsyncClient, actors: Actors) -> None:
    _, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=3)
    [unit, _] = await _units(client, warehouse, lot["id"], {"serials": ["S-1", "S-2"]})
    # A later registration on the same lot is not this unit's event.
    await _units(client, warehouse, lot["id"], {"count": 1})
    operator = await actors.get("operator")
    assert (await _discard(client, operator, unit["barcode"], "dropped")).status_code == 200
    r = await client.get(f"/units/{unit['barcode']}/history", headers=operator.headers)
    assert r.status_code == 200, r.text
    history = r.json()
    assert [e["event"] for e in history] == ["received", "labelled", "discard"]
    times = [datetime.fromisoformat(e["at"]) for e in history]
    assert times == sorted(times)
    assert [e["actor"] for e in history] == [
        warehouse.username,
        warehouse.username,
        operator.username,
    ]
    assert lot["code"] in history[0]["detail"] and "BB-1" in history[0]["detail"]
    assert unit["barcode"] in history[1]["detail"]
    assert "dropped" in history[2]["reason"]
