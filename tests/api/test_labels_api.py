"""Lot and unit labels over HTTP, decoded by a real scanner library (zxing-cpp), no mocks."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image

from tests.support import (
    GS,
    Actor,
    Actors,
    assert_problem,
    audit_seq,
    create_type,
    receive_lot,
)

SVG_NS = "{http://www.w3.org/2000/svg}"
EXPIRY = date(2027, 6, 30)


async def _setup(client: httpx.AsyncClient, actors: Actors) -> tuple[Actor, Actor]:
    qa = await actors.get("qa")
    warehouse = await actors.get("warehouse")
    await create_type(
        client, qa, "BAG", tracking="serial", gtin="10614141000729", name="Bioreactor bag 2 L"
    )
    await create_type(client, qa, "TUBE", tracking="lot", name="Tubing set")
    return qa, warehouse


async def _get(client: httpx.AsyncClient, path: str, actor: Actor, fmt: str) -> httpx.Response:
    r = await client.get(path, params={"format": fmt}, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r


def _decode(png: bytes, text_mode: Any = None) -> Any:
    image = Image.open(io.BytesIO(png))
    if text_mode is None:
        results = zxingcpp.read_barcodes(image)
    else:
        results = zxingcpp.read_barcodes(image, text_mode=text_mode)
    assert len(results) == 1, results
    return results[0]


def _svg_texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    return [element.text or "" for element in root.iter(f"{SVG_NS}text")]


@pytest.mark.req("URS-037")
async def test_gs1_lot_label_decodes_to_the_lot(client: httpx.AsyncClient, actors: Actors) -> None:
    _, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB2406-17A", expiry=EXPIRY)
    operator = await actors.get("operator")
    r = await _get(client, f"/lots/{lot['id']}/label", operator, "png")
    assert r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (1181, 591)  # 100 x 50 mm at 300 dpi
    result = _decode(r.content)
    # the full GS1-128 would be 109 mm wide: the same data as a GS1 DataMatrix
    assert result.format == zxingcpp.BarcodeFormat.DataMatrix
    assert result.content_type == zxingcpp.ContentType.GS1
    assert result.symbology_identifier == "]d2"
    code = lot["code"]
    assert result.text == f"(01)10614141000729(17)270630(10)BB2406-17A(91){code}"
    assert result.bytes == f"01106141410007291727063010BB2406-17A{GS}91{code}".encode()
    assert result.text.split("(91)")[1] == code


@pytest.mark.req("URS-037", "URS-010")
async def test_gs1_label_follows_the_lot_as_it_is_now(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB2406-17A", expiry=EXPIRY)
    r = await client.post(
        f"/lots/{lot['id']}/correct",
        json={
            "changes": {"supplier_lot": "BB2406-17B", "expiry_date": "2028-02-29"},
            "reason": "Misread label",
            "signature": warehouse.signature("Corrected"),
        },
        headers=warehouse.headers,
    )
    assert r.status_code == 200, r.text
    result = _decode((await _get(client, f"/lots/{lot['id']}/label", qa, "png")).content)
    assert result.text == f"(01)10614141000729(17)280229(10)BB2406-17B(91){lot['code']}"


@pytest.mark.req("URS-037")
async def test_gs1_lot_label_without_expiry_and_with_a_short_gtin(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    await create_type(client, qa, "CLAMP", gtin="012345678905", has_expiry=False)
    lot = await receive_lot(client, warehouse, "CLAMP", "CL-7", expiry=None)
    result = _decode((await _get(client, f"/lots/{lot['id']}/label", qa, "png")).content)
    assert result.text == f"(01)00012345678905(10)CL-7(91){lot['code']}"
    assert result.bytes == f"010001234567890510CL-7{GS}91{lot['code']}".encode()


@pytest.mark.req("URS-037")
async def test_code128_lot_label_without_gtin(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "TUBE", "TS-55821", expiry=EXPIRY)
    result = _decode((await _get(client, f"/lots/{lot['id']}/label", qa, "png")).content)
    assert result.format == zxingcpp.BarcodeFormat.Code128
    assert result.content_type == zxingcpp.ContentType.Text
    assert result.symbology_identifier == "]C0"
    assert result.text == lot["code"]


@pytest.mark.req("URS-037")
async def test_lot_label_svg_has_the_text_lines(client: httpx.AsyncClient, actors: Actors) -> None:
    _, warehouse = await _setup(client, actors)
    auditor = await actors.get("auditor")
    gs1_lot = await receive_lot(client, warehouse, "BAG", "BB2406-17A", expiry=EXPIRY)
    r = await _get(client, f"/lots/{gs1_lot['id']}/label", auditor, "svg")
    assert r.headers["content-type"].startswith("image/svg+xml")
    text = " ".join(_svg_texts(r.content))
    for expected in ("Bioreactor bag 2 L", "BB2406-17A", "2027-06-30", gs1_lot["code"]):
        assert expected in text, (expected, text)

    plain_lot = await receive_lot(client, warehouse, "TUBE", "TS-1", expiry=EXPIRY)
    r = await client.get(f"/lots/{plain_lot['id']}/label", headers=auditor.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    text = " ".join(_svg_texts(r.content))
    for expected in ("Tubing set", "TS-1", "2027-06-30", plain_lot["code"]):
        assert expected in text, (expected, text)


@pytest.mark.parametrize("serial", ["SN000123", None])
@pytest.mark.req("URS-037")
async def test_unit_label_decodes_to_the_unit_barcode(
    client: httpx.AsyncClient, actors: Actors, serial: str | None
) -> None:
    _, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB2406-17A", quantity=2, expiry=EXPIRY)
    body = {"serials": [serial]} if serial else {"count": 1}
    r = await client.post(f"/lots/{lot['id']}/units", json=body, headers=warehouse.headers)
    assert r.status_code == 201, r.text
    barcode = r.json()["items"][0]["barcode"]
    operator = await actors.get("operator")

    r = await _get(client, f"/units/{barcode}/label", operator, "png")
    assert r.headers["content-type"] == "image/png"
    result = _decode(r.content)
    assert result.format == zxingcpp.BarcodeFormat.Code128
    assert result.symbology_identifier == "]C0"
    assert result.text == barcode

    r = await _get(client, f"/units/{barcode}/label", operator, "svg")
    assert r.headers["content-type"].startswith("image/svg+xml")
    text = " ".join(_svg_texts(r.content))
    for expected in ("Bioreactor bag 2 L", lot["code"], "2027-06-30", barcode):
        assert expected in text, (expected, text)
    if serial:
        assert serial in text


@pytest.mark.req("URS-003", "URS-037", negative=True)
async def test_our_own_lot_label_is_not_a_supplier_receipt(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB2406-17A", expiry=EXPIRY)
    result = _decode((await _get(client, f"/lots/{lot['id']}/label", qa, "png")).content)
    scanned = result.symbology_identifier + result.bytes.decode("ascii") + "\r\n"
    head = await audit_seq(client)
    r = await client.post(
        "/receipts/scan", json={"barcode": scanned, "quantity": 1}, headers=warehouse.headers
    )
    body = assert_problem(r, 422, "NOT_A_SUPPLIER_LABEL")
    assert lot["code"] in body["detail"]
    assert await audit_seq(client) == head


@pytest.mark.req("URS-037", "URS-006", "URS-045", negative=True)
async def test_label_errors(client: httpx.AsyncClient, actors: Actors) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB-1", quantity=2)
    units = await client.post(
        f"/lots/{lot['id']}/units", json={"count": 1}, headers=warehouse.headers
    )
    barcode = units.json()["items"][0]["barcode"]
    head = await audit_seq(client)
    for path in (f"/lots/{lot['id']}/label", f"/units/{barcode}/label"):
        r = await client.get(path, params={"format": "pdf"}, headers=qa.headers)
        assert_problem(r, 422, "VALIDATION_ERROR")
    assert_problem(await client.get("/lots/999999/label", headers=qa.headers), 404, "LOT_NOT_FOUND")
    assert_problem(
        await client.get("/units/U-99999999/label", headers=qa.headers), 404, "UNIT_NOT_FOUND"
    )
    assert_problem(await client.get(f"/lots/{lot['id']}/label"), 401, "UNAUTHORIZED")
    assert await audit_seq(client) == head


@pytest.mark.req("URS-037", negative=True)
async def test_a_supplier_lot_gs1_cannot_carry_is_a_clear_problem(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    """A space is fine in a typed supplier lot but outside GS1's character set."""
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "BB 2406", expiry=EXPIRY)
    r = await client.get(f"/lots/{lot['id']}/label", params={"format": "png"}, headers=qa.headers)
    body = assert_problem(r, 422, "LABEL_UNENCODABLE")
    assert "BB 2406" in body["detail"]


