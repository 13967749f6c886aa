"""Lots over HTTP: receipts, warnings, the QA status machine with signatures, corrections,
write-offs, reconciliation and the FEFO list, as the warehouse and QA see them."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from models.users import Role
from tests.support import (
    ADMIN_HEADERS,
    INSPECTION_OK,
    LOT_FIELDS,
    Actor,
    Actors,
    assert_problem,
    audit_events,
    audit_seq,
    audited_lot,
    change_status,
    create_type,
    events_since,
    lot_total,
    receive_lot,
    release_lot,
    site_today,
)

STATUSES = ["quarantined", "released", "rejected", "recalled"]
LEGAL = {
    ("quarantined", "released"),
    ("quarantined", "rejected"),
    ("quarantined", "recalled"),
    ("released", "quarantined"),
    ("released", "rejected"),
    ("released", "recalled"),
    ("rejected", "recalled"),
}


async def _setup(client: httpx.AsyncClient, actors: Actors) -> tuple[Actor, Actor]:
    """QA and warehouse users, a lot-tracked type SET and a serial type BAG."""
    qa = await actors.get("qa")
    warehouse = await actors.get("warehouse")
    await create_type(client, qa, "SET", tracking="lot", gtin="00614141003198")
    await create_type(client, qa, "BAG", tracking="serial", gtin="10614141000729")
    return qa, warehouse


async def _lot(client: httpx.AsyncClient, lot_id: int, headers: dict[str, str]) -> dict[str, Any]:
    r = await client.get(f"/lots/{lot_id}", headers=headers)
    assert r.status_code == 200, r.text
    lot: dict[str, Any] = r.json()
    return lot


def _sha256_canonical(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- receipts --------------------------------------------------------------------------------


@pytest.mark.req("URS-001", "URS-002", "URS-038", "URS-049")
async def test_each_receipt_gets_its_own_code_and_is_quarantined(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    expiry = site_today() + timedelta(days=200)
    r = await client.post(
        "/lots",
        json={
            "component_type": "SET",
            "supplier_lot": "TS-55821",
            "quantity": 40,
            "expiry_date": expiry.isoformat(),
            "supplier": "Acme Bioprocess",
            "retest_date": (site_today() + timedelta(days=90)).isoformat(),
            "manufactured_on": "2025-03-12",
            "coa_ref": "COA-1",
        },
        headers=warehouse.headers,
    )
    assert r.status_code == 201, r.text
    first = r.json()
    assert set(first) == LOT_FIELDS | {"warnings"}
    assert first["warnings"] == []
    assert first["status"] == "quarantined"
    assert first["component_type"] == "SET" and first["supplier_lot"] == "TS-55821"
    assert first["quantity_received"] == 40 and first["quantity_left"] == 40
    assert first["expiry_date"] == expiry.isoformat()
    assert first["manufactured_on"] == "2025-03-12" and first["coa_ref"] == "COA-1"
    assert first["supplier"] == "Acme Bioprocess"
    assert first["received_by"] == warehouse.username
    assert datetime.fromisoformat(first["received_at"]).utcoffset() is not None
    assert first["release"] is None and first["source_batch"] is None
    shown = {k: v for k, v in first.items() if k != "warnings"}
    assert await _lot(client, first["id"], qa.headers) == shown

    others = [
        await receive_lot(client, warehouse, "SET", "TS-55821", expiry=expiry),
        await receive_lot(client, warehouse, "BAG", "BB2406-17A"),
        await receive_lot(client, warehouse, "BAG", "BB2406-17B"),
    ]
    lots = [first, *others]
    codes = [lot["code"] for lot in lots]
    assert len(set(codes)) == 4 and len({lot["id"] for lot in lots}) == 4
    for code in codes:
        assert re.fullmatch(r"L-\d{6}", code), code
    assert all(lot["status"] == "quarantined" for lot in lots)

    events = await audit_events(client, "lot", first["id"], qa.headers)
    assert len(events) == 1
    assert events[0]["action"] == "lot.receive" and events[0]["actor"] == warehouse.username
    assert events[0]["before"] is None and events[0]["after"] == audited_lot(shown)


@pytest.mark.req("URS-046", "URS-038", negative=True)
async def test_only_the_warehouse_receives(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, _ = await _setup(client, actors)
    body = {
        "component_type": "SET",
        "supplier_lot": "X",
        "quantity": 1,
        "expiry_date": "2030-01-01",
    }
    others = [await actors.get(role) for role in ("qa", "operator", "supervisor", "auditor")]
    head = await audit_seq(client)
    for other in others:
        assert_problem(
            await client.post("/lots", json=body, headers=other.headers), 403, "ROLE_NOT_ALLOWED"
        )
    assert await lot_total(client, qa.headers) == 0
    assert await audit_seq(client) == head


@pytest.mark.req("URS-001", "URS-006", negative=True)
async def test_expiry_is_required_when_the_type_has_one(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    head = await audit_seq(client)
    r = await client.post(
        "/lots",
        json={"component_type": "SET", "supplier_lot": "TS-1", "quantity": 5},
        headers=warehouse.headers,
    )
    body = assert_problem(r, 422, "VALIDATION_ERROR")
    assert [e["field"] for e in body["errors"]] == ["expiry_date"]
    assert await lot_total(client, qa.headers) == 0
    assert await audit_seq(client) == head

    await create_type(client, qa, "CLAMP", has_expiry=False)
    lot = await receive_lot(client, warehouse, "CLAMP", "C-1", expiry=None)
    assert lot["expiry_date"] is None and lot["warnings"] == []


@pytest.mark.req("URS-004", "URS-012")
async def test_expired_on_receipt_is_a_warning_not_a_refusal(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    yesterday = site_today() - timedelta(days=1)
    lot = await receive_lot(client, warehouse, "SET", "OLD-1", expiry=yesterday)
    assert lot["status"] == "quarantined"
    assert [w["code"] for w in lot["warnings"]] == ["EXPIRED_ON_RECEIPT"]
    assert yesterday.isoformat() in lot["warnings"][0]["message"]
    # A thing that expires on D is usable through the whole of D.
    today = await receive_lot(client, warehouse, "SET", "NEW-1", expiry=site_today())
    assert today["warnings"] == []
    events = await audit_events(client, "lot", lot["id"], qa.headers)
    assert len(events) == 1 and "EXPIRED_ON_RECEIPT" in (events[0]["reason"] or "")


@pytest.mark.req("URS-004")
async def test_supplier_lot_seen_before_names_the_earlier_lots_and_their_status(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    expiry = site_today() + timedelta(days=300)
    first = await receive_lot(client, warehouse, "SET", "TS-9", expiry=expiry, coa_ref="C-1")
    assert first["warnings"] == []
    await release_lot(client, qa, first["id"])
    second = await receive_lot(client, warehouse, "SET", "TS-9", expiry=expiry)
    assert second["status"] == "quarantined" and second["code"] != first["code"]
    [warning] = second["warnings"]
    assert warning["code"] == "SUPPLIER_LOT_SEEN_BEFORE"
    assert warning["lots"] == [{"id": first["id"], "code": first["code"], "status": "released"}]
    assert first["code"] in warning["message"] and "released" in warning["message"]

    third = await receive_lot(client, warehouse, "SET", "TS-9", expiry=expiry)
    [warning] = third["warnings"]
    assert warning["lots"] == [
        {"id": first["id"], "code": first["code"], "status": "released"},
        {"id": second["id"], "code": second["code"], "status": "quarantined"},
    ]
    assert first["code"] in warning["message"] and second["code"] in warning["message"]


@pytest.mark.req("URS-004")
async def test_both_warnings_together(client: httpx.AsyncClient, actors: Actors) -> None:
    _, warehouse = await _setup(client, actors)
    past = site_today() - timedelta(days=10)
    await receive_lot(client, warehouse, "SET", "OLD-2", expiry=past)
    again = await receive_lot(client, warehouse, "SET", "OLD-2", expiry=past)
    assert {w["code"] for w in again["warnings"]} == {
        "EXPIRED_ON_RECEIPT",
        "SUPPLIER_LOT_SEEN_BEFORE",
    }


@pytest.mark.req("URS-004", "URS-038", negative=True)
async def test_expiry_conflict_names_the_earlier_lot_and_writes_nothing(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    expiry = site_today() + timedelta(days=300)
    first = await receive_lot(client, warehouse, "SET", "TS-7", expiry=expiry)
    head = await audit_seq(client)
    r = await client.post(
        "/lots",
        json={
            "component_type": "SET",
            "supplier_lot": "TS-7",
            "quantity": 3,
            "expiry_date": (expiry + timedelta(days=1)).isoformat(),
        },
        headers=warehouse.headers,
    )
    body = assert_problem(r, 422, "EXPIRY_CONFLICT")
    assert first["code"] in body["detail"]
    assert expiry.isoformat() in body["detail"]
    assert await lot_total(client, qa.headers) == 1
    assert await audit_seq(client) == head
    # The same supplier lot of another type is another product: no conflict.
    other = await receive_lot(client, warehouse, "BAG", "TS-7", expiry=expiry + timedelta(days=1))
    assert other["warnings"] == []


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("expiry_date", "2027-02-30"),
        ("expiry_date", "2027-13-01"),
        ("expiry_date", "30/06/2027"),
        ("retest_date", "2026-02-29"),
        ("manufactured_on", "2025-04-31"),
        ("supplier_lot", "S" * 21),
        ("supplier_lot", ""),
        ("supplier_lot", "TS\x0055"),
        ("supplier_lot", "TS\t55"),
        ("supplier", "S" * 201),
        ("coa_ref", "C" * 101),
        ("quantity", 0),
        ("quantity", -5),
        ("quantity", 1.5),
        ("quantity", "ten"),
        ("quantity", None),
        ("component_type", "T" * 101),
    ],
)
@pytest.mark.req("URS-006", "URS-001", negative=True)
async def test_bad_receipt_fields_are_422_and_write_nothing(
    client: httpx.AsyncClient, actors: Actors, field: str, value: Any
) -> None:
    qa, warehouse = await _setup(client, actors)
    good = {
        "component_type": "SET",
        "supplier_lot": "TS-1",
        "quantity": 5,
        "expiry_date": "2030-06-30",
    }
    head = await audit_seq(client)
    r = await client.post("/lots", json={**good, field: value}, headers=warehouse.headers)
    body = assert_problem(r, 422, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == field, body
    assert await lot_total(client, qa.headers) == 0
    assert await audit_seq(client) == head


@pytest.mark.parametrize(
    "value",
    [1830211200, "1830211200", "2027-06-30T00:00:00"],
    ids=["unix-time-number", "unix-time-string", "midnight-datetime"],
)
@pytest.mark.req("URS-006", negative=True)
async def test_dates_are_only_yyyy_mm_dd(
    client: httpx.AsyncClient, actors: Actors, value: Any
) -> None:
    qa, warehouse = await _setup(client, actors)
    r = await client.post(
        "/lots",
        json={"component_type": "SET", "supplier_lot": "TS-1", "quantity": 5, "expiry_date": value},
        headers=warehouse.headers,
    )
    body = assert_problem(r, 422, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == "expiry_date"
    assert await lot_total(client, qa.headers) == 0


@pytest.mark.parametrize("value", [True, "5"], ids=["true", "string"])
@pytest.mark.req("URS-006", negative=True)
async def test_quantity_is_a_json_integer(
    client: httpx.AsyncClient, actors: Actors, value: Any
) -> None:
    qa, warehouse = await _setup(client, actors)
    r = await client.post(
        "/lots",
        json={
            "component_type": "SET",
            "supplier_lot": "TS-1",
            "quantity": value,
            "expiry_date": "2030-06-30",
        },
        headers=warehouse.headers,
    )
    body = assert_problem(r, 422, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == "quantity"
    assert await lot_total(client, qa.headers) == 0


@pytest.mark.req("URS-001", "URS-006", negative=True)
async def test_unknown_component_type_is_422(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    head = await audit_seq(client)
    r = await client.post(
        "/lots",
        json={"component_type": "NOPE", "supplier_lot": "X", "quantity": 1},
        headers=warehouse.headers,
    )
    body = assert_problem(r, 422, "UNKNOWN_COMPONENT_TYPE")
    assert "NOPE" in body["detail"]
    assert await lot_total(client, qa.headers) == 0
    assert await audit_seq(client) == head


@pytest.mark.req("URS-006", negative=True)
async def test_unknown_lot_is_404(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    head = await audit_seq(client)
    assert_problem(await client.get("/lots/999999", headers=qa.headers), 404, "LOT_NOT_FOUND")
    assert_problem(
        await client.get("/lots/999999/reconciliation", headers=qa.headers), 404, "LOT_NOT_FOUND"
    )
    assert_problem(await change_status(client, qa, 999999, "rejected"), 404, "LOT_NOT_FOUND")
    r = await client.post(
        "/lots/999999/adjust",
        json={
            "quantity": 1,
            "reason_code": "damaged",
            "reason": "x",
            "signature": warehouse.signature(),
        },
        headers=warehouse.headers,
    )
    assert_problem(r, 404, "LOT_NOT_FOUND")
    assert await audit_seq(client) == head


# --- the status machine ----------------------------------------------------------------------


async def _lot_in(
    client: httpx.AsyncClient, qa: Actor, warehouse: Actor, status: str
) -> dict[str, Any]:
    lot = await receive_lot(client, warehouse, "SET", "TS-1", coa_ref="COA-1")
    if status == "quarantined":
        return lot
    if status == "released":
        return await release_lot(client, qa, lot["id"])
    r = await change_status(client, qa, lot["id"], status)
    assert r.status_code == 200, r.text
    moved: dict[str, Any] = r.json()
    return moved


@pytest.mark.parametrize("target", STATUSES)
@pytest.mark.parametrize("start", STATUSES)
@pytest.mark.req("URS-009", "URS-038", "URS-042")
@pytest.mark.req("URS-007", negative=True)
async def test_status_table(
    client: httpx.AsyncClient, actors: Actors, start: str, target: str
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await _lot_in(client, qa, warehouse, start)
    assert lot["status"] == start
    before = await _lot(client, lot["id"], qa.headers)
    head = await audit_seq(client)
    inspection = INSPECTION_OK if target == "released" else None
    r = await change_status(
        client, qa, lot["id"], target, reason=f"to {target}", inspection=inspection
    )
    if (start, target) not in LEGAL:
        body = assert_problem(r, 409, "ILLEGAL_TRANSITION")
        assert start in body["detail"] and target in body["detail"]
        assert await _lot(client, lot["id"], qa.headers) == before
        assert await audit_seq(client) == head
        return
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["status"] == target and changed["flags_raised"] == []
    shown = await _lot(client, lot["id"], qa.headers)
    assert shown == {k: v for k, v in changed.items() if k != "flags_raised"}
    [event] = await events_since(client, head)
    assert event["action"] == "lot.status" and event["entity_id"] == str(lot["id"])
    assert event["before"] == audited_lot(before) and event["after"] == audited_lot(shown)
    assert event["reason"] == f"to {target}"
    assert event["signature"]["username"] == qa.username
    assert event["signature"]["meaning"] == f"Lot {target}"


@pytest.mark.req("URS-042")
async def test_the_signature_seals_the_record_as_changed(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1", coa_ref="COA-1")
    r = await change_status(client, qa, lot["id"], "rejected", reason="Damaged pallet")
    assert r.status_code == 200, r.text
    event = (await audit_events(client, "lot", lot["id"], qa.headers))[0]
    signature = event["signature"]
    assert set(signature) == {
        "username",
        "full_name",
        "at",
        "meaning",
        "record_hash",
        "components",
        "station",
    }
    assert signature["components"] == ["password"] and signature["station"] is None
    assert signature["full_name"] == "Test Qa1"
    assert signature["record_hash"] == _sha256_canonical(event["after"])


@pytest.mark.req("URS-007", "URS-006", negative=True)
async def test_reason_is_required(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1")
    head = await audit_seq(client)
    for reason in ("", "   "):
        r = await change_status(client, qa, lot["id"], "rejected", reason=reason)
        body = assert_problem(r, 422, "VALIDATION_ERROR")
        assert body["errors"][0]["field"] == "reason"
    r = await client.post(
        f"/lots/{lot['id']}/status",
        json={"status": "rejected", "signature": qa.signature()},
        headers=qa.headers,
    )
    assert_problem(r, 422, "VALIDATION_ERROR")
    # The body is checked before the signature: a wrong password here is not even tried.
    r = await change_status(client, qa, lot["id"], "rejected", reason="", password="wrong one")
    assert_problem(r, 422, "VALIDATION_ERROR")
    assert (await _lot(client, lot["id"], qa.headers))["status"] == "quarantined"
    assert await audit_seq(client) == head


@pytest.mark.req("URS-010")
@pytest.mark.req("URS-008", negative=True)
async def test_release_needs_a_coa_ref(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1")
    head = await audit_seq(client)
    r = await change_status(client, qa, lot["id"], "released", inspection=INSPECTION_OK)
    body = assert_problem(r, 422, "COA_REQUIRED")
    assert lot["code"] in body["detail"]
    assert (await _lot(client, lot["id"], qa.headers))["status"] == "quarantined"
    assert await audit_seq(client) == head
    r = await client.post(
        f"/lots/{lot['id']}/correct",
        json={
            "changes": {"coa_ref": "COA-77"},
            "reason": "CoA arrived",
            "signature": qa.signature(),
        },
        headers=qa.headers,
    )
    assert r.status_code == 200, r.text
    released = await release_lot(client, qa, lot["id"])
    assert released["status"] == "released" and released["coa_ref"] == "COA-77"


@pytest.mark.parametrize(
    "inspection",
    [
        None,
        {**INSPECTION_OK, "coa_reviewed": False},
        {**INSPECTION_OK, "packaging_intact": False},
        {**INSPECTION_OK, "label_correct": False},
        {"coa_reviewed": False, "packaging_intact": False, "label_correct": False},
    ],
    ids=["missing", "coa", "packaging", "label", "none"],
)
@pytest.mark.req("URS-008", negative=True)
async def test_release_needs_a_complete_inspection(
    client: httpx.AsyncClient, actors: Actors, inspection: dict[str, bool] | None
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1", coa_ref="COA-1")
    head = await audit_seq(client)
    r = await change_status(client, qa, lot["id"], "released", inspection=inspection)
    body = assert_problem(r, 422, "INSPECTION_INCOMPLETE")
    if inspection is not None:
        failed = sorted(f"inspection.{k}" for k, ok in inspection.items() if not ok)
        assert sorted(e["field"] for e in body["errors"]) == failed
        for name in failed:
            assert name.removeprefix("inspection.") in body["detail"]
    shown = await _lot(client, lot["id"], qa.headers)
    assert shown["status"] == "quarantined" and shown["release"] is None
    assert await audit_seq(client) == head


@pytest.mark.req("URS-008", "URS-006", negative=True)
async def test_partial_inspection_is_a_validation_error(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1", coa_ref="COA-1")
    head = await audit_seq(client)
    r = await change_status(client, qa, lot["id"], "released", inspection={"coa_reviewed": True})
    assert_problem(r, 422, "VALIDATION_ERROR")
    assert await audit_seq(client) == head


@pytest.mark.req("URS-008", "URS-012", negative=True)
async def test_an_expired_lot_is_not_released(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    yesterday = site_today() - timedelta(days=1)
    lot = await receive_lot(client, warehouse, "SET", "OLD-1", expiry=yesterday, coa_ref="C")
    head = await audit_seq(client)
    r = await change_status(client, qa, lot["id"], "released", inspection=INSPECTION_OK)
    body = assert_problem(r, 409, "LOT_EXPIRED")
    assert yesterday.isoformat() in body["detail"]
    assert (await _lot(client, lot["id"], qa.headers))["status"] == "quarantined"
    assert await audit_seq(client) == head
    # It can still be rejected.
    r = await change_status(client, qa, lot["id"], "rejected", reason="Expired on arrival")
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    # Expiring today is still usable today.
    fresh = await receive_lot(client, warehouse, "SET", "NEW-1", expiry=site_today(), coa_ref="C")
    assert (await release_lot(client, qa, fresh["id"]))["status"] == "released"


@pytest.mark.req("URS-008", "URS-042")
async def test_release_is_stored_with_signature_and_inspection(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1", coa_ref="COA-1")
    r = await change_status(
        client, qa, lot["id"], "released", reason="Incoming QC passed", inspection=INSPECTION_OK
    )
    assert r.status_code == 200, r.text
    operator = await actors.get("operator")
    shown = await _lot(client, lot["id"], operator.headers)
    release = shown["release"]
    assert release["inspection"] == INSPECTION_OK
    signature = release["signature"]
    assert signature["username"] == qa.username and signature["full_name"] == "Test Qa1"
    assert signature["meaning"] == "Lot released"
    assert datetime.fromisoformat(signature["at"].replace("Z", "+00:00")).utcoffset() is not None
    assert len(signature["record_hash"]) == 64
    event = (await audit_events(client, "lot", lot["id"], qa.headers))[0]
    assert event["after"] == audited_lot(shown) and event["signature"] == signature
    # The record signed is the released lot itself (the release block cannot hash itself).
    assert signature["record_hash"] == _sha256_canonical({**audited_lot(shown), "release": None})


@pytest.mark.req("URS-044")
async def test_a_new_user_signs_with_the_password_they_set_themselves(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    """No admin-set password exists to sign with: the user sets theirs with the enrolment
    code and signs with it at once."""
    _, warehouse = await _setup(client, actors)
    r = await client.post(
        "/users",
        json={"username": "new.qa", "full_name": "New Qa", "role": "qa"},
        headers=ADMIN_HEADERS,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/enrolment",
        json={
            "username": "new.qa",
            "code": r.json()["enrolment"]["code"],
            "password": "my own password 2",
            "key": True,
        },
    )
    assert r.status_code == 200, r.text
    new_qa = Actor("new.qa", Role.qa, r.json()["key"]["key"], "my own password 2")
    lot = await receive_lot(client, warehouse, "SET", "TS-1")
    r = await change_status(client, new_qa, lot["id"], "rejected")
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["release"] is None


@pytest.mark.req("URS-038")
@pytest.mark.req("URS-043", "URS-042", negative=True)
async def test_wrong_signature_is_recorded_and_changes_nothing(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1", coa_ref="COA-1")
    before = await _lot(client, lot["id"], qa.headers)
    head = await audit_seq(client)
    r = await change_status(
        client, qa, lot["id"], "released", inspection=INSPECTION_OK, password="guess 123456"
    )
    assert_problem(r, 403, "SIGNATURE_INVALID")
    assert await _lot(client, lot["id"], qa.headers) == before
    [event] = await events_since(client, head)
    assert event["action"] == "signature.fail" and event["entity_type"] == "user"
    assert event["entity_id"] == qa.username
    # The signature is checked before the rule: an illegal move with a wrong password is a
    # signature failure, recorded.
    r = await change_status(client, qa, lot["id"], "quarantined", password="guess 123456")
    assert_problem(r, 403, "SIGNATURE_INVALID")
    assert await audit_seq(client) == head + 2
    assert [e["action"] for e in await audit_events(client, "lot", lot["id"], qa.headers)] == [
        "lot.receive"
    ]


@pytest.mark.req("URS-009", "URS-046", negative=True)
async def test_only_qa_changes_status(client: httpx.AsyncClient, actors: Actors) -> None:
    _, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1", coa_ref="COA-1")
    head = await audit_seq(client)
    r = await change_status(client, warehouse, lot["id"], "released", inspection=INSPECTION_OK)
    assert_problem(r, 403, "ROLE_NOT_ALLOWED")
    assert (await _lot(client, lot["id"], warehouse.headers))["status"] == "quarantined"
    assert await audit_seq(client) == head


# --- corrections -----------------------------------------------------------------------------


async def _correct(
    client: httpx.AsyncClient,
    actor: Actor,
    lot_id: int,
    changes: dict[str, Any],
    password: str | None = None,
) -> httpx.Response:
    return await client.post(
        f"/lots/{lot_id}/correct",
        json={
            "changes": changes,
            "reason": "Typed from the wrong delivery note",
            "signature": actor.signature("Corrected", password),
        },
        headers=actor.headers,
    )


@pytest.mark.req("URS-010", "URS-038", "URS-042")
async def test_warehouse_corrects_a_quarantined_lot_with_before_and_after(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1")
    before = await _lot(client, lot["id"], qa.headers)
    new_expiry = site_today() + timedelta(days=500)
    changes = {
        "supplier_lot": "TS-2",
        "expiry_date": new_expiry.isoformat(),
        "supplier": "Acme",
        "coa_ref": "COA-9",
        "retest_date": (site_today() + timedelta(days=100)).isoformat(),
        "manufactured_on": "2025-01-02",
    }
    r = await _correct(client, warehouse, lot["id"], changes)
    assert r.status_code == 200, r.text
    after = r.json()
    assert after == {**before, **changes}
    assert await _lot(client, lot["id"], qa.headers) == after
    events = await audit_events(client, "lot", lot["id"], qa.headers)
    assert [e["action"] for e in events] == ["lot.correct", "lot.receive"]
    event = events[0]
    assert event["before"] == audited_lot(before) and event["after"] == audited_lot(after)
    assert event["actor"] == warehouse.username
    assert event["reason"] == "Typed from the wrong delivery note"
    assert event["signature"]["username"] == warehouse.username


@pytest.mark.req("URS-010", negative=True)
async def test_warehouse_cannot_correct_after_release_but_qa_can(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1", coa_ref="COA-1")
    await release_lot(client, qa, lot["id"])
    before = await _lot(client, lot["id"], qa.headers)
    head = await audit_seq(client)
    r = await _correct(client, warehouse, lot["id"], {"supplier": "Acme"})
    body = assert_problem(r, 403, "LOT_NOT_QUARANTINED")
    assert lot["code"] in body["detail"]
    assert await _lot(client, lot["id"], qa.headers) == before
    assert await audit_seq(client) == head

    r = await _correct(client, qa, lot["id"], {"supplier": "Acme"})
    assert r.status_code == 200, r.text
    assert r.json()["supplier"] == "Acme" and r.json()["status"] == "released"
    event = (await audit_events(client, "lot", lot["id"], qa.headers))[0]
    assert event["action"] == "lot.correct" and event["actor"] == qa.username
    assert event["before"]["supplier"] is None and event["after"]["supplier"] == "Acme"

    r = await change_status(client, qa, lot["id"], "rejected")
    assert r.status_code == 200
    assert_problem(
        await _correct(client, warehouse, lot["id"], {"supplier": "B"}), 403, "LOT_NOT_QUARANTINED"
    )
    assert (await _correct(client, qa, lot["id"], {"supplier": "B"})).status_code == 200


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({}, "NO_CHANGES"),
        ({"quantity_received": 5}, "VALIDATION_ERROR"),
        ({"status": "released"}, "VALIDATION_ERROR"),
        ({"expiry_date": None}, "INVALID"),
        ({"supplier_lot": None}, "INVALID"),
        ({"expiry_date": "2027-02-30"}, "VALIDATION_ERROR"),
        ({"supplier_lot": "S" * 21}, "VALIDATION_ERROR"),
        ({"coa_ref": "bad\x07ref"}, "VALIDATION_ERROR"),
    ],
)
@pytest.mark.req("URS-010", "URS-006", negative=True)
async def test_bad_corrections_are_422(
    client: httpx.AsyncClient, actors: Actors, changes: dict[str, Any], code: str
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1")
    before = await _lot(client, lot["id"], qa.headers)
    head = await audit_seq(client)
    assert_problem(await _correct(client, qa, lot["id"], changes), 422, code)
    assert await _lot(client, lot["id"], qa.headers) == before
    assert await audit_seq(client) == head


@pytest.mark.req("URS-043", "URS-010", negative=True)
async def test_correction_with_wrong_signature_is_recorded(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1")
    before = await _lot(client, lot["id"], qa.headers)
    head = await audit_seq(client)
    r = await _correct(client, warehouse, lot["id"], {"supplier": "X"}, password="not it 12345")
    assert_problem(r, 403, "SIGNATURE_INVALID")
    assert await _lot(client, lot["id"], qa.headers) == before
    [event] = await events_since(client, head)
    assert event["action"] == "signature.fail" and event["entity_id"] == warehouse.username


# --- write-offs and reconciliation -------------------------------------------------------------


async def _adjust(
    client: httpx.AsyncClient,
    warehouse: Actor,
    lot_id: int,
    quantity: Any,
    reason_code: str = "damaged",
    password: str | None = None,
) -> httpx.Response:
    return await client.post(
        f"/lots/{lot_id}/adjust",
        json={
            "quantity": quantity,
            "reason_code": reason_code,
            "reason": "Found crushed on the pallet",
            "signature": warehouse.signature("Written off", password),
        },
        headers=warehouse.headers,
    )


async def _reconciliation(
    client: httpx.AsyncClient, lot_id: int, headers: dict[str, str]
) -> dict[str, int]:
    r = await client.get(f"/lots/{lot_id}/reconciliation", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    counts = {k: body[k] for k in ("received", "consumed", "discarded", "on_hand")}
    assert counts["received"] == counts["consumed"] + counts["discarded"] + counts["on_hand"]
    return counts


@pytest.mark.req("URS-034", "URS-038", "URS-042")
async def test_adjust_writes_stock_off_with_a_signature(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1", quantity=20)
    before = await _lot(client, lot["id"], qa.headers)
    r = await _adjust(client, warehouse, lot["id"], 3)
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["quantity_left"] == 17 and after["quantity_received"] == 20
    assert await _lot(client, lot["id"], qa.headers) == after
    event = (await audit_events(client, "lot", lot["id"], qa.headers))[0]
    assert event["action"] == "lot.adjust" and event["actor"] == warehouse.username
    assert event["before"] == audited_lot(before) and event["after"] == audited_lot(after)
    assert event["signature"]["username"] == warehouse.username
    assert "damaged" in event["reason"] and "Found crushed" in event["reason"]

    for code, quantity in (("qc_sample", 2), ("destroyed", 1), ("returned", 4)):
        assert (await _adjust(client, warehouse, lot["id"], quantity, code)).status_code == 200
    assert await _reconciliation(client, lot["id"], qa.headers) == {
        "received": 20,
        "consumed": 0,
        "discarded": 10,
        "on_hand": 10,
    }


@pytest.mark.req("URS-034", negative=True)
async def test_adjust_more_than_left_is_409(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1", quantity=10)
    await _adjust(client, warehouse, lot["id"], 4)
    head = await audit_seq(client)
    body = assert_problem(
        await _adjust(client, warehouse, lot["id"], 7), 409, "INSUFFICIENT_QUANTITY"
    )
    assert "6" in body["detail"]
    assert (await _lot(client, lot["id"], qa.headers))["quantity_left"] == 6
    assert await audit_seq(client) == head
    r = await _adjust(client, warehouse, lot["id"], 6)
    assert r.status_code == 200 and r.json()["quantity_left"] == 0
    assert_problem(await _adjust(client, warehouse, lot["id"], 1), 409, "INSUFFICIENT_QUANTITY")
    assert await _reconciliation(client, lot["id"], qa.headers) == {
        "received": 10,
        "consumed": 0,
        "discarded": 10,
        "on_hand": 0,
    }


@pytest.mark.req("URS-034", negative=True)
async def test_adjust_is_for_lot_tracked_lots_only(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=5)
    head = await audit_seq(client)
    body = assert_problem(await _adjust(client, warehouse, lot["id"], 1), 409, "NOT_LOT_TRACKED")
    assert lot["code"] in body["detail"]
    assert (await _lot(client, lot["id"], qa.headers))["quantity_left"] == 5
    assert await audit_seq(client) == head


@pytest.mark.parametrize(
    ("quantity", "reason_code"),
    [(0, "damaged"), (-1, "damaged"), (2.5, "damaged"), (1, "lost"), (1, "")],
)
@pytest.mark.req("URS-034", "URS-006", negative=True)
async def test_bad_adjustments_are_422(
    client: httpx.AsyncClient, actors: Actors, quantity: Any, reason_code: str
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1", quantity=10)
    head = await audit_seq(client)
    assert_problem(
        await _adjust(client, warehouse, lot["id"], quantity, reason_code), 422, "VALIDATION_ERROR"
    )
    assert (await _lot(client, lot["id"], qa.headers))["quantity_left"] == 10
    assert await audit_seq(client) == head


@pytest.mark.req("URS-034", "URS-046", "URS-043", negative=True)
async def test_adjust_roles_and_signature(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "SET", "TS-1", quantity=10)
    head = await audit_seq(client)
    assert_problem(await _adjust(client, qa, lot["id"], 1), 403, "ROLE_NOT_ALLOWED")
    assert await audit_seq(client) == head
    r = await _adjust(client, warehouse, lot["id"], 1, password="wrong password 1")
    assert_problem(r, 403, "SIGNATURE_INVALID")
    assert await audit_seq(client) == head + 1
    assert (await _lot(client, lot["id"], qa.headers))["quantity_left"] == 10


@pytest.mark.req("URS-034")
async def test_reconciliation_balances_after_unit_discards(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=10)
    assert await _reconciliation(client, lot["id"], qa.headers) == {
        "received": 10,
        "consumed": 0,
        "discarded": 0,
        "on_hand": 10,
    }
    r = await client.post(f"/lots/{lot['id']}/units", json={"count": 6}, headers=warehouse.headers)
    assert r.status_code == 201, r.text
    barcodes = [u["barcode"] for u in r.json()["items"]]
    for barcode in barcodes[:2]:
        r = await client.post(
            f"/units/{barcode}/discard",
            json={"reason_code": "dropped", "reason": "Dropped on the floor"},
            headers=warehouse.headers,
        )
        assert r.status_code == 200, r.text
    r = await client.get(f"/lots/{lot['id']}/reconciliation", headers=qa.headers)
    assert r.json()["lot"] == lot["id"] and r.json()["lot_code"] == lot["code"]
    assert await _reconciliation(client, lot["id"], qa.headers) == {
        "received": 10,
        "consumed": 0,
        "discarded": 2,
        "on_hand": 8,
    }
    assert (await _lot(client, lot["id"], qa.headers))["quantity_left"] == 8


# --- the FEFO list ---------------------------------------------------------------------------


@pytest.mark.req("URS-036")
async def test_list_is_soonest_expiry_first(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    await create_type(client, qa, "CLAMP", has_expiry=False)
    today = site_today()
    received = [
        await receive_lot(client, warehouse, "SET", "A", expiry=today + timedelta(days=30)),
        await receive_lot(client, warehouse, "CLAMP", "N", expiry=None),
        await receive_lot(client, warehouse, "BAG", "B", expiry=today + timedelta(days=5)),
        await receive_lot(client, warehouse, "SET", "C", expiry=today + timedelta(days=100)),
        await receive_lot(client, warehouse, "SET", "D", expiry=today - timedelta(days=3)),
    ]
    operator = await actors.get("operator")
    r = await client.get("/lots", headers=operator.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 5
    assert [lot["supplier_lot"] for lot in body["items"]] == ["D", "B", "A", "C", "N"]
    by_id = {lot["id"]: {k: v for k, v in lot.items() if k != "warnings"} for lot in received}
    assert all(item == by_id[item["id"]] for item in body["items"])

    r = await client.get("/lots", params={"limit": 2, "offset": 1}, headers=qa.headers)
    assert [lot["supplier_lot"] for lot in r.json()["items"]] == ["B", "A"]
    assert r.json()["total"] == 5


@pytest.mark.req("URS-036")
@pytest.mark.req("URS-006", negative=True)
async def test_list_filters(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    today = site_today()
    yesterday = await receive_lot(client, warehouse, "SET", "Y", expiry=today - timedelta(days=1))
    today_lot = await receive_lot(client, warehouse, "SET", "T", expiry=today, coa_ref="C")
    in7 = await receive_lot(client, warehouse, "BAG", "S7", expiry=today + timedelta(days=7))
    in8 = await receive_lot(client, warehouse, "SET", "S8", expiry=today + timedelta(days=8))
    again = await receive_lot(client, warehouse, "BAG", "S8", expiry=today + timedelta(days=8))
    await release_lot(client, qa, today_lot["id"])
    await change_status(client, qa, in8["id"], "rejected")

    async def ids(**params: Any) -> list[int]:
        r = await client.get("/lots", params=params, headers=warehouse.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(body["items"])
        return [lot["id"] for lot in body["items"]]

    assert await ids(status="released") == [today_lot["id"]]
    assert await ids(status="rejected") == [in8["id"]]
    assert await ids(status="quarantined") == [yesterday["id"], in7["id"], again["id"]]
    assert await ids(status="recalled") == []
    assert await ids(component_type="BAG") == [in7["id"], again["id"]]
    assert await ids(component_type="NOPE") == []
    assert await ids(supplier_lot="S8") == [in8["id"], again["id"]]
    assert await ids(supplier_lot="S8", component_type="SET") == [in8["id"]]
    # Inclusive from today to today + N.
    assert await ids(expiring_within_days=7) == [today_lot["id"], in7["id"]]
    assert await ids(expiring_within_days=8) == [
        today_lot["id"],
        in7["id"],
        in8["id"],
        again["id"],
    ]
    assert await ids(expiring_within_days=0) == [today_lot["id"]]
    assert await ids(expiring_within_days=8, status="quarantined") == [in7["id"], again["id"]]

    for params in (
        {"status": "lost"},
        {"expiring_within_days": -1},
        {"expiring_within_days": "soon"},
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
    ):
        assert_problem(
            await client.get("/lots", params=params, headers=qa.headers), 422, "VALIDATION_ERROR"
        )
