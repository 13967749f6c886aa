"""Identifiers people type or scan are compared in one normalised form, or refused: a look-alike
of a recalled supplier lot is that lot, and an invisible character never reaches a comparison."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import (
    ADMIN_KEY,
    PASSWORD,
    Actors,
    add_units,
    assert_problem,
    create_type,
    line_staff,
    lot_total,
    receive_lot,
    release_lot,
    released_lot,
    scan_ok,
)


def _receipt(supplier_lot: str) -> dict[str, Any]:
    return {
        "component_type": "SET",
        "supplier_lot": supplier_lot,
        "quantity": 1,
        "expiry_date": "2030-01-01",
    }


@pytest.mark.parametrize(
    ("typed", "status", "code"),
    [
        ("BB-R ", 409, "SUPPLIER_LOT_RECALLED"),  # a trailing space
        (" BB-R", 409, "SUPPLIER_LOT_RECALLED"),  # a leading space
        ("\u00a0BB-R\t", 409, "SUPPLIER_LOT_RECALLED"),  # a no-break space, a tab
        ("\uff22\uff22-\uff32", 409, "SUPPLIER_LOT_RECALLED"),  # full-width BB-R
        ("BB-R\u200b", 422, "VALIDATION_ERROR"),  # a zero-width space
        ("BB\u200d-R", 422, "VALIDATION_ERROR"),  # a zero-width joiner inside
        ("\ufeffBB-R", 422, "VALIDATION_ERROR"),  # a byte order mark
        ("BB-R\u0085", 422, "VALIDATION_ERROR"),  # a C1 control (NEL)
        ("BB-R\u009c", 422, "VALIDATION_ERROR"),  # a C1 control
        ("BB-R\ufffe", 422, "VALIDATION_ERROR"),  # a noncharacter
        ("BB-R\uffff", 422, "VALIDATION_ERROR"),  # a noncharacter
        ("BB-\u2028R", 422, "VALIDATION_ERROR"),  # a line separator
    ],
)
@pytest.mark.req("URS-025", "URS-068", negative=True)
async def test_a_look_alike_of_a_recalled_supplier_lot_is_not_received(
    client: httpx.AsyncClient, actors: Actors, typed: str, status: int, code: str
) -> None:
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    await create_type(client, qa, "SET")
    recall = {
        "component_type": "SET",
        "supplier_lot": "BB-R",
        "notice_ref": "FSN-2026-014",
        "reason": "Supplier field safety notice",
        "signature": qa.signature("Recalled"),
    }
    assert (await client.post("/recalls", json=recall, headers=qa.headers)).status_code == 201
    r = await client.post("/lots", json=_receipt(typed), headers=warehouse.headers)
    body = assert_problem(r, status, code)
    if status == 422:
        assert body["errors"][0]["field"] == "supplier_lot"
        assert "U+" in body["errors"][0]["message"]
    assert await lot_total(client, qa.headers) == 0


@pytest.mark.req("URS-068")
async def test_a_supplier_lot_is_stored_and_recalled_in_its_normalised_form(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    await create_type(client, qa, "SET")
    lot = await receive_lot(client, warehouse, "SET", "\uff21\uff22-7 ")
    assert lot["supplier_lot"] == "AB-7"
    # A recall typed with a look-alike recalls the receipt made under the plain form.
    recall = {
        "component_type": "SET",
        "supplier_lot": " AB-7",
        "notice_ref": "FSN-2026-015",
        "reason": "Supplier field safety notice",
        "signature": qa.signature("Recalled"),
    }
    r = await client.post("/recalls", json=recall, headers=qa.headers)
    assert r.status_code == 201, r.text
    assert r.json()["supplier_lot"] == "AB-7"
    assert r.json()["lots"] == [lot["id"]]


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1d", "\x7f", "\x85", "\u200b"])
@pytest.mark.req("URS-006", "URS-068", negative=True)
async def test_an_assembly_part_barcode_with_a_control_character_is_a_422(
    client: httpx.AsyncClient, actors: Actors, bad: str
) -> None:
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    await create_type(client, qa, "BAG", tracking="serial")
    await create_type(
        client, qa, "KIT", tracking="serial", category="kit", is_assembly=True, hold_hours=24
    )
    lot = await receive_lot(client, warehouse, "BAG", coa_ref="COA-1")
    await release_lot(client, qa, lot["id"])
    (barcode,) = await add_units(client, warehouse, lot["id"])
    body = {"component_type": "KIT", "components": [{"barcode": barcode[:3] + bad + barcode[3:]}]}
    r = await client.post("/assemblies", json=body, headers=warehouse.headers)
    problem = assert_problem(r, 422, "VALIDATION_ERROR")
    assert problem["errors"][0]["field"] == "components.0.barcode"
    r = await client.get(f"/units/{barcode}", headers=warehouse.headers)
    assert r.json()["status"] == "available"
    # The barcode as scanned, surrounding whitespace and all, still builds the kit.
    body = {"component_type": "KIT", "components": [{"barcode": f" {barcode}\n"}]}
    r = await client.post("/assemblies", json=body, headers=warehouse.headers)
    assert r.status_code == 201, r.text


@pytest.mark.req("URS-068")
async def test_a_batch_number_is_one_identifier_however_it_is_typed(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await line_staff(actors)
    await create_type(client, line.qa, "SET")
    lot = await released_lot(client, line.qa, line.warehouse, "SET")
    planned = {"batch_number": "B-7 ", "product": "CAR-T autologous"}
    r = await client.post("/batches", json=planned, headers=line.supervisor.headers)
    assert r.status_code == 201, r.text
    assert r.json()["batch_number"] == "B-7"
    look_alike = {**planned, "batch_number": "\uff22-7"}  # a full-width B
    r = await client.post("/batches", json=look_alike, headers=line.supervisor.headers)
    assert_problem(r, 409, "ALREADY_EXISTS")
    r = await client.post("/batches/B-7/start", headers=line.supervisor.headers)
    assert r.status_code == 200, r.text
    for typed in ("B-7 ", "\uff22-7", "\u00a0B-7"):
        answer = await scan_ok(client, line.operator, lot["code"], typed, quantity=1)
        assert answer["batch"] == "B-7"
    r = await client.post(
        "/scans",
        json={"barcode": lot["code"], "batch": "B-7\u200b", "quantity": 1},
        headers=line.operator.headers,
    )
    assert assert_problem(r, 422, "VALIDATION_ERROR")["errors"][0]["field"] == "batch"


@pytest.mark.req("URS-068")
async def test_a_component_type_code_is_one_identifier_however_it_is_typed(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    assert (await create_type(client, qa, " SET "))["code"] == "SET"
    r = await client.post(
        "/component-types",
        json={
            "code": "\uff33\uff25\uff34",
            "name": "x",
            "category": "bag",
            "tracking": "lot",
            "risk": "high",
        },
        headers=qa.headers,
    )
    assert_problem(r, 409, "ALREADY_EXISTS")
    lot = await receive_lot(client, warehouse, "\uff33\uff25\uff34\t")
    assert lot["component_type"] == "SET"
    r = await client.post(
        "/lots",
        json={"component_type": "SET\ufeff", "supplier_lot": "SL-2", "quantity": 1},
        headers=warehouse.headers,
    )
    assert assert_problem(r, 422, "VALIDATION_ERROR")["errors"][0]["field"] == "component_type"


@pytest.mark.req("URS-068")
async def test_a_username_is_one_identifier_however_it_is_typed(
    client: httpx.AsyncClient,
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    user = {"username": "ann ", "full_name": "Ann Able", "role": "qa"}
    r = await client.post("/users", json=user, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["username"] == "ann"
    code = r.json()["enrolment"]["code"]
    r = await client.post("/users", json={**user, "username": "\uff41nn"}, headers=admin)
    assert_problem(r, 409, "ALREADY_EXISTS")
    enrol = {"username": "\uff41\uff4e\uff4e ", "code": code, "password": PASSWORD}
    r = await client.post("/enrolment", json=enrol)
    assert r.status_code == 200, r.text
    r = await client.post("/sessions", json={"username": " ann", "password": PASSWORD})
    assert r.status_code == 201, r.text
    assert r.json()["user"]["username"] == "ann"
