"""Identifiers people type or scan are compared in one normalised form, or refused: a look-alike
of a recalled supplier lot is that lot, and an invisible character never reaches a comparison."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import (
    Actors,
    add_units,
    assert_problem,
    create_type,
    lot_total,
    receive_lot,
    release_lot,
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
