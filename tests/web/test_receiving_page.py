"""The receiving desk in a real browser: the clerk scans a supplier's label, sees what it says
and every warning before confirming, receives the lot and gets its label; registers the units of
a serial-tracked lot, sees their labels and downloads a PDF sheet of them."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.support import GS, site_today, yymmdd
from tests.web.conftest import no_serious_violations, screenshot
from tests.web.plant import BAG_GTIN, SET_GTIN, Plant
from tests.web.test_desk_pages import sign_in


@pytest.mark.req("URS-075", "URS-073")
def test_a_clerk_reads_a_supplier_label_sees_the_warning_and_receives(
    plant: Plant, page: Page, request: pytest.FixtureRequest
) -> None:
    qa = plant.person("qa1", "qa")
    warehouse = plant.person("warehouse1", "warehouse")
    plant.component_type(qa, "BAG-500", BAG_GTIN)
    expiry = site_today() + timedelta(days=400)
    earlier = plant.lot(warehouse, "BAG-500", "SUP-77", expiry=expiry)
    made = date(2026, 1, 15)
    # (10) is variable-length and followed by (11): the scanner ends it with GS.
    label = f"]C101{BAG_GTIN}17{yymmdd(expiry)}10SUP-77{GS}11{yymmdd(made)}"

    sign_in(page, f"{plant.base}/receiving", "warehouse1")
    expect(page.get_by_role("heading", name="Receiving")).to_be_visible()
    page.get_by_label("Supplier label (scan)").focus()
    page.keyboard.type(label)
    page.keyboard.press("Enter")
    read = page.locator("#read")
    expect(read).to_contain_text("BAG-500")
    expect(read).to_contain_text(BAG_GTIN)
    expect(read).to_contain_text("SUP-77")
    expect(read).to_contain_text(expiry.isoformat())
    expect(read).to_contain_text(made.isoformat())
    expect(read.get_by_role("alert")).to_contain_text(f"received before as '{earlier['code']}'")
    assert plant.call("GET", "/lots", warehouse.headers)["total"] == 1  # nothing written yet
    screenshot(page, "receiving-read", request)
    no_serious_violations(page)

    page.get_by_label("Quantity").fill("5")
    page.get_by_label("CoA reference").fill("COA-SUP-77")
    page.get_by_role("button", name="Confirm receipt").click()
    expect(page.get_by_role("status")).to_contain_text("Received lot L-000002: 5 \u00d7 BAG-500")
    label_image = page.get_by_role("img", name="Label of lot L-000002")
    expect(label_image).to_be_visible()
    png = page.request.get(f"{plant.base}/api/v1/lots/2/label?format=png")
    assert png.status == 200 and png.body().startswith(b"\x89PNG")
    lot = plant.call("GET", "/lots/2", warehouse.headers)
    assert (lot["status"], lot["quantity_received"], lot["supplier_lot"], lot["coa_ref"]) == (
        "quarantined",
        5,
        "SUP-77",
        "COA-SUP-77",
    )
    assert lot["manufactured_on"] == made.isoformat()
    screenshot(page, "receiving-received", request)
    no_serious_violations(page)


@pytest.mark.req("URS-075", negative=True)
def test_a_label_of_an_unknown_gtin_is_refused_before_anything_is_received(
    plant: Plant, page: Page
) -> None:
    warehouse = plant.person("warehouse1", "warehouse")
    sign_in(page, f"{plant.base}/receiving", "warehouse1")
    page.get_by_label("Supplier label (scan)").fill(f"]C101{BAG_GTIN}10SUP-1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text(f"GTIN {BAG_GTIN} names no component type")
    expect(page.get_by_role("button", name="Confirm receipt")).to_have_count(0)
    assert plant.call("GET", "/lots", warehouse.headers)["total"] == 0


def loaded(image: Locator) -> bool:
    """Whether the browser drew the image (a PNG the service answered); it loads when seen."""
    image.scroll_into_view_if_needed()
    expect(image).to_have_js_property("complete", True)  # drawn, or broken
    return bool(image.evaluate("i => i.naturalWidth > 0"))


@pytest.mark.req("URS-079", "URS-073")
def test_a_clerk_registers_units_sees_their_labels_and_downloads_a_sheet(
    plant: Plant, page: Page, request: pytest.FixtureRequest
) -> None:
    qa = plant.person("qa1", "qa")
    warehouse = plant.person("warehouse1", "warehouse")
    plant.component_type(qa, "SET-S", SET_GTIN, tracking="serial")
    expiry = site_today() + timedelta(days=300)
    # The shipment's label carries the first unit's serial (21), ended by GS before (30).
    label = f"]C101{SET_GTIN}17{yymmdd(expiry)}10SUP-9{GS}21SN-1{GS}304"

    sign_in(page, f"{plant.base}/receiving", "warehouse1")
    page.get_by_label("Supplier label (scan)").focus()
    page.keyboard.type(label)
    page.keyboard.press("Enter")
    expect(page.locator("#read")).to_contain_text("SN-1")
    expect(page.get_by_label("Quantity")).to_have_value("4")  # the label's count (30)
    page.get_by_role("button", name="Confirm receipt").click()
    expect(page.get_by_role("status")).to_contain_text("Received lot L-000001: 4 \u00d7 SET-S")
    units = page.locator("#units")
    expect(units.get_by_role("heading")).to_have_text("Units: 1 of 4 registered")
    serials = page.get_by_label("Serials, one a line")
    expect(serials).to_be_focused()  # the next step has the keyboard

    # A unit label of another part is refused, naming it; nothing is registered.
    page.keyboard.type(f"]d201{BAG_GTIN}21X-1")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text(f"GTIN {BAG_GTIN}, not {SET_GTIN}")
    expect(units.get_by_role("heading")).to_have_text("Units: 1 of 4 registered")

    # Serials as a scanner reads them off the units' own labels (GS as Ctrl+]), and one typed.
    serials.focus()
    page.keyboard.type(f"]d201{SET_GTIN}21SN-2")
    page.keyboard.press("Control+BracketRight")
    page.keyboard.type("10SUP-9\nSN-3\n")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Registered 2 units of lot L-000001")
    no_serious_violations(page)
    # And the last one by count, without a serial.
    page.get_by_label("or a number of units").fill("1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Registered 1 unit of lot L-000001")
    expect(units.get_by_role("heading")).to_have_text("Units: 4 of 4 registered")
    expect(page.get_by_role("button", name="Register units")).to_have_count(0)  # no room left
    made = plant.call("GET", "/lots/1/units", warehouse.headers)["items"]
    assert [u["serial"] for u in made] == ["SN-1", "SN-2", "SN-3", None]
    barcodes = [u["barcode"] for u in made]
    for barcode in barcodes:
        image = page.get_by_role("img", name=f"Label of unit {barcode}")
        expect(image).to_be_visible()
        assert loaded(image), barcode
    screenshot(page, "receiving-units", request)
    no_serious_violations(page)

    # The PDF sheet of every unit not labelled yet, from the keyboard.
    page.get_by_role("combobox", name=re.compile("^Labels")).focus()
    page.keyboard.press("Tab")  # past the copies, which are for lot labels
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF sheet").press("Enter")
    sheet = download.value
    pdf = Path(sheet.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert pdf.count(b"/Subtype /Image") == 4  # four different labels, one image each
    job = int(sheet.suggested_filename.removeprefix("labels-L-000001-").removesuffix(".pdf"))
    printed = plant.call("GET", f"/print-jobs/{job}", warehouse.headers)
    assert (printed["output"], printed["kind"], printed["units"]) == ("pdf", "unit", barcodes)
    labels = plant.call("GET", "/lots/1/labels", warehouse.headers)
    assert sorted(label["unit"] for label in labels["labels"]) == sorted(barcodes)

    # Asked again, there is nothing left to print: said on the page, no file.
    page.get_by_role("button", name="Download PDF sheet").click()
    expect(page.get_by_role("alert")).to_contain_text("has a label already")
