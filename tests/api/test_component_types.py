"""Component types over HTTP: QA registers and corrects them, with GTINs checked and audited."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import ADMIN_HEADERS, Actors, assert_problem, audit_events, audit_seq

GTIN = "10614141000729"
BAG = {
    "code": "BAG-2L",
    "name": "Bioreactor bag 2 L",
    "category": "bag",
    "tracking": "serial",
    "risk": "high",
    "gtin": GTIN,
    "manufacturer": "Acme Bioprocess",
    "catalog_number": "AB-2000",
}


async def _type_total(client: httpx.AsyncClient) -> int:
    r = await client.get("/component-types", headers=ADMIN_HEADERS)
    assert r.status_code == 200, r.text
    total: int = r.json()["total"]
    return total


@pytest.mark.req("URS-005", "URS-038")
async def test_qa_creates_a_type_with_defaults_and_one_audit_event(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa = await actors.get("qa")
    r = await client.post("/component-types", json=BAG, headers=qa.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["code"] == "BAG-2L" and body["gtin"] == GTIN
    assert body["tracking"] == "serial" and body["risk"] == "high"
    assert body["has_expiry"] is True
    assert body["expiry_warning_days"] == 30
    assert body["is_assembly"] is False and body["hold_hours"] is None
    assert body["created_by"] == qa.username

    operator = await actors.get("operator")
    r = await client.get("/component-types/BAG-2L", headers=operator.headers)
    assert r.status_code == 200 and r.json() == body
    r = await client.get("/component-types", headers=operator.headers)
    assert r.json() == {"items": [body], "total": 1}

    events = await audit_events(client, "component_type", "BAG-2L", qa.headers)
    assert len(events) == 1
    event = events[0]
    assert event["action"] == "component_type.create" and event["actor"] == qa.username
    assert event["before"] is None and event["after"] == body


@pytest.mark.parametrize("role", ["warehouse", "operator", "supervisor", "auditor"])
@pytest.mark.req("URS-005", "URS-046", negative=True)
async def test_only_qa_creates_types(client: httpx.AsyncClient, actors: Actors, role: str) -> None:
    other = await actors.get(role)
    head = await audit_seq(client)
    r = await client.post("/component-types", json=BAG, headers=other.headers)
    assert_problem(r, 403, "ROLE_NOT_ALLOWED")
    r = await client.post("/component-types", json=BAG, headers=ADMIN_HEADERS)
    assert_problem(r, 403, "ROLE_NOT_ALLOWED")
    assert await _type_total(client) == 0
    assert await audit_seq(client) == head


@pytest.mark.parametrize(
    ("short", "stored"),
    [
        ("012345678905", "00012345678905"),  # GTIN-12 (UPC-A)
        ("4006381333931", "04006381333931"),  # GTIN-13 (EAN-13)
        ("96385074", "00000096385074"),  # GTIN-8
    ],
)
@pytest.mark.req("URS-005")
async def test_gtin_is_stored_in_its_14_digit_form(
    client: httpx.AsyncClient, actors: Actors, short: str, stored: str
) -> None:
    qa = await actors.get("qa")
    r = await client.post("/component-types", json={**BAG, "gtin": short}, headers=qa.headers)
    assert r.status_code == 201, r.text
    assert r.json()["gtin"] == stored


@pytest.mark.parametrize(
    "gtin",
    [
        "10614141000720",  # wrong check digit
        "4006381333932",  # wrong check digit, GTIN-13
        "00000000000000",  # all zeros
        "1061414100072",  # 13 digits that are not a GTIN-13
        "106141410007299",  # 15 digits
        "1061414100072X",
        "",
    ],
)
@pytest.mark.req("URS-005", "URS-006", negative=True)
async def test_bad_gtin_is_422_and_writes_nothing(
    client: httpx.AsyncClient, actors: Actors, gtin: str
) -> None:
    qa = await actors.get("qa")
    head = await audit_seq(client)
    r = await client.post("/component-types", json={**BAG, "gtin": gtin}, headers=qa.headers)
    body = assert_problem(r, 422, "VALIDATION_ERROR")
    assert any(e["field"] == "gtin" for e in body.get("errors", [])), body
    assert await _type_total(client) == 0
    assert await audit_seq(client) == head


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", ""),
        ("code", "has space"),
        ("code", "x" * 65),
        ("name", "x" * 201),
        ("name", "Bag\x00"),
        ("name", "   "),
        ("category", "c" * 101),
        ("tracking", "batch"),
        ("risk", "extreme"),
        ("expiry_warning_days", -1),
        ("hold_hours", 24),  # not an assembly type
        ("manufacturer", "line\nbreak"),
    ],
)
@pytest.mark.req("URS-005", "URS-006", negative=True)
async def test_bad_fields_are_422(
    client: httpx.AsyncClient, actors: Actors, field: str, value: Any
) -> None:
    qa = await actors.get("qa")
    head = await audit_seq(client)
    r = await client.post("/component-types", json={**BAG, field: value}, headers=qa.headers)
    body = assert_problem(r, 422, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == field, body
    assert await _type_total(client) == 0
    assert await audit_seq(client) == head


@pytest.mark.req("URS-005", negative=True)
async def test_duplicate_code_or_gtin_is_409(client: httpx.AsyncClient, actors: Actors) -> None:
    qa = await actors.get("qa")
    assert (await client.post("/component-types", json=BAG, headers=qa.headers)).status_code == 201
    head = await audit_seq(client)
    same_code = {**BAG, "gtin": "00614141003198"}
    assert_problem(
        await client.post("/component-types", json=same_code, headers=qa.headers),
        409,
        "ALREADY_EXISTS",
    )
    same_gtin = {**BAG, "code": "BAG-2L-B"}
    body = assert_problem(
        await client.post("/component-types", json=same_gtin, headers=qa.headers),
        409,
        "ALREADY_EXISTS",
    )
    assert "BAG-2L" in body["detail"]
    # The same GTIN written in a shorter form is still the same GTIN.
    r = await client.post(
        "/component-types",
        json={**BAG, "code": "SET-1", "gtin": "00614141003198"},
        headers=qa.headers,
    )
    assert r.status_code == 201, r.text
    head = await audit_seq(client)
    shorter = {**BAG, "code": "SET-2", "gtin": "614141003198"}
    assert_problem(
        await client.post("/component-types", json=shorter, headers=qa.headers),
        409,
        "ALREADY_EXISTS",
    )
    assert await _type_total(client) == 2
    assert await audit_seq(client) == head


@pytest.mark.req("URS-005", "URS-042", "URS-038")
async def test_signed_correction_keeps_before_and_after(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa = await actors.get("qa")
    await client.post("/component-types", json=BAG, headers=qa.headers)
    original = (await client.get("/component-types/BAG-2L", headers=qa.headers)).json()
    r = await client.post(
        "/component-types/BAG-2L/correct",
        json={
            "changes": {"name": "Bioreactor bag 2 L, gamma", "expiry_warning_days": 60},
            "reason": "Name per supplier spec rev C",
            "signature": qa.signature("Corrected"),
        },
        headers=qa.headers,
    )
    assert r.status_code == 200, r.text
    corrected = r.json()
    assert corrected["name"] == "Bioreactor bag 2 L, gamma"
    assert corrected["expiry_warning_days"] == 60
    assert {k: v for k, v in corrected.items() if k not in ("name", "expiry_warning_days")} == {
        k: v for k, v in original.items() if k not in ("name", "expiry_warning_days")
    }
    assert (await client.get("/component-types/BAG-2L", headers=qa.headers)).json() == corrected

    events = await audit_events(client, "component_type", "BAG-2L", qa.headers)
    assert [e["action"] for e in events] == ["component_type.correct", "component_type.create"]
    event = events[0]
    assert event["before"] == original and event["after"] == corrected
    assert event["reason"] == "Name per supplier spec rev C"
    signature = event["signature"]
    assert signature["username"] == qa.username and signature["meaning"] == "Corrected"
    assert signature["full_name"] == "Test Qa1"
    assert len(signature["record_hash"]) == 64


@pytest.mark.req("URS-005", negative=True)
async def test_correcting_the_gtin_is_checked(client: httpx.AsyncClient, actors: Actors) -> None:
    qa = await actors.get("qa")
    await client.post("/component-types", json=BAG, headers=qa.headers)
    await client.post(
        "/component-types",
        json={**BAG, "code": "SET-1", "gtin": "00614141003198"},
        headers=qa.headers,
    )
    head = await audit_seq(client)

    async def correct(changes: dict[str, Any]) -> httpx.Response:
        return await client.post(
            "/component-types/SET-1/correct",
            json={"changes": changes, "reason": "fix", "signature": qa.signature()},
            headers=qa.headers,
        )

    assert_problem(await correct({"gtin": "00614141003190"}), 422, "VALIDATION_ERROR")
    assert_problem(await correct({"gtin": GTIN}), 409, "ALREADY_EXISTS")
    assert_problem(await correct({"code": "SET-9"}), 422, "VALIDATION_ERROR")
    assert_problem(await correct({"tracking": "lot"}), 422, "VALIDATION_ERROR")
    assert_problem(await correct({"name": None}), 422, "INVALID")
    assert_problem(await correct({}), 422, "NO_CHANGES")
    assert await audit_seq(client) == head
    r = await client.get("/component-types/SET-1", headers=qa.headers)
    assert r.json()["gtin"] == "00614141003198" and r.json()["tracking"] == "serial"
    r = await correct({"gtin": "09506000134352"})
    assert r.status_code == 200 and r.json()["gtin"] == "09506000134352"


@pytest.mark.req("URS-043", "URS-005", negative=True)
async def test_wrong_signature_is_403_recorded_and_changes_nothing(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa = await actors.get("qa")
    await client.post("/component-types", json=BAG, headers=qa.headers)
    before = (await client.get("/component-types/BAG-2L", headers=qa.headers)).json()
    head = await audit_seq(client)
    r = await client.post(
        "/component-types/BAG-2L/correct",
        json={
            "changes": {"name": "Renamed"},
            "reason": "typo",
            "signature": qa.signature("Corrected", password="not my password at all"),
        },
        headers=qa.headers,
    )
    assert_problem(r, 403, "SIGNATURE_INVALID")
    assert (await client.get("/component-types/BAG-2L", headers=qa.headers)).json() == before
    # The refusal is a record: exactly one event, on the signer, and none on the type.
    assert await audit_seq(client) == head + 1
    failures = await audit_events(client, "user", qa.username, qa.headers)
    assert failures[0]["action"] == "signature.fail" and failures[0]["seq"] == head + 1
    events = await audit_events(client, "component_type", "BAG-2L", qa.headers)
    assert [e["action"] for e in events] == ["component_type.create"]


@pytest.mark.req("URS-005", "URS-046", negative=True)
async def test_only_qa_corrects(client: httpx.AsyncClient, actors: Actors) -> None:
    qa = await actors.get("qa")
    warehouse = await actors.get("warehouse")
    await client.post("/component-types", json=BAG, headers=qa.headers)
    head = await audit_seq(client)
    r = await client.post(
        "/component-types/BAG-2L/correct",
        json={"changes": {"name": "x"}, "reason": "x", "signature": warehouse.signature()},
        headers=warehouse.headers,
    )
    assert_problem(r, 403, "ROLE_NOT_ALLOWED")
    assert await audit_seq(client) == head


@pytest.mark.req("URS-005", "URS-006", negative=True)
async def test_unknown_type_is_404(client: httpx.AsyncClient, actors: Actors) -> None:
    qa = await actors.get("qa")
    head = await audit_seq(client)
    assert_problem(
        await client.get("/component-types/NOPE", headers=qa.headers),
        404,
        "COMPONENT_TYPE_NOT_FOUND",
    )
    body = {"changes": {"name": "x"}, "reason": "x", "signature": qa.signature()}
    r = await client.post("/component-types/NOPE/correct", json=body, headers=qa.headers)
    assert_problem(r, 404, "COMPONENT_TYPE_NOT_FOUND")
    # 404 (what the path names) comes before 422 (the body).
    r = await client.post("/component-types/NOPE/correct", json={}, headers=qa.headers)
    assert_problem(r, 404, "COMPONENT_TYPE_NOT_FOUND")
    assert await audit_seq(client) == head
