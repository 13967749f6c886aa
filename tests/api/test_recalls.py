"""Supplier recalls over HTTP: every receipt of the supplier lot recalled, future receipts
blocked, and the impact kept with the recall."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import (
    GS,
    Actor,
    Actors,
    assert_problem,
    audit_events,
    audit_seq,
    audited_lot,
    change_status,
    create_type,
    lot_total,
    receive_lot,
    release_lot,
)

BAG_GTIN = "10614141000729"


async def _setup(client: httpx.AsyncClient, actors: Actors) -> tuple[Actor, Actor]:
    qa = await actors.get("qa")
    warehouse = await actors.get("warehouse")
    await create_type(client, qa, "BAG", tracking="serial", gtin=BAG_GTIN)
    await create_type(client, qa, "SET", tracking="lot")
    return qa, warehouse


def _recall_body(
    qa: Actor,
    supplier_lot: str = "BB-R",
    component_type: str = "BAG",
    password: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    return {
        "component_type": component_type,
        "supplier_lot": supplier_lot,
        "notice_ref": "FSN-2026-014",
        "reason": "Supplier field safety notice: seal may leak",
        "signature": qa.signature("Recalled", password),
        **overrides,
    }


async def _recall_total(client: httpx.AsyncClient, actor: Actor) -> int:
    r = await client.get("/recalls", headers=actor.headers)
    assert r.status_code == 200, r.text
    total: int = r.json()["total"]
    return total


async def _status(client: httpx.AsyncClient, lot_id: int, actor: Actor) -> str:
    r = await client.get(f"/lots/{lot_id}", headers=actor.headers)
    assert r.status_code == 200, r.text
    status: str = r.json()["status"]
    return status


@pytest.mark.req("URS-025", "URS-038")
@pytest.mark.req("URS-026", negative=True)
async def test_recall_recalls_every_receipt_and_holds_the_impact(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    quarantined = await receive_lot(client, warehouse, "BAG", "BB-R", quantity=2)
    released = await receive_lot(client, warehouse, "BAG", "BB-R", quantity=5, coa_ref="C-1")
    units = (
        await client.post(
            f"/lots/{released['id']}/units", json={"count": 3}, headers=warehouse.headers
        )
    ).json()["items"]
    await release_lot(client, qa, released["id"])
    r = await client.post(
        f"/units/{units[0]['barcode']}/discard",
        json={"reason_code": "damaged", "reason": "Torn"},
        headers=warehouse.headers,
    )
    assert r.status_code == 200, r.text
    rejected = await receive_lot(client, warehouse, "BAG", "BB-R", quantity=1)
    assert (await change_status(client, qa, rejected["id"], "rejected")).status_code == 200
    other_lot = await receive_lot(client, warehouse, "BAG", "BB-OK", quantity=1)
    other_type = await receive_lot(client, warehouse, "SET", "BB-R", quantity=1)
    before = {
        lot["id"]: (await client.get(f"/lots/{lot['id']}", headers=qa.headers)).json()
        for lot in (quarantined, released, rejected)
    }

    r = await client.post("/recalls", json=_recall_body(qa), headers=qa.headers)
    assert r.status_code == 201, r.text
    recall = r.json()
    assert recall["notice_ref"] == "FSN-2026-014"
    assert recall["component_type"] == "BAG" and recall["supplier_lot"] == "BB-R"
    assert recall["created_by"] == qa.username
    assert recall["lots"] == [quarantined["id"], released["id"], rejected["id"]]
    impact = recall["impact"]
    assert impact["lots"] == [
        {"id": quarantined["id"], "code": quarantined["code"], "status_before": "quarantined"},
        {"id": released["id"], "code": released["code"], "status_before": "released"},
        {"id": rejected["id"], "code": rejected["code"], "status_before": "rejected"},
    ]
    assert impact["batches"] == []
    assert sorted(impact["units_available"]) == sorted(u["barcode"] for u in units[1:])
    assert recall["signature"]["username"] == qa.username
    assert recall["signature"]["meaning"] == "Recalled"

    for lot_id, earlier in before.items():
        assert await _status(client, lot_id, qa) == "recalled"
        event = (await audit_events(client, "lot", lot_id, qa.headers))[0]
        assert event["action"] == "lot.status" and event["actor"] == qa.username
        assert event["before"] == audited_lot(earlier)
        assert event["after"]["status"] == "recalled"
        assert "FSN-2026-014" in event["reason"]
        assert event["signature"]["username"] == qa.username
    assert await _status(client, other_lot["id"], qa) == "quarantined"
    assert await _status(client, other_type["id"], qa) == "quarantined"

    [event] = await audit_events(client, "recall", recall["id"], qa.headers)
    assert event["action"] == "recall.create" and event["before"] is None
    assert event["after"] == recall


@pytest.mark.req("URS-025", negative=True)
async def test_recalled_supplier_lot_cannot_be_received_again(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    await receive_lot(client, warehouse, "BAG", "BB2406-17A", quantity=2)
    r = await client.post("/recalls", json=_recall_body(qa, "BB2406-17A"), headers=qa.headers)
    assert r.status_code == 201, r.text
    recall_id = r.json()["id"]
    head = await audit_seq(client)
    total = await lot_total(client, qa.headers)

    r = await client.post(
        "/lots",
        json={
            "component_type": "BAG",
            "supplier_lot": "BB2406-17A",
            "quantity": 1,
            "expiry_date": "2027-06-30",
        },
        headers=warehouse.headers,
    )
    body = assert_problem(r, 409, "SUPPLIER_LOT_RECALLED")
    assert "BB2406-17A" in body["detail"] and "FSN-2026-014" in body["detail"]
    assert body.get("recall") == recall_id

    scan = "]d2" + "0110614141000729" + "17270600" + "10BB2406-17A" + GS + "21SN000123"
    r = await client.post(
        "/receipts/scan", json={"barcode": scan, "quantity": 1}, headers=warehouse.headers
    )
    assert_problem(r, 409, "SUPPLIER_LOT_RECALLED")
    assert await lot_total(client, qa.headers) == total
    assert await audit_seq(client) == head
    # Another supplier lot of the same type is received as usual.
    assert (await receive_lot(client, warehouse, "BAG", "BB2406-18"))["status"] == "quarantined"


@pytest.mark.req("URS-025", "URS-010", negative=True)
async def test_a_lot_cannot_be_corrected_into_a_recalled_supplier_lot(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    r = await client.post("/recalls", json=_recall_body(qa, "BB-R"), headers=qa.headers)
    assert r.status_code == 201, r.text
    lot = await receive_lot(client, warehouse, "BAG", "BB-R0")
    head = await audit_seq(client)
    r = await client.post(
        f"/lots/{lot['id']}/correct",
        json={
            "changes": {"supplier_lot": "BB-R"},
            "reason": "Mistyped",
            "signature": warehouse.signature("Corrected"),
        },
        headers=warehouse.headers,
    )
    assert_problem(r, 409, "SUPPLIER_LOT_RECALLED")
    assert (await client.get(f"/lots/{lot['id']}", headers=qa.headers)).json()[
        "supplier_lot"
    ] == "BB-R0"
    assert await audit_seq(client) == head


@pytest.mark.req("URS-026")
@pytest.mark.req("URS-025", negative=True)
async def test_a_recall_before_any_receipt_blocks_the_first(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    r = await client.post("/recalls", json=_recall_body(qa, "NEVER-SEEN"), headers=qa.headers)
    assert r.status_code == 201, r.text
    recall = r.json()
    assert recall["lots"] == []
    assert recall["impact"]["lots"] == [] and recall["impact"]["units_available"] == []
    r = await client.post(
        "/lots",
        json={
            "component_type": "BAG",
            "supplier_lot": "NEVER-SEEN",
            "quantity": 1,
            "expiry_date": "2030-01-01",
        },
        headers=warehouse.headers,
    )
    assert_problem(r, 409, "SUPPLIER_LOT_RECALLED")
    assert await lot_total(client, qa.headers) == 0


@pytest.mark.req("URS-025", negative=True)
async def test_a_second_recall_is_409(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    await receive_lot(client, warehouse, "BAG", "BB-R")
    first = (await client.post("/recalls", json=_recall_body(qa), headers=qa.headers)).json()
    head = await audit_seq(client)
    r = await client.post(
        "/recalls", json=_recall_body(qa, notice_ref="FSN-2026-099"), headers=qa.headers
    )
    body = assert_problem(r, 409, "ALREADY_RECALLED")
    assert "FSN-2026-014" in body["detail"]
    assert await _recall_total(client, qa) == 1
    assert await audit_seq(client) == head
    r = await client.get(f"/recalls/{first['id']}", headers=qa.headers)
    assert r.json() == first


@pytest.mark.req("URS-025")
async def test_list_and_read_recalls(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    await receive_lot(client, warehouse, "BAG", "BB-R")
    first = (await client.post("/recalls", json=_recall_body(qa), headers=qa.headers)).json()
    second = (
        await client.post(
            "/recalls",
            json=_recall_body(qa, "TS-9", "SET", notice_ref="FSN-2026-020"),
            headers=qa.headers,
        )
    ).json()
    operator = await actors.get("operator")
    r = await client.get("/recalls", headers=operator.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 2
    assert sorted(body["items"], key=lambda x: x["id"]) == [first, second]
    r = await client.get("/recalls", params={"limit": 1}, headers=operator.headers)
    assert len(r.json()["items"]) == 1 and r.json()["total"] == 2
    r = await client.get(f"/recalls/{first['id']}", headers=operator.headers)
    assert r.status_code == 200 and r.json() == first
    assert_problem(
        await client.get("/recalls/999999", headers=operator.headers), 404, "RECALL_NOT_FOUND"
    )


@pytest.mark.req("URS-043", "URS-025", negative=True)
async def test_recall_with_a_wrong_signature_is_recorded_and_recalls_nothing(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-R")
    head = await audit_seq(client)
    r = await client.post(
        "/recalls", json=_recall_body(qa, password="wrong password 9"), headers=qa.headers
    )
    assert_problem(r, 403, "SIGNATURE_INVALID")
    assert await _status(client, lot["id"], qa) == "quarantined"
    assert await _recall_total(client, qa) == 0
    assert await audit_seq(client) == head + 1
    failure = (await audit_events(client, "user", qa.username, qa.headers))[0]
    assert failure["action"] == "signature.fail"
    # The receipt is still open to the supplier lot.
    assert (await receive_lot(client, warehouse, "BAG", "BB-R"))["status"] == "quarantined"


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"component_type": "NOPE"}, 422, "UNKNOWN_COMPONENT_TYPE"),
        ({"notice_ref": ""}, 422, "VALIDATION_ERROR"),
        ({"notice_ref": "N" * 101}, 422, "VALIDATION_ERROR"),
        ({"reason": "  "}, 422, "VALIDATION_ERROR"),
        ({"supplier_lot": "S" * 21}, 422, "VALIDATION_ERROR"),
        ({"supplier_lot": "BB\x00R"}, 422, "VALIDATION_ERROR"),
        ({"signature": None}, 422, "VALIDATION_ERROR"),
    ],
    ids=["unknown-type", "no-notice", "long-notice", "blank-reason", "long-lot", "nul", "unsigned"],
)
@pytest.mark.req("URS-025", "URS-006", "URS-042", negative=True)
async def test_bad_recalls_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    actors: Actors,
    overrides: dict[str, Any],
    status: int,
    code: str,
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-R")
    head = await audit_seq(client)
    r = await client.post("/recalls", json=_recall_body(qa, **overrides), headers=qa.headers)
    assert_problem(r, status, code)
    assert await _status(client, lot["id"], qa) == "quarantined"
    assert await _recall_total(client, qa) == 0
    assert await audit_seq(client) == head


@pytest.mark.req("URS-009", "URS-046", negative=True)
async def test_only_qa_recalls(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-R")
    supervisor = await actors.get("supervisor")
    head = await audit_seq(client)
    for actor in (warehouse, supervisor):
        r = await client.post("/recalls", json=_recall_body(actor), headers=actor.headers)
        assert_problem(r, 403, "ROLE_NOT_ALLOWED")
    assert await _status(client, lot["id"], qa) == "quarantined"
    assert await audit_seq(client) == head
