"""QA overrides a blocked scan as a signed deviation; an auditor filters the audit trail by user
and time and walks a batch's genealogy tree down to a lot and its where-used, in a real
browser."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from tests.support import KIT_GTIN, PASSWORD, site_today
from tests.web.conftest import no_serious_violations, screenshot
from tests.web.plant import BAG_GTIN, Plant
from tests.web.test_desk_pages import sign_in


@pytest.mark.req("URS-080")
def test_qa_overrides_a_blocked_scan_with_a_signature(
    plant: Plant, page: Page, request: pytest.FixtureRequest
) -> None:
    qa, warehouse, supervisor, operator = plant.line_staff()
    plant.component_type(qa, "BAG-500", BAG_GTIN)
    lot = plant.lot(warehouse, "BAG-500", "SL-Q")  # quarantined: a scan of it is blocked
    plant.batch(supervisor, "B-5", [{"component_type": "BAG-500", "quantity": 1}])
    scan = {"barcode": lot["code"], "batch": "B-5", "station": "LINE-1"}
    blocked = plant.call("POST", "/scans", operator.headers, 409, json=scan)
    plant.call("POST", "/scans", operator.headers, 404, json={**scan, "barcode": "NOTHING-1"})

    sign_in(page, f"{plant.base}/qa", "qa1")
    page.get_by_role("link", name="Blocked scans").click()
    expect(page.get_by_role("heading", name="QA desk: blocked scans")).to_be_visible()
    cards = page.locator("section.card")
    expect(cards).to_have_count(1)  # the unknown barcode names nothing to accept
    card = cards.first
    expect(card).to_contain_text(f"Scan {blocked['scan_id']}")
    expect(card).to_contain_text("QUARANTINED")
    expect(card).to_contain_text("operator1 at LINE-1")
    screenshot(page, "qa-overrides", request)
    no_serious_violations(page)

    card.get_by_label("Deviation reference").fill("DEV-2026-014")
    card.get_by_label("Reason").fill("Inspection passed; release paperwork pending")
    card.get_by_label("Your password (signature)").fill("not my password at all")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("password")
    expect(cards).to_have_count(1)
    no_serious_violations(page)
    assert plant.call("GET", f"/lots/{lot['id']}", qa.headers)["quantity_left"] == 10

    card = cards.first
    card.get_by_label("Deviation reference").fill("DEV-2026-014")
    card.get_by_label("Reason").fill("Inspection passed; release paperwork pending")
    card.get_by_label("Your password (signature)").fill(PASSWORD)
    card.get_by_role("button", name="Sign override").click()
    expect(page.get_by_role("status")).to_contain_text(
        "into batch B-5 is accepted as deviation DEV-2026-014, signed by qa1"
    )
    expect(page.get_by_text("No blocked scan is waiting for a decision.")).to_be_visible()
    no_serious_violations(page)

    page.get_by_role("link", name="See batch B-5").click()
    expect(page.get_by_role("heading", name="Batch B-5")).to_be_visible()
    deviation = "deviation DEV-2026-014 (QUARANTINED, signed by qa1)"
    expect(page.locator(".tree")).to_contain_text(deviation)

    flags = plant.call("GET", "/batches/B-5/flags", qa.headers)["items"]
    assert [(f["code"], f["deviation_ref"], f["resolved_by"]) for f in flags] == [
        ("QUARANTINED", "DEV-2026-014", "qa1")
    ]
    events = plant.call(
        "GET", "/audit", qa.headers, params={"action": "scan.override", "actor": "qa1"}
    )["items"]
    assert [(e["entity_id"], e["signature"]["meaning"]) for e in events] == [
        (str(blocked["scan_id"]), "Deviation approved")
    ]


def _second() -> datetime:
    """Now to the second, once the clock has moved past the last write by more than that."""
    time.sleep(1.2)
    return datetime.now(UTC).replace(microsecond=0)


@pytest.mark.req("URS-081")
def test_an_auditor_filters_the_trail_by_user_and_time(
    plant: Plant, page: Page, request: pytest.FixtureRequest
) -> None:
    qa = plant.person("qa1", "qa")
    warehouse = plant.person("warehouse1", "warehouse")
    plant.person("auditor1", "auditor")
    plant.component_type(qa, "BAG-500", BAG_GTIN)
    before = plant.release(qa, plant.lot(warehouse, "BAG-500", "SL-A")["id"])
    since = _second()
    inside = plant.release(qa, plant.lot(warehouse, "BAG-500", "SL-B")["id"])
    until = _second()
    plant.release(qa, plant.lot(warehouse, "BAG-500", "SL-C")["id"])

    sign_in(page, f"{plant.base}/audit-view", "auditor1")
    page.get_by_role("link", name="Audit trail by entity, user and time").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    page.get_by_label("User", exact=True).fill("qa1")
    page.get_by_label("From (UTC)").fill(since.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_label("Until (UTC)").fill(until.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Filter").click()
    # Each filter is a page load: read the rows only once the filtered page is the one shown.
    page.wait_for_url(re.compile(r"[?&]actor=qa1"))
    rows = page.locator("table.trail tbody tr")
    expect(rows.first).to_be_visible()
    entities = rows.locator("td:nth-child(5)")
    users = rows.locator("td:nth-child(3)")
    assert set(users.all_inner_texts()) == {"qa1"}
    assert set(entities.all_inner_texts()) == {f"lot {inside['id']}"}, entities.all_inner_texts()
    expect(page.get_by_label("User", exact=True)).to_have_value("qa1")  # the filter stays shown
    screenshot(page, "audit-trail", request)
    no_serious_violations(page)

    # The same filters as the API's CSV, with the auditor's own sign-in.
    href = page.get_by_role("link", name="These events (CSV)").get_attribute("href")
    got = page.request.get(f"{plant.base}{href}")
    assert got.status == 200
    table = list(csv.DictReader(io.StringIO(got.text())))
    assert table and {(r["actor"], r["entity_id"]) for r in table} == {("qa1", str(inside["id"]))}

    # By entity: the first lot's whole story, its receipt by the warehouse and QA's release.
    page.get_by_role("link", name="Clear").click()
    page.wait_for_url(re.compile(r"/audit-view/trail$"))
    page.get_by_label("Entity", exact=True).select_option("lot")
    page.get_by_label("Entity id, number or barcode").fill(str(before["id"]))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"[?&]entity_id={before['id']}(&|$)"))
    expect(rows.first).to_be_visible()
    assert set(entities.all_inner_texts()) == {f"lot {before['id']}"}  # not B's, not C's
    assert {"qa1", "warehouse1"} <= set(users.all_inner_texts())

    # A time that is not one is said in words.
    page.goto(f"{plant.base}/audit-view/trail?since=yesterday")
    expect(page.get_by_role("alert")).to_contain_text("'yesterday' is not a date and time")


@pytest.mark.req("URS-081")
def test_an_auditor_opens_a_batchs_tree_down_to_a_lot_and_its_where_used(
    plant: Plant, page: Page, request: pytest.FixtureRequest
) -> None:
    qa, warehouse, supervisor, operator = plant.line_staff()
    plant.person("auditor1", "auditor")
    plant.component_type(qa, "BAG-500", BAG_GTIN)
    plant.component_type(qa, "CELLS", KIT_GTIN)
    bag = plant.release(qa, plant.lot(warehouse, "BAG-500", "SL-BAG")["id"])
    plant.batch(supervisor, "B-1", [{"component_type": "BAG-500", "quantity": 1}])
    scan = {"barcode": bag["code"], "batch": "B-1", "station": "LINE-1"}
    plant.call("POST", "/scans", operator.headers, 201, json=scan)
    output = {
        "component_type": "CELLS",
        "supplier_lot": "B-1-OUT",
        "coa_ref": "COA-B-1-OUT",
        "quantity": 1,
        "expiry_date": site_today().replace(year=site_today().year + 1).isoformat(),
    }
    made = plant.call("POST", "/batches/B-1/outputs", supervisor.headers, 201, json=output)
    plant.release(qa, made["id"])
    plant.batch(supervisor, "B-2", [{"component_type": "CELLS", "quantity": 1}])
    scan = {"barcode": made["code"], "batch": "B-2", "station": "LINE-2"}
    plant.call("POST", "/scans", operator.headers, 201, json=scan)

    sign_in(page, f"{plant.base}/audit-view", "auditor1")
    page.get_by_label("Barcode, lot code, supplier lot, batch or COI").fill("B-2")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Batch B-2")).to_be_visible()
    tree = page.locator("ul.tree")
    expect(tree.get_by_role("link", name=made["code"])).to_be_hidden()  # closed at first
    expect(tree.get_by_role("link", name=bag["code"])).to_be_hidden()

    # By keyboard: each branch opens with Enter on its summary.
    top = tree.locator("summary", has_text=f"Lot {made['code']}: made by batch B-1")
    top.focus()
    page.keyboard.press("Enter")
    expect(tree.get_by_role("link", name=made["code"])).to_be_visible()
    inner = tree.locator("summary", has_text="Batch B-1: 1 item used")
    inner.focus()
    page.keyboard.press("Enter")
    link = tree.get_by_role("link", name=bag["code"])
    expect(link).to_be_visible()
    expect(tree.get_by_role("link", name="B-1")).to_be_visible()
    screenshot(page, "audit-genealogy-tree", request)
    no_serious_violations(page)

    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Lot {bag['code']}")).to_be_visible()
    used = page.locator("table tbody tr")
    expect(used).to_have_count(2)  # directly in B-1, and in B-2 through B-1's output
    expect(used.filter(has_text="B-2")).to_contain_text(made["code"])
    no_serious_violations(page)
    page.get_by_role("link", name="Its audit trail").click()
    expect(page.get_by_label("Entity id, number or barcode")).to_have_value(str(bag["id"]))
    expect(page.locator("table.trail tbody")).to_contain_text("warehouse1")


@pytest.mark.req("URS-074")
def test_qa_resolves_two_flags_under_one_signature(plant: Plant, page: Page) -> None:
    qa, warehouse, supervisor, operator = plant.line_staff()
    plant.component_type(qa, "BAG-500", BAG_GTIN)
    lot = plant.release(qa, plant.lot(warehouse, "BAG-500", "SL-F")["id"])
    for number in ("B-11", "B-12"):
        plant.batch(supervisor, number, [{"component_type": "BAG-500", "quantity": 1}])
        scan = {"barcode": lot["code"], "batch": number, "station": "LINE-1"}
        plant.call("POST", "/scans", operator.headers, 201, json=scan)
    quarantine = {
        "status": "quarantined",
        "reason": "Supplier complaint under review",
        "signature": {"password": PASSWORD, "meaning": "Quarantined"},
    }
    plant.call("POST", f"/lots/{lot['id']}/status", qa.headers, json=quarantine)

    sign_in(page, f"{plant.base}/qa/flags", "qa1")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    for row in rows.all():
        row.get_by_role("checkbox").check()
    page.get_by_label("Investigation and outcome").fill("Complaint closed; lots conform")
    page.get_by_label("Your password (signature)").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("2 flags resolved, signed by qa1")
    expect(page.get_by_text("No open flags.")).to_be_visible()
    flags = plant.call("GET", "/flags", qa.headers)["items"]
    assert sorted((f["batch"], f["status"], f["resolved_by"]) for f in flags) == [
        ("B-11", "resolved", "qa1"),
        ("B-12", "resolved", "qa1"),
    ]
    assert {f["resolution"]["reason"] for f in flags} == {"Complaint closed; lots conform"}
