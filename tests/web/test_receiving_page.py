"""The receiving desk in a real browser: the clerk scans a supplier's label, sees what it says
and every warning before confirming, receives the lot and gets its label."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.support import GS, site_today, yymmdd
from tests.web.conftest import no_serious_violations, screenshot
from tests.web.plant import BAG_GTIN, Plant
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
