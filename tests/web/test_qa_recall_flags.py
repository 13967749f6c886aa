"""QA follows a supplier recall to the batches it touches before signing it, then resolves the
flag it raised on the batch, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support import PASSWORD
from tests.web.conftest import no_serious_violations, screenshot
from tests.web.plant import BAG_GTIN, Plant
from tests.web.test_desk_pages import sign_in


@pytest.mark.req("URS-074", "URS-073")
def test_qa_sees_a_recalls_impact_signs_it_and_resolves_the_flag(
    plant: Plant, page: Page, request: pytest.FixtureRequest
) -> None:
    qa, warehouse, supervisor, operator = plant.line_staff()
    plant.component_type(qa, "BAG-500", BAG_GTIN)
    lot = plant.release(qa, plant.lot(warehouse, "BAG-500", "SL-R")["id"])
    plant.batch(supervisor, "B-9", [{"component_type": "BAG-500", "quantity": 2}])
    scan = {"barcode": lot["code"], "batch": "B-9", "station": "HANDHELD-1"}
    plant.call("POST", "/scans", operator.headers, 201, json=scan)

    sign_in(page, f"{plant.base}/qa/recall", "qa1")
    page.get_by_label("Component type").fill("BAG-500")
    page.get_by_label("Supplier lot").fill("SL-R")
    page.keyboard.press("Enter")
    impact = page.locator("#impact")
    expect(impact).to_contain_text(lot["code"])
    expect(impact.get_by_role("link", name="B-9")).to_be_visible()
    expect(page.get_by_role("button", name="Sign recall")).to_be_visible()
    assert plant.call("GET", f"/lots/{lot['id']}", qa.headers)["status"] == "released"
    screenshot(page, "qa-recall-impact", request)
    no_serious_violations(page)

    page.get_by_label("Supplier's notice").fill("FSN-2026-07")
    page.get_by_label("Reason").fill("Supplier reports seal failures")
    page.get_by_label("Your password (signature)").fill(PASSWORD)
    page.get_by_role("button", name="Sign recall").click()
    expect(page.get_by_role("status")).to_contain_text("signed by qa1: 1 lot recalled")
    assert plant.call("GET", f"/lots/{lot['id']}", qa.headers)["status"] == "recalled"
    page.get_by_role("link", name="B-9").click()
    expect(page.get_by_role("heading", name="Batch B-9")).to_be_visible()
    expect(page.locator(".tree")).to_contain_text("now recalled")

    page.get_by_role("link", name="Open flags").click()
    expect(page.get_by_role("heading", name="QA desk: open flags")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("B-9")
    no_serious_violations(page)
    screenshot(page, "qa-flags", request)
    rows.first.get_by_role("checkbox").check()
    page.get_by_label("Investigation and outcome").fill("Units used were inspected; no failure")
    page.get_by_label("Your password (signature)").fill(PASSWORD)
    page.get_by_role("button", name="Sign resolution").click()
    expect(page.get_by_role("status")).to_contain_text("1 flag resolved, signed by qa1")
    expect(page.get_by_text("No open flags.")).to_be_visible()
    flags = plant.call("GET", "/flags", qa.headers, params={"batch": "B-9"})["items"]
    assert [(f["status"], f["resolved_by"]) for f in flags] == [("resolved", "qa1")]


@pytest.mark.req("URS-074", negative=True)
def test_a_recall_without_a_valid_signature_changes_nothing(plant: Plant, page: Page) -> None:
    qa = plant.person("qa1", "qa")
    warehouse = plant.person("warehouse1", "warehouse")
    plant.component_type(qa, "BAG-500", BAG_GTIN)
    lot = plant.release(qa, plant.lot(warehouse, "BAG-500", "SL-R")["id"])
    sign_in(page, f"{plant.base}/qa/recall?component_type=BAG-500&supplier_lot=SL-R", "qa1")
    page.get_by_label("Supplier's notice").fill("FSN-1")
    page.get_by_label("Reason").fill("Seal failures")
    page.get_by_label("Your password (signature)").fill("wrong password entirely")
    page.get_by_role("button", name="Sign recall").click()
    expect(page.get_by_role("alert")).to_contain_text("password")
    expect(page.locator("#impact")).to_contain_text(lot["code"])  # still shown, not signed
    assert plant.call("GET", f"/lots/{lot['id']}", qa.headers)["status"] == "released"
