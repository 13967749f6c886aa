"""Receipts by scanning the supplier's GS1 label (POST /receipts/scan), as the warehouse sees it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.support import (
    GS,
    LOT_FIELDS,
    Actor,
    Actors,
    assert_problem,
    audit_events,
    audit_seq,
    audited_lot,
    create_type,
    lot_total,
    receive_lot,
    site_today,
)

BAG_GTIN = "10614141000729"
SET_GTIN = "00614141003198"
DATAMATRIX = "]d2" + "0110614141000729" + "17270600" + "10BB2406-17A" + GS + "21SN000123"
GS1_128 = "]C1" + "0100614141003198" + "11250312" + "17280311" + "10TS-55821" + GS + "240CX-1044-TS"
QR = "]Q3" + "0100614141003198" + "17280200" + "10CB-0227-X" + GS + "210000451"


async def _setup(client: httpx.AsyncClient, actors: Actors) -> tuple[Actor, Actor]:
    """QA and warehouse users; BAG is serial-tracked, SET lot-tracked, both with a GTIN."""
    qa = await actors.get("qa")
    warehouse = await actors.get("warehouse")
    await create_type(client, qa, "BAG", tracking="serial", gtin=BAG_GTIN)
    await create_type(client, qa, "SET", tracking="lot", gtin=SET_GTIN)
    return qa, warehouse


async def _scan(
    client: httpx.AsyncClient, warehouse: Actor, barcode: str, quantity: Any = 1, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/receipts/scan",
        json={"barcode": barcode, "quantity": quantity, **extra},
        headers=warehouse.headers,
    )


@pytest.mark.req("URS-003", "URS-032", "URS-001", "URS-002")
async def test_datamatrix_on_a_serial_type_receives_the_lot_and_registers_the_unit(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    r = await _scan(client, warehouse, DATAMATRIX, quantity=2, supplier="Acme Bioprocess")
    assert r.status_code == 201, r.text
    lot = r.json()
    assert set(lot) == LOT_FIELDS | {"warnings", "units"}
    assert lot["component_type"] == "BAG"
    assert lot["supplier_lot"] == "BB2406-17A"
    assert lot["expiry_date"] == "2027-06-30"  # day 00: the last day of the month
    assert lot["manufactured_on"] is None
    assert lot["supplier"] == "Acme Bioprocess"
    assert lot["quantity_received"] == 2 and lot["quantity_left"] == 2
    assert lot["status"] == "quarantined" and lot["warnings"] == []
    assert lot["received_by"] == warehouse.username

    events = await audit_events(client, "lot", lot["id"], qa.headers)
    assert [e["action"] for e in events] == ["lot.units_register", "lot.receive"]
    [unit_ref] = events[0]["after"]["units"]
    assert unit_ref["serial"] == "SN000123"
    # The answer names the unit it registered, as GET /units/{barcode} shows it.
    [answered] = lot["units"]
    assert answered["barcode"] == unit_ref["barcode"] and answered["serial"] == "SN000123"
    assert answered["blocking"] == ["QUARANTINED"] and answered["usable"] is False
    r = await client.get(f"/units/{unit_ref['barcode']}", headers=warehouse.headers)
    assert r.status_code == 200, r.text
    unit = r.json()
    assert unit["serial"] == "SN000123" and unit["lot"] == lot["id"]
    assert unit["lot_code"] == lot["code"] and unit["component_type"] == "BAG"
    assert unit["expiry_date"] == "2027-06-30" and unit["status"] == "available"
    # The serial is now known: registering it again is refused.
    r = await client.post(
        f"/lots/{lot['id']}/units", json={"serials": ["SN000123"]}, headers=warehouse.headers
    )
    assert_problem(r, 409, "ALREADY_EXISTS")


@pytest.mark.req("URS-003", "URS-001", "URS-038")
async def test_gs1_128_fills_lot_production_and_expiry_and_ignores_240(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    r = await _scan(client, warehouse, GS1_128, quantity=40)
    assert r.status_code == 201, r.text
    lot = r.json()
    assert lot["component_type"] == "SET"
    assert lot["supplier_lot"] == "TS-55821"
    assert lot["manufactured_on"] == "2025-03-12"
    assert lot["expiry_date"] == "2028-03-11"
    assert lot["quantity_received"] == 40 and lot["quantity_left"] == 40
    assert lot["status"] == "quarantined" and lot["warnings"] == []
    assert "CX-1044-TS" not in r.text
    events = await audit_events(client, "lot", lot["id"], qa.headers)
    assert [e["action"] for e in events] == ["lot.receive"]
    assert events[0]["before"] is None
    assert events[0]["after"] == audited_lot(lot)


@pytest.mark.req("URS-003")
async def test_qr_with_day_00_in_a_leap_year_and_serial_on_a_lot_type(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    r = await _scan(client, warehouse, QR, quantity=12)
    assert r.status_code == 201, r.text
    lot = r.json()
    assert lot["component_type"] == "SET" and lot["supplier_lot"] == "CB-0227-X"
    assert lot["expiry_date"] == "2028-02-29"
    assert lot["quantity_received"] == 12
    # (21) on a lot-tracked type registers nothing: the lot is used by quantity.
    events = await audit_events(client, "lot", lot["id"], qa.headers)
    assert [e["action"] for e in events] == ["lot.receive"]


@pytest.mark.parametrize(
    ("prefix", "ending"),
    [
        ("", ""),
        ("", "\r\n"),
        ("]C1", "\r\n"),
        ("]C1", "\n"),
        ("]C1", "\r"),
        ("", "\n"),
    ],
    ids=["bare", "bare-crlf", "crlf", "lf", "cr", "bare-lf"],
)
@pytest.mark.req("URS-003")
async def test_without_symbology_identifier_and_with_a_line_ending(
    client: httpx.AsyncClient, actors: Actors, prefix: str, ending: str
) -> None:
    _, warehouse = await _setup(client, actors)
    barcode = prefix + GS1_128.removeprefix("]C1") + ending
    r = await _scan(client, warehouse, barcode, quantity=5)
    assert r.status_code == 201, r.text
    lot = r.json()
    assert lot["supplier_lot"] == "TS-55821"
    assert lot["expiry_date"] == "2028-03-11" and lot["manufactured_on"] == "2025-03-12"


@pytest.mark.req("URS-003")
async def test_bare_datamatrix_data_with_crlf_registers_the_serial(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    r = await _scan(client, warehouse, DATAMATRIX.removeprefix("]d2") + "\r\n", quantity=1)
    assert r.status_code == 201, r.text
    events = await audit_events(client, "lot", r.json()["id"], qa.headers)
    assert events[0]["after"]["units"][0]["serial"] == "SN000123"


THE_LOT_LABEL = "]C1" + "0110614141000729" + "17270600" + "10BB2406-17A" + GS + "91L-000001"


@pytest.mark.parametrize(
    ("barcode", "code", "said"),
    [
        ("]d2" + "0110614141000729" + "17270231" + "10BB2406-17A", "UNPARSEABLE_BARCODE", "270231"),
        ("]d2" + "0110614141000729" + "17271301" + "10BB2406-17A", "UNPARSEABLE_BARCODE", "271301"),
        ("]d2" + "0110614141000720" + "17270600" + "10BB2406-17A", "UNPARSEABLE_BARCODE", "check"),
        (
            "]d2" + "0109506000134352" + "17270600" + "10BB2406-17A",
            "UNKNOWN_GTIN",
            "09506000134352",
        ),
        ("]d2" + "0110614141000729" + "17270600" + GS + "21SN000123", "BATCH_MISSING", "(10)"),
        ("]d2" + "0110614141000729" + "17270600", "BATCH_MISSING", "(10)"),
        ("]d2" + "10BB2406-17A" + GS + "17270600", "GTIN_MISSING", "(01)"),
        ("]d2" + "0110614141000729\x0017270600" + "10BB2406-17A", "INVALID_BARCODE", "U+0000"),
        ("]d2" + "0110614141000729" + "17270600\x07" + "10BB", "INVALID_BARCODE", "U+0007"),
        ("]d2" + "0110614141000729\n" + "17270600" + "10BB", "INVALID_BARCODE", "U+000A"),
        ("]d2" + "0110614141000729\t" + "17270600" + "10BB", "INVALID_BARCODE", "U+0009"),
        ("hello world", "NOT_GS1", "GS1"),
        ("L-000001", "NOT_GS1", "GS1"),
        ("U-00000001", "NOT_GS1", "GS1"),
        ("10614141000729", "UNPARSEABLE_BARCODE", "GTIN"),  # a bare EAN/ITF-14 scan
        ("]d2" + "0110614141000729" + "10BB2406-17A21SN000123456789", "UNPARSEABLE_BARCODE", "GS"),
        ("]X9" + "0110614141000729" + "10BB", "NOT_GS1", "GS1"),
        (THE_LOT_LABEL, "NOT_A_SUPPLIER_LABEL", "L-000001"),
        ("1" * 10_000, "VALIDATION_ERROR", "512"),
        ("]d2" + "0110614141000729" + "10" + "A" * 600, "VALIDATION_ERROR", "512"),
        ("", "VALIDATION_ERROR", "barcode"),
    ],
    ids=[
        "feb-31",
        "month-13",
        "gtin-check-digit",
        "unknown-gtin",
        "no-batch",
        "no-batch-at-end",
        "no-gtin",
        "nul",
        "bel",
        "lf-inside",
        "tab",
        "text",
        "our-lot-code",
        "our-unit-barcode",
        "bare-gtin",
        "missing-gs",
        "unknown-symbology",
        "our-own-lot-label",
        "10000-chars",
        "over-512",
        "empty",
    ],
)
@pytest.mark.req("URS-003", "URS-006", negative=True)
async def test_bad_barcodes_are_422_with_a_clear_detail_and_write_nothing(
    client: httpx.AsyncClient, actors: Actors, barcode: str, code: str, said: str
) -> None:
    qa, warehouse = await _setup(client, actors)
    head = await audit_seq(client)
    body = assert_problem(await _scan(client, warehouse, barcode, quantity=5), 422, code)
    assert said in body["detail"], body["detail"]
    assert body["detail"].endswith((".", ")")) and len(body["detail"]) < 600
    assert await lot_total(client, qa.headers) == 0
    assert await audit_seq(client) == head


@pytest.mark.parametrize("quantity", [0, -1, 1.5, None])
@pytest.mark.req("URS-003", "URS-006", negative=True)
async def test_bad_quantity_is_422(
    client: httpx.AsyncClient, actors: Actors, quantity: Any
) -> None:
    qa, warehouse = await _setup(client, actors)
    head = await audit_seq(client)
    body = assert_problem(
        await _scan(client, warehouse, GS1_128, quantity), 422, "VALIDATION_ERROR"
    )
    assert body["errors"][0]["field"] == "quantity"
    assert await lot_total(client, qa.headers) == 0
    assert await audit_seq(client) == head


@pytest.mark.req("URS-003", "URS-002")
@pytest.mark.req("URS-004", negative=True)
async def test_same_rules_as_post_lots(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    # Seen before: the second scan of the same supplier lot names the first receipt.
    first = (await _scan(client, warehouse, GS1_128, quantity=10)).json()
    r = await _scan(client, warehouse, GS1_128, quantity=10)
    assert r.status_code == 201, r.text
    [warning] = r.json()["warnings"]
    assert warning["code"] == "SUPPLIER_LOT_SEEN_BEFORE"
    assert warning["lots"] == [{"id": first["id"], "code": first["code"], "status": "quarantined"}]
    assert r.json()["code"] != first["code"]

    # The same supplier lot typed in earlier with another expiry: a conflict naming that lot.
    typed = await receive_lot(client, warehouse, "SET", "CB-0227-X", expiry=site_today())
    head = await audit_seq(client)
    total = await lot_total(client, qa.headers)
    body = assert_problem(await _scan(client, warehouse, QR, quantity=3), 422, "EXPIRY_CONFLICT")
    assert typed["code"] in body["detail"]
    assert await lot_total(client, qa.headers) == total
    assert await audit_seq(client) == head

    # Expired on receipt: a warning, and the lot is still received, quarantined.
    past = (site_today() - timedelta(days=40)).strftime("%y%m%d")
    r = await _scan(client, warehouse, f"]C1{'01' + SET_GTIN}17{past}10OLD-1", quantity=2)
    assert r.status_code == 201, r.text
    assert [w["code"] for w in r.json()["warnings"]] == ["EXPIRED_ON_RECEIPT"]
    assert r.json()["status"] == "quarantined"


@pytest.mark.req("URS-003", negative=True)
async def test_a_type_with_expiry_needs_17(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    head = await audit_seq(client)
    body = assert_problem(
        await _scan(client, warehouse, "]C1" + "01" + SET_GTIN + "10NO-EXP", quantity=2),
        422,
        "VALIDATION_ERROR",
    )
    assert "expiry" in body["detail"]
    assert await lot_total(client, qa.headers) == 0
    assert await audit_seq(client) == head


@pytest.mark.req("URS-003", "URS-032", negative=True)
async def test_the_same_serial_label_twice_is_refused(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    assert (await _scan(client, warehouse, DATAMATRIX)).status_code == 201
    head = await audit_seq(client)
    body = assert_problem(await _scan(client, warehouse, DATAMATRIX), 409, "ALREADY_EXISTS")
    assert "SN000123" in body["detail"]
    assert await lot_total(client, qa.headers) == 1
    assert await audit_seq(client) == head


@pytest.mark.req("URS-046", negative=True)
async def test_only_the_warehouse_scans_receipts(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, _ = await _setup(client, actors)
    operator = await actors.get("operator")
    head = await audit_seq(client)
    for actor in (qa, operator):
        r = await client.post(
            "/receipts/scan", json={"barcode": GS1_128, "quantity": 1}, headers=actor.headers
        )
        assert_problem(r, 403, "ROLE_NOT_ALLOWED")
    assert await lot_total(client, qa.headers) == 0
    assert await audit_seq(client) == head


@pytest.mark.req("URS-066")
@pytest.mark.req("URS-066", negative=True)
async def test_a_production_date_with_day_00_is_a_month_never_in_the_future(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    _, warehouse = await _setup(client, actors)
    today = site_today()
    first = today.replace(day=1)

    def label(lot: str) -> str:
        expiry = (today + timedelta(days=400)).strftime("%y%m%d")
        return (
            "]C1" + "01" + SET_GTIN + "17" + expiry + "11" + today.strftime("%y%m00") + "10" + lot
        )

    # Made this month, no day given: received, as the month's first day (the end of the month
    # would be "in the future" for most of it).
    r = await _scan(client, warehouse, label("MO-1"), 5)
    assert r.status_code == 201, r.text
    assert r.json()["manufactured_on"] == first.isoformat()
    # The body may give the day within that month; a day of another month disagrees.
    r = await _scan(client, warehouse, label("MO-2"), 5, manufactured_on=today.isoformat())
    assert r.status_code == 201, r.text
    assert r.json()["manufactured_on"] == today.isoformat()
    before = first - timedelta(days=1)
    r = await _scan(client, warehouse, label("MO-3"), 5, manufactured_on=before.isoformat())
    body = assert_problem(r, 422, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == "manufactured_on"
    assert "(11)" in body["detail"] and "no day" in body["detail"]


@pytest.mark.req("URS-066", negative=True)
async def test_a_count_on_the_label_must_be_the_quantity_received(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    _, warehouse = await _setup(client, actors)
    total = await lot_total(client, warehouse.headers)
    expiry = (site_today() + timedelta(days=400)).strftime("%y%m%d")
    barcode = "]C1" + "01" + SET_GTIN + "17" + expiry + "10" + "CT-1" + GS + "30" + "12"
    body = assert_problem(await _scan(client, warehouse, barcode, 10), 422, "VALIDATION_ERROR")
    assert body["errors"] == [
        {"field": "quantity", "message": "the label's (30) says 12, the body 10"}
    ]
    assert await lot_total(client, warehouse.headers) == total
    r = await _scan(client, warehouse, barcode, 12)
    assert r.status_code == 201, r.text
    assert r.json()["quantity_received"] == 12


@pytest.mark.parametrize(
    ("pair", "named"),
    [
        ("02" + "10614141000729", "(02) contained GTIN"),
        ("37" + "12" + GS, "(37) count of trade items"),
    ],
)
@pytest.mark.req("URS-066", negative=True)
async def test_gtin_with_a_contained_gtin_or_a_count_of_trade_items_is_refused(
    client: httpx.AsyncClient, actors: Actors, pair: str, named: str
) -> None:
    _, warehouse = await _setup(client, actors)
    total = await lot_total(client, warehouse.headers)
    expiry = (site_today() + timedelta(days=400)).strftime("%y%m%d")
    barcode = "]C1" + "01" + SET_GTIN + "17" + expiry + pair + "10" + "PR-1"
    body = assert_problem(await _scan(client, warehouse, barcode, 12), 422, "UNPARSEABLE_BARCODE")
    assert "(01) GTIN" in body["detail"] and named in body["detail"], body
    assert await lot_total(client, warehouse.headers) == total
