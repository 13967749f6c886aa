"""The scan station in a real browser: enrol, badge in, pick the batch, scan like a wedge
scanner (GS typed, and GS sent as Ctrl+]) and see green, amber and red with their reasons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.support import ADMIN_HEADERS, GS, site_today, yymmdd
from tests.web.conftest import no_serious_violations, screenshot
from tests.web.plant import BAG_GTIN, PIN, SET_GTIN, Plant


def label(gtin: str, lot: dict[str, str], prefix: str) -> tuple[str, str]:
    """Our GS1 lot label as a scanner sends it, split where the GS separator goes."""
    expiry = yymmdd(site_today().fromisoformat(lot["expiry_date"]))
    return f"{prefix}01{gtin}17{expiry}10{lot['supplier_lot']}", f"91{lot['code']}"


def badge_in(page: Page, base: str, code: str) -> None:
    page.goto(f"{base}/station")
    expect(page.get_by_role("heading", name="Enrol this station")).to_be_visible()
    page.get_by_label("Enrolment code").fill(code)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Badge in")).to_be_visible()
    page.keyboard.type("BADGE-OP-1")  # the badge field has focus, as a badge reader types
    page.keyboard.press("Enter")
    page.get_by_label("PIN").fill(PIN)
    page.keyboard.press("Enter")


@pytest.mark.req("URS-069", "URS-070", "URS-073")
def test_an_operator_badges_in_and_scans_green_amber_and_red(
    plant: Plant, page: Page, request: pytest.FixtureRequest
) -> None:
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    qa = plant.person("qa1", "qa")
    warehouse = plant.person("warehouse1", "warehouse")
    supervisor = plant.person("supervisor1", "supervisor")
    operator = plant.person("operator1", "operator")
    plant.badge(operator, "BADGE-OP-1")
    plant.component_type(qa, "BAG-500", BAG_GTIN)
    plant.component_type(qa, "SET-A", SET_GTIN)
    good = plant.release(qa, plant.lot(warehouse, "BAG-500", "SL-GOOD")["id"])
    soon = plant.release(
        qa,
        plant.lot(warehouse, "SET-A", "SL-SOON", expiry=site_today() + timedelta(days=10))["id"],
    )
    held = plant.lot(warehouse, "BAG-500", "SL-HELD")  # never released: quarantined
    plant.batch(
        supervisor,
        "B-1",
        [{"component_type": "BAG-500", "quantity": 2}, {"component_type": "SET-A", "quantity": 1}],
    )
    base = plant.base

    badge_in(page, base, plant.station_code("LINE-1"))
    expect(page.get_by_role("heading", name="Pick a batch")).to_be_visible()
    expect(page.get_by_text("Operator1 Person (operator)")).to_be_visible()
    page.get_by_role("link", name="B-1").focus()
    page.keyboard.press("Enter")
    scan = page.get_by_role("textbox", name="Scan")
    expect(scan).to_be_focused()
    screenshot(page, "station-ready", request)

    # Green: a GS1-128 label, the scanner typing GS as a character.
    first, second = label(BAG_GTIN, good, "]C1")
    page.keyboard.type(first + GS + second)
    page.keyboard.press("Enter")
    answer = page.locator("#answer")
    expect(answer).to_have_class("answer green")
    expect(answer).to_contain_text("ACCEPTED")
    expect(answer).to_contain_text("BAG-500")
    expect(answer).to_contain_text(good["code"])
    expect(answer).to_contain_text(good["expiry_date"])
    expect(page.locator("#bom tbody tr").first).to_contain_text("BAG-500")
    expect(page.locator("#bom tbody tr").first.locator("td").nth(2)).to_have_text("1")
    expect(scan).to_be_focused()
    expect(scan).to_have_value("")
    screenshot(page, "station-accepted", request)

    # Amber: a DataMatrix label whose GS arrives as Ctrl+], as a wedge scanner sends it.
    first, second = label(SET_GTIN, soon, "]d2")
    page.keyboard.type(first)
    page.keyboard.press("Control+BracketRight")
    page.keyboard.type(second)
    page.keyboard.press("Enter")
    expect(answer).to_have_class("answer amber")
    expect(answer).to_contain_text("ACCEPTED WITH WARNING")
    expect(answer).to_contain_text(f"expires on {soon['expiry_date']}")
    expect(answer).to_contain_text("use this lot first")
    screenshot(page, "station-warning", request)

    # Red: a quarantined lot in a QR code; every reason in words, and what to do next.
    first, second = label(BAG_GTIN, held, "]Q3")
    page.keyboard.type(first + GS + second)
    page.keyboard.press("Enter")
    expect(answer).to_have_class("answer red")
    expect(answer).to_contain_text("BLOCKED")
    expect(answer).to_contain_text("quarantined")
    expect(answer).to_contain_text("Call QA")
    expect(answer).to_contain_text("override")
    expect(page.locator("#recent li")).to_have_count(3)
    expect(page.locator("#recent li").first).to_contain_text("BLOCKED")
    # The BOM counts what was consumed, not the blocked attempt.
    expect(page.locator("#bom tbody tr").first.locator("td").nth(2)).to_have_text("1")
    expect(scan).to_be_focused()
    screenshot(page, "station-blocked", request)
    no_serious_violations(page)

    # Everything the page loaded came from the service itself (an air-gapped plant).
    assert fetched and all(url.startswith(plant.base + "/") for url in fetched), fetched

    # The API holds the same three scans, made by the operator at this station.
    scans = plant.call("GET", "/batches/B-1/scans", qa.headers)["items"]
    assert [(s["outcome"], s["station"], s["actor"]) for s in scans] == [
        ("accepted", "LINE-1", "operator1"),
        ("accepted", "LINE-1", "operator1"),
        ("blocked", "LINE-1", "operator1"),
    ]
    assert [f["code"] for f in scans[2]["flags"]] == ["QUARANTINED"]


@pytest.mark.req("URS-070", negative=True)
@pytest.mark.req("URS-073")
def test_a_wrong_pin_is_refused_on_the_station_screen(
    plant: Plant, page: Page, request: pytest.FixtureRequest
) -> None:
    operator = plant.person("operator1", "operator")
    plant.badge(operator, "BADGE-OP-1")
    page.goto(f"{plant.base}/")  # the start page links every page
    no_serious_violations(page)
    page.get_by_role("link", name="Scan station").click()
    page.get_by_label("Enrolment code").fill(plant.station_code("LINE-2"))
    page.keyboard.press("Enter")
    page.get_by_label("Badge").fill("BADGE-OP-1")
    page.get_by_label("PIN").fill("000000")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("PIN")
    expect(page.get_by_role("heading", name="Badge in")).to_be_visible()
    screenshot(page, "station-badge-in", request)
    no_serious_violations(page)


@pytest.mark.req("URS-078", "URS-069", "URS-073")
def test_the_checklist_follows_scans_from_elsewhere_live_until_the_session_ends(
    plant: Plant, page: Page, request: pytest.FixtureRequest
) -> None:
    qa = plant.person("qa1", "qa")
    warehouse = plant.person("warehouse1", "warehouse")
    supervisor = plant.person("supervisor1", "supervisor")
    operator = plant.person("operator1", "operator")
    elsewhere = plant.person("operator2", "operator")  # at another station, through the API
    plant.badge(operator, "BADGE-OP-1")
    plant.component_type(qa, "BAG-500", BAG_GTIN)
    lot = plant.release(qa, plant.lot(warehouse, "BAG-500", "SL-1", quantity=50)["id"])
    plant.batch(supervisor, "B-1", [{"component_type": "BAG-500", "quantity": 30}])
    plant.batch(supervisor, "B-2", [{"component_type": "BAG-500", "quantity": 30}])

    def scan_elsewhere(batch: str) -> None:
        body = {"barcode": lot["code"], "batch": batch, "station": "LINE-9"}
        plant.call("POST", "/scans", elsewhere.headers, 201, json=body)

    for _ in range(21):
        scan_elsewhere("B-1")
    badge_in(page, plant.base, plant.station_code("LINE-1"))
    page.get_by_role("link", name="B-1").focus()
    page.keyboard.press("Enter")
    scan = page.get_by_role("textbox", name="Scan")
    expect(scan).to_be_focused()
    used = page.locator("#bom tbody tr").first.locator("td").nth(2)
    expect(used).to_have_text("21")
    expect(page.locator("#recent li")).to_have_count(20)  # the last 20 of 21
    expect(page.locator("#recent-h")).to_have_text("Last scans (20 of 21)")
    page.evaluate("() => { window.sameDocument = true; }")

    scan_elsewhere("B-2")  # another batch's scan changes nothing here
    scan_elsewhere("B-1")
    expect(used).to_have_text("22")  # without a reload
    expect(page.locator("#bom tbody tr").first.locator("td").nth(4)).to_have_text("8")
    expect(page.locator("#recent-h")).to_have_text("Last scans (20 of 22)")
    expect(page.locator("#recent li")).to_have_count(20)
    expect(page.locator("#recent li").first).to_contain_text("operator2 at LINE-9")
    assert page.evaluate("() => window.sameDocument === true")
    expect(scan).to_be_focused()
    screenshot(page, "station-live", request)
    no_serious_violations(page)

    # An admin ends the operator's session elsewhere: the stream ends with it, and the screen
    # goes back to the badge form by itself (the idle time is minutes away).
    mine = [
        s
        for s in plant.call("GET", "/sessions", ADMIN_HEADERS)["items"]
        if s["station"] == "LINE-1"
    ]
    assert len(mine) == 1
    plant.call("DELETE", f"/sessions/{mine[0]['id']}", ADMIN_HEADERS, 204)
    expect(page.get_by_role("heading", name="Badge in")).to_be_visible(timeout=20_000)
    assert page.request.get(f"{plant.base}/station/live?batch=B-1").status == 204
