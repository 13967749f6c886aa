"""What a raw scan resolves to: our unit barcodes, lot codes and lot labels, and suppliers' GS1
strings, with or without a symbology identifier, GS separators and a trailing line ending."""

from __future__ import annotations

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
    add_units,
    batch_scans,
    create_batch,
    create_type,
    get_json,
    gs1_string,
    line_staff,
    lot_label,
    released_lot,
    scan_ok,
    site_today,
)

BATCH = "B-100"
PREFIXES = ("]C1", "]d2", "]Q3", "")
ENDINGS = ("", "\r\n", "\n")
ACCEPTED_FIELDS = {"id", "outcome", "flags", "unit", "lot", "lot_code", "component_type", "batch"}


async def _line(client: httpx.AsyncClient, actors: Actors) -> Line:
    """BAG (serial, GTIN), SET (lot, GTIN), TUBE (lot, no GTIN); batch B-100 in progress."""
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial", gtin=BAG_GTIN)
    await create_type(client, line.qa, "SET", tracking="lot", gtin=SET_GTIN)
    await create_type(client, line.qa, "TUBE", tracking="lot")
    await create_batch(client, line.supervisor, BATCH)
    return line


async def _lot(client: httpx.AsyncClient, line: Line, lot_id: int) -> dict[str, Any]:
    lot: dict[str, Any] = await get_json(client, f"/lots/{lot_id}", line.qa)
    return lot


async def _balanced(client: httpx.AsyncClient, line: Line, lot_id: int) -> dict[str, Any]:
    counts: dict[str, Any] = await get_json(client, f"/lots/{lot_id}/reconciliation", line.qa)
    assert counts["received"] == counts["consumed"] + counts["discarded"] + counts["on_hand"]
    return counts


def _variants(make: Any) -> list[str]:
    """One barcode per symbology identifier and line ending, made by `make(prefix, ending)`."""
    return [make(prefix, ending) for prefix in PREFIXES for ending in ENDINGS]