@pytest.mark.req("URS-055")
async def test_symbology_and_stock_are_chosen_by_query(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await _setup(client, actors)
    lot = await receive_lot(client, warehouse, "BAG", "B7", expiry=EXPIRY)
    path = f"/lots/{lot['id']}/label"
    r = await client.get(
        path, params={"format": "png", "symbology": "gs1-128", "stock": "4x2in"}, headers=qa.headers
    )
    assert r.status_code == 200, r.text
    assert Image.open(io.BytesIO(r.content)).size == (1200, 600)
    result = _decode(r.content)
    assert result.symbology_identifier == "]C1"
    assert result.text == f"(01)10614141000729(17)270630(10)B7(91){lot['code']}"
    r = await client.get(
        path,
        params={"format": "png", "symbology": "datamatrix", "stock": "2x1in"},
        headers=qa.headers,
    )
    assert _decode(r.content).format == zxingcpp.BarcodeFormat.DataMatrix
    long = await receive_lot(client, warehouse, "BAG", "BB2406-17A-LONGER", expiry=EXPIRY)
    r = await client.get(
        f"/lots/{long['id']}/label", params={"symbology": "gs1-128"}, headers=qa.headers
    )
    body = assert_problem(r, 422, "LABEL_DOES_NOT_FIT")
    assert "symbology=datamatrix" in body["detail"]
    r = await client.get(path, params={"stock": "A4"}, headers=qa.headers)
    assert_problem(r, 422, "VALIDATION_ERROR")
    # the lot as the API shows it carries its label reconciliation
    shown = (await client.get(f"/lots/{lot['id']}", headers=qa.headers)).json()
    assert shown["labels"] == {
        "issued": 0, "applied": 0, "voided": 0, "outstanding": 0, "reprints": 0,
    }  # fmt: skip
