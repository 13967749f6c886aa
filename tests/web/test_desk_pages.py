"""The QA desk and the auditor's view in a real browser, as QA and an auditor use them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import APIResponse, Page, expect

from tests.support import PASSWORD, site_today, yymmdd
from tests.web.conftest import no_serious_violations, screenshot
from tests.web.plant import BAG_GTIN, SET_GTIN, Plant


def sign_in(page: Page, url: str, username: str, password: str = PASSWORD) -> None:
    """Open a desk page: the sign-in page comes first, then the page itself."""
    page.goto(url)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.keyboard.press("Enter")


@pytest.mark.req("URS-071")
def test_qa_releases_the_soonest_expiring_lot_with_a_signature(
    plant: Plant, page: Page, request: pytest.FixtureRequest
) -> None:
    qa = plant.person("qa1", "qa")
    warehouse = plant.person("warehouse1", "warehouse")
    plant.component_type(qa, "BAG-500", BAG_GTIN)
    later = plant.lot(warehouse, "BAG-500", "SL-LATER", expiry=site_today() + timedelta(days=300))
    sooner = plant.lot(warehouse, "BAG-500", "SL-SOON", expiry=site_today() + timedelta(days=60))

    sign_in(page, f"{plant.base}/qa", "qa1")
    expect(page.get_by_role("heading", name="QA desk: quarantine queue")).to_be_visible()
    cards = page.locator("section.card")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text(sooner["code"])  # soonest expiry first
    expect(cards.nth(1)).to_contain_text(later["code"])
    no_serious_violations(page)
    screenshot(page, "qa-desk", request)

    card = cards.first
    for box in ("CoA reviewed", "Packaging intact", "Label correct"):
        card.get_by_label(box).check()
    card.get_by_label("Reason").fill("Incoming inspection passed")
    card.get_by_label("Your password (signature)").fill(PASSWORD)
    card.get_by_role("button", name="Sign release").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Lot {sooner['code']} is now released, signed by qa1."
    )
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(later["code"])

    lot = plant.call("GET", f"/lots/{sooner['id']}", qa.headers)
    assert lot["status"] == "released"
    assert lot["release"]["signature"]["username"] == "qa1", lot["release"]
    assert lot["release"]["inspection"] == {
        "coa_reviewed": True,
        "packaging_intact": True,
        "label_correct": True,
    }


@pytest.mark.req("URS-071", negative=True)
def test_qa_desk_refuses_a_wrong_signature_and_an_incomplete_inspection(
    plant: Plant, page: Page
) -> None:
    qa = plant.person("qa1", "qa")
    warehouse = plant.person("warehouse1", "warehouse")
    plant.component_type(qa, "BAG-500", BAG_GTIN)
    lot = plant.lot(warehouse, "BAG-500", "SL-1")
    sign_in(page, f"{plant.base}/qa", "qa1")
    card = page.locator("section.card").first
    for box in ("CoA reviewed", "Packaging intact", "Label correct"):
        card.get_by_label(box).check()
    card.get_by_label("Reason").fill("Inspection passed")
    card.get_by_label("Your password (signature)").fill("not my password at all")
    card.get_by_role("button", name="Sign release").click()
    expect(page.get_by_role("alert")).to_contain_text("password")
    card = page.locator("section.card").first
    card.get_by_label("Reason").fill("Inspection passed")
    card.get_by_label("Your password (signature)").fill(PASSWORD)
    card.get_by_role("button", name="Sign release").click()  # no inspection ticked
    expect(page.get_by_role("alert")).to_contain_text("inspection")
    expect(page.locator("section.card")).to_have_count(1)
    assert plant.call("GET", f"/lots/{lot['id']}", qa.headers)["status"] == "quarantined"


@pytest.mark.req("URS-072")
def test_an_auditor_finds_a_unit_and_follows_it_to_its_batch(
    plant: Plant, page: Page, request: pytest.FixtureRequest
) -> None:
    qa = plant.person("qa1", "qa")
    warehouse = plant.person("warehouse1", "warehouse")
    supervisor = plant.person("supervisor1", "supervisor")
    operator = plant.person("operator1", "operator")
    plant.person("auditor1", "auditor")
    plant.component_type(qa, "SET-A", SET_GTIN, tracking="serial")
    lot = plant.release(qa, plant.lot(warehouse, "SET-A", "SL-SET", quantity=3)["id"])
    unit, _, _ = plant.units(warehouse, lot["id"], 3)
    plant.batch(supervisor, "B-7", [{"component_type": "SET-A", "quantity": 1}])
    scan = {"barcode": unit, "batch": "B-7", "station": "HANDHELD-2"}
    plant.call("POST", "/scans", operator.headers, 201, json=scan)

    sign_in(page, f"{plant.base}/audit-view", "auditor1")
    expect(page.get_by_role("heading", name="Auditor's view")).to_be_visible()
    page.get_by_label("Barcode, lot code, supplier lot, batch or COI").fill(unit)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Unit {unit}")).to_be_visible()
    history = page.locator("table tbody")
    expect(history).to_contain_text("operator1")
    expect(history).to_contain_text("B-7")
    screenshot(page, "audit-unit-history", request)
    no_serious_violations(page)

    page.get_by_role("link", name=lot["code"]).first.click()
    expect(page.get_by_role("heading", name=f"Lot {lot['code']}")).to_be_visible()
    expect(page.locator("table tbody")).to_contain_text("B-7")
    page.get_by_role("link", name="B-7").click()
    expect(page.get_by_role("heading", name="Batch B-7")).to_be_visible()
    expect(page.get_by_role("link", name=unit)).to_be_visible()
    page.get_by_role("button", name="Verify the chain").click()
    expect(page.locator("#verify")).to_contain_text("Chain verified")
    screenshot(page, "audit-batch-genealogy", request)
    no_serious_violations(page)

    # The downloads, with the auditor's own sign-in (the browser's cookies).
    def download(link: str) -> APIResponse:
        href = page.get_by_role("link", name=link).get_attribute("href")
        return page.request.get(f"{plant.base}{href}")

    pdf = download("Batch record (PDF)")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    csv = download("Genealogy (CSV)")
    assert csv.status == 200 and unit in csv.text()

    # The same search box takes the batch's COI and the supplier's lot.
    page.get_by_label("Barcode, lot code, supplier lot, batch or COI").fill("COI-B-7")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Batch B-7")).to_be_visible()
    page.get_by_label("Barcode, lot code, supplier lot, batch or COI").fill("SL-SET")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name=lot["code"])).to_be_visible()
    # A lot label scanned into the box, its GS sent as Ctrl+] as a wedge scanner does.
    box = page.get_by_label("Barcode, lot code, supplier lot, batch or COI")
    box.fill("")
    box.focus()
    page.keyboard.type(f"]C101{SET_GTIN}17{yymmdd(date.fromisoformat(lot['expiry_date']))}10SL-SET")
    page.keyboard.press("Control+BracketRight")
    page.keyboard.type(f"91{lot['code']}")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Lot {lot['code']}")).to_be_visible()


@pytest.mark.req("URS-072", negative=True)
def test_an_operator_may_not_open_the_auditors_view(plant: Plant, page: Page) -> None:
    plant.person("operator1", "operator")
    sign_in(page, f"{plant.base}/audit-view", "operator1")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("operator")