@pytest.mark.req("URS-015", "URS-014")
async def test_our_unit_barcode_consumes_the_unit(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1", quantity=5)
    units = await add_units(client, line.warehouse, lot["id"], 3)
    for barcode, ending in zip(units, ENDINGS, strict=True):
        answer = await scan_ok(client, line.operator, barcode + ending, BATCH)
        assert set(answer) >= ACCEPTED_FIELDS
        assert answer["unit"] == barcode and answer["lot"] == lot["id"]
        assert answer["lot_code"] == lot["code"] and answer["component_type"] == "BAG"
        assert answer["batch"] == BATCH and answer["flags"] == []
        view = await get_json(client, f"/units/{barcode}", line.qa)
        assert view["status"] == "consumed" and view["usable"] is False
    counts = await _balanced(client, line, lot["id"])
    assert counts["consumed"] == 3 and counts["on_hand"] == 2
    stored = await batch_scans(client, line.qa, BATCH)
    assert [(s["unit"], s["outcome"], s["quantity"]) for s in stored] == [
        (u, "accepted", 1) for u in units
    ]


@pytest.mark.req("URS-015", "URS-034")
async def test_our_lot_code_takes_the_quantity_asked(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    sets = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1", quantity=10)
    tubes = await released_lot(client, line.qa, line.warehouse, "TUBE", "TB-1", quantity=10)
    answer = await scan_ok(client, line.operator, sets["code"], BATCH)
    assert answer["lot"] == sets["id"] and answer["unit"] is None
    assert answer["component_type"] == "SET"
    assert (await _lot(client, line, sets["id"]))["quantity_left"] == 9
    await scan_ok(client, line.operator, sets["code"] + "\r\n", BATCH, quantity=4)
    assert (await _lot(client, line, sets["id"]))["quantity_left"] == 5
    answer = await scan_ok(client, line.operator, tubes["code"] + "\n", BATCH, quantity=10)
    assert answer["lot"] == tubes["id"] and answer["component_type"] == "TUBE"
    assert (await _lot(client, line, tubes["id"]))["quantity_left"] == 0
    assert [s["quantity"] for s in await batch_scans(client, line.qa, BATCH)] == [1, 4, 10]
    assert (await _balanced(client, line, sets["id"]))["consumed"] == 5


@pytest.mark.req("URS-015", "URS-037")
async def test_our_lot_label_names_exactly_this_receipt(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    expiry = site_today() + timedelta(days=300)
    first = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1", 40, expiry)
    second = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1", 40, expiry)
    barcodes = _variants(lambda p, e: lot_label(SET_GTIN, second, prefix=p, suffix=e))
    # The built label reads as the contract's example.
    assert barcodes[0] == (
        "]C1"
        + "01"
        + SET_GTIN
        + "17"
        + expiry.strftime("%y%m%d")
        + "10TS-1"
        + GS
        + "91"
        + second["code"]
    )
    for barcode in barcodes:
        answer = await scan_ok(client, line.operator, barcode, BATCH)
        assert answer["lot"] == second["id"] and answer["lot_code"] == second["code"]
    assert (await _lot(client, line, second["id"]))["quantity_left"] == 40 - len(barcodes)
    assert (await _lot(client, line, first["id"]))["quantity_left"] == 40
    stored = await batch_scans(client, line.qa, BATCH)
    assert [s["barcode"] for s in stored] == barcodes


@pytest.mark.req("URS-015")
async def test_supplier_serial_names_the_unit(client: httpx.AsyncClient, actors: Actors) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1", quantity=30)
    expiry = date.fromisoformat(lot["expiry_date"])
    serials = [f"SN-{i}" for i in range(len(PREFIXES) * len(ENDINGS) * 2)]
    r = await client.post(
        f"/lots/{lot['id']}/units", json={"serials": serials}, headers=line.warehouse.headers
    )
    assert r.status_code == 201, r.text
    barcode_of = {u["serial"]: u["barcode"] for u in r.json()["items"]}
    pending = iter(serials)
    sent: list[tuple[str, str]] = []
    for prefix in PREFIXES:
        for ending in ENDINGS:
            serial = next(pending)
            sent.append((gs1_string(BAG_GTIN, serial=serial, prefix=prefix, suffix=ending), serial))
            serial = next(pending)
            full = gs1_string(
                BAG_GTIN, expiry=expiry, lot="BB-1", serial=serial, prefix=prefix, suffix=ending
            )
            sent.append((full, serial))
    for barcode, serial in sent:
        answer = await scan_ok(client, line.operator, barcode, BATCH)
        assert answer["unit"] == barcode_of[serial], (barcode, answer)
        assert answer["lot"] == lot["id"]
        view = await get_json(client, f"/units/{barcode_of[serial]}", line.qa)
        assert view["status"] == "consumed"
    counts = await _balanced(client, line, lot["id"])
    assert counts["consumed"] == len(sent)


@pytest.mark.req("URS-015")
async def test_supplier_lot_names_the_lot_of_a_lot_type(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1", quantity=100)
    expiry = date.fromisoformat(lot["expiry_date"])
    barcodes = _variants(lambda p, e: gs1_string(SET_GTIN, lot="TS-1", prefix=p, suffix=e))
    barcodes += _variants(
        lambda p, e: gs1_string(SET_GTIN, expiry=expiry, lot="TS-1", prefix=p, suffix=e)
    )
    # FNC1 sent as a leading GS, and a GS after the last field, are read the same.
    barcodes += [
        "]d2" + GS + "01" + SET_GTIN + "10TS-1",
        "]C1" + "10TS-1" + GS + "01" + SET_GTIN + "17" + expiry.strftime("%y%m%d"),
        "]Q3" + "01" + SET_GTIN + "10TS-1" + GS + "\r\n",
    ]
    for barcode in barcodes:
        answer = await scan_ok(client, line.operator, barcode, BATCH, quantity=2)
        assert answer["lot"] == lot["id"] and answer["unit"] is None, (barcode, answer)
    left = (await _lot(client, line, lot["id"]))["quantity_left"]
    assert left == 100 - 2 * len(barcodes)
    assert (await _balanced(client, line, lot["id"]))["consumed"] == 2 * len(barcodes)
