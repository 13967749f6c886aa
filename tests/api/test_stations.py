"""People at shared stations: enrolment once, disabling, badge + PIN, the PIN lockout, lost
badges, one person per station, the station and person on scans and in the audit, and
signatures by badge + PIN."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.test_audit import all_events, auditor_verify
from tests.browsers import PIN, Browsers, badge_in, give_badge
from tests.support import (
    ADMIN_HEADERS,
    INSPECTION_OK,
    SET_GTIN,
    Actors,
    assert_problem,
    audit_seq,
    create_batch,
    create_type,
    events_since,
    line_staff,
    lot_label,
    receive_lot,
    released_lot,
)


@pytest.mark.req("URS-054")
async def test_a_station_enrols_once_with_its_code(
    client: httpx.AsyncClient, browsers: Browsers
) -> None:
    r = await client.post(
        "/stations",
        json={"name": "LINE-1", "location": "Cleanroom B", "kind": "line"},
        headers=ADMIN_HEADERS,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["station"]["enrolled"] is False
    code = created["enrolment"]["code"]
    first, second = browsers.new(), browsers.new()
    r = await first.client.post("/station/enrol", json={"code": code})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith("sutrace_station=") and "httponly" in cookie
    assert "samesite=strict" in cookie
    assert r.json()["station"]["enrolled"] is True
    assert_problem(
        await second.client.post("/station/enrol", json={"code": code}), 401, "ENROLMENT_INVALID"
    )
    r = await first.client.get("/station")
    assert r.json()["station"]["name"] == "LINE-1" and r.json()["signed_in"] is None
    assert_problem(await second.client.get("/station"), 401, "STATION_REQUIRED")
    assert_problem(
        await client.post(
            "/stations",
            json={"name": "LINE-1", "location": "x", "kind": "line"},
            headers=ADMIN_HEADERS,
        ),
        409,
        "ALREADY_EXISTS",
    )
    r = await client.get("/audit", params={"entity_type": "station"}, headers=ADMIN_HEADERS)
    enrol = next(e for e in r.json()["items"] if e["action"] == "station.enrol")
    assert enrol["credential"] == {"kind": "station", "station": "LINE-1"}


@pytest.mark.req("URS-054")
async def test_badge_then_pin_signs_in_and_a_disabled_station_stops_at_once(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    operator = await actors.get("operator")
    badge = await give_badge(client, operator, "04:A2:19:7F")
    assert badge["label"] == "…9:7F" and "04:A2" not in str(badge)
    station = await browsers.station()
    r = await badge_in(station, "04:A2:19:7F")
    assert r.status_code == 201, r.text
    assert r.json()["session"]["station"] == "LINE-1"
    assert r.json()["session"]["method"] == "badge_pin"
    assert (await station.client.get("/me")).json()["username"] == "operator1"
    assert (await station.client.get("/station")).json()["signed_in"] == "operator1"
    # The station's session is valid only beside the station's credential.
    elsewhere = browsers.new()
    elsewhere.client.cookies.set(
        "sutrace_session", station.client.cookies.get("sutrace_session") or ""
    )
    assert_problem(await elsewhere.client.get("/me"), 401, "STATION_INVALID")
    # A password sign-in is refused in a station's browser.
    r = await station.client.post(
        "/sessions", json={"username": "operator1", "password": operator.password}
    )
    assert_problem(r, 403, "USE_BADGE_AT_STATION")

    r = await client.post("/stations/LINE-1/disable", headers=ADMIN_HEADERS)
    assert r.status_code == 200 and r.json()["disabled_at"]
    assert_problem(await station.client.get("/me"), 401, "SESSION_ENDED")
    assert_problem(await station.client.get("/station"), 401, "STATION_INVALID")
    assert_problem(await badge_in(station, "04:A2:19:7F"), 401, "STATION_INVALID")
    # A new code brings the station back; the old credential stays dead.
    code = (await client.post("/stations/LINE-1/enrolment", headers=ADMIN_HEADERS)).json()["code"]
    assert_problem(await station.client.get("/station"), 401, "STATION_INVALID")
    again = browsers.new()
    assert (await again.client.post("/station/enrol", json={"code": code})).status_code == 200


@pytest.mark.req("URS-054", negative=True)
async def test_wrong_pins_lock_the_pin_and_are_recorded(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    operator = await actors.get("operator")
    await give_badge(client, operator, "BADGE-0001")
    station = await browsers.station()
    for _ in range(5):
        assert_problem(await badge_in(station, "BADGE-0001", "0000"), 401, "PIN_INVALID")
    assert_problem(await badge_in(station, "BADGE-0001", PIN), 401, "PIN_LOCKED")
    r = await client.get(
        "/audit", params={"entity_type": "user", "entity_id": "operator1"}, headers=ADMIN_HEADERS
    )
    failures = [e for e in r.json()["items"] if e["action"].startswith("pin.")]
    assert [e["action"] for e in failures].count("pin.fail") == 4
    assert [e["action"] for e in failures].count("pin.lockout") == 1
    assert all(
        e["credential"]["kind"] == "station" and e["credential"]["station"] == "LINE-1"
        for e in failures
    )
    # The password is a separate secret: it still works at a desk.
    await browsers.signed_in(operator)
    assert (await client.post("/users/operator1/unlock", headers=ADMIN_HEADERS)).status_code == 200
    assert (await badge_in(station, "BADGE-0001")).status_code == 201


@pytest.mark.req("URS-054", negative=True)
async def test_a_lost_badge_is_revoked_at_once_and_its_use_recorded(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    operator = await actors.get("operator")
    badge = await give_badge(client, operator, "BADGE-LOST")
    station = await browsers.station()
    assert (await badge_in(station, "BADGE-LOST")).status_code == 201
    r = await client.post(
        f"/badges/{badge['id']}/revoke",
        json={"reason": "Reported lost in the changing room"},
        headers=ADMIN_HEADERS,
    )
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert_problem(await station.client.get("/me"), 401, "SESSION_ENDED")
    head = await audit_seq(client)
    assert_problem(await badge_in(station, "BADGE-LOST"), 401, "BADGE_REVOKED")
    [refused] = await events_since(client, head)
    assert refused["action"] == "badge.refused" and refused["entity_id"] == str(badge["id"])
    assert refused["credential"] == {"kind": "station", "station": "LINE-1"}
    assert_problem(await badge_in(station, "NEVER-SEEN"), 401, "BADGE_UNKNOWN")
    [unknown] = await events_since(client, head + 1)
    assert unknown["action"] == "badge.unknown" and "NEVER-SEEN" not in str(unknown)
    r = await client.post(
        "/users/operator1/badges", json={"badge": "BADGE-LOST"}, headers=ADMIN_HEADERS
    )
    assert_problem(r, 409, "BADGE_TAKEN")


@pytest.mark.req("URS-054")
async def test_one_person_per_station_and_idle_sign_out(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    first, second = await actors.get("operator"), await actors.get("operator", "operator2")
    await give_badge(client, first, "BADGE-A")
    await give_badge(client, second, "BADGE-B")
    station = await browsers.station()
    assert (await badge_in(station, "BADGE-A")).status_code == 201
    first_token = station.client.cookies.get("sutrace_session") or ""
    assert (await badge_in(station, "BADGE-B")).status_code == 201
    assert (await station.client.get("/me")).json()["username"] == "operator2"
    # The first person's session ended when the second signed in, even with both cookies.
    replay = browsers.new()
    replay.client.cookies.set(
        "sutrace_station", station.client.cookies.get("sutrace_station") or ""
    )
    replay.client.cookies.set("sutrace_session", first_token)
    assert_problem(await replay.client.get("/me"), 401, "SESSION_ENDED")
    listed = (await client.get("/sessions", headers=ADMIN_HEADERS)).json()["items"]
    assert [(s["user"], s["station"]) for s in listed] == [("operator2", "LINE-1")]
    # Five minutes without a request sign the station's person out.
    app.state.clock.advance(timedelta(minutes=4))
    assert (await station.client.get("/me")).status_code == 200
    app.state.clock.advance(timedelta(minutes=6))
    assert_problem(await station.client.get("/me"), 401, "SESSION_EXPIRED")


async def _scan_line(client: httpx.AsyncClient, actors: Actors) -> tuple[Any, dict[str, Any]]:
    line = await line_staff(actors)
    await create_type(client, line.qa, "SET", tracking="lot", gtin=SET_GTIN)
    await create_batch(client, line.supervisor, "B-1")
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1", quantity=10)
    return line, lot


@pytest.mark.req("URS-054")
async def test_scans_at_a_station_carry_its_name_and_the_person(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    line, lot = await _scan_line(client, actors)
    badge = await give_badge(client, line.operator, "BADGE-OP")
    station = await browsers.station("LINE-7")
    signed_in = await badge_in(station, "BADGE-OP")
    session_id = signed_in.json()["session"]["id"]
    head = await audit_seq(client)
    scan = {"barcode": lot_label(SET_GTIN, lot), "batch": "B-1"}
    r = await station.client.post("/scans", json=scan, headers=station.headers)
    assert r.status_code == 201, r.text
    assert r.json()["station"] == "LINE-7"
    # The client's word does not decide the station.
    r = await station.client.post(
        "/scans", json={**scan, "station": "LINE-9"}, headers=station.headers
    )
    assert_problem(r, 422, "STATION_MISMATCH")
    [event] = await events_since(client, head)
    assert event["actor"] == "operator1" and event["after"]["station"] == "LINE-7"
    assert event["credential"] == {
        "kind": "station",
        "station": "LINE-7",
        "badge_id": badge["id"],
        "session_id": session_id,
    }
    # An API-key scanner client still names its station itself, as before.
    r = await client.post(
        "/scans", json={**scan, "station": "HANDHELD-2"}, headers=line.operator.headers
    )
    assert r.status_code == 201 and r.json()["station"] == "HANDHELD-2"
    r = await client.get("/batches/B-1/scans", headers=line.qa.headers)
    assert [(s["station"], s["actor"]) for s in r.json()["items"]] == [
        ("LINE-7", "operator1"),
        ("HANDHELD-2", "operator1"),
    ]
    # Events with station credentials chain and verify like any other.
    assert (await client.get("/audit/verify", headers=ADMIN_HEADERS)).json()["ok"] is True
    auditor_verify(await all_events(client))


@pytest.mark.req("URS-054")
async def test_a_signature_at_a_station_is_badge_and_pin(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    line = await line_staff(actors)
    await create_type(client, line.qa, "SET", tracking="lot", gtin=SET_GTIN)
    lot = await receive_lot(client, line.warehouse, "SET", "TS-1", coa_ref="COA-1")
    await give_badge(client, line.qa, "BADGE-QA")
    await give_badge(client, line.operator, "BADGE-OP")
    station = await browsers.station("QA-1", "qa")
    assert (await badge_in(station, "BADGE-QA")).status_code == 201
    release = {"status": "released", "reason": "CoA reviewed", "inspection": INSPECTION_OK}
    url = f"/lots/{lot['id']}/status"

    async def sign(signature: dict[str, str]) -> httpx.Response:
        body = {**release, "signature": {"meaning": "Released for use", **signature}}
        return await station.client.post(url, json=body, headers=station.headers)

    r = await sign({"password": line.qa.password})
    assert_problem(r, 422, "BADGE_AND_PIN_REQUIRED")
    assert_problem(await sign({"badge": "BADGE-OP", "pin": PIN}), 403, "SIGNATURE_INVALID")
    assert_problem(await sign({"badge": "BADGE-QA", "pin": "1111"}), 403, "SIGNATURE_INVALID")
    r = await sign({"badge": "BADGE-QA", "pin": PIN})
    assert r.status_code == 200, r.text
    signature = r.json()["release"]["signature"]
    assert signature["username"] == "qa1" and signature["components"] == ["badge", "pin"]
    assert signature["station"] == "QA-1"
    # At a desk, badge and PIN do not sign: the password does, as before.
    desk = await browsers.signed_in(line.qa)
    body = {
        "status": "quarantined",
        "reason": "Recheck",
        "signature": {"badge": "BADGE-QA", "pin": PIN, "meaning": "Quarantine"},
    }
    assert_problem(
        await desk.client.post(url, json=body, headers=desk.headers), 422, "PASSWORD_REQUIRED"
    )
    body["signature"] = {"password": line.qa.password, "meaning": "Quarantine"}
    r = await desk.client.post(url, json=body, headers=desk.headers)
    assert r.status_code == 200, r.text


@pytest.mark.req("URS-054")
async def test_people_badging_in_at_once_leave_one_person_signed_in(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    """The partial unique index decides: whatever the interleaving, one open session."""
    people = [await actors.get("operator", f"operator{i}") for i in range(1, 5)]
    for i, person in enumerate(people):
        await give_badge(client, person, f"BADGE-{i}")
    station = await browsers.station()
    for _ in range(2):
        answers = await asyncio.gather(*(badge_in(station, f"BADGE-{i}") for i in range(4)))
        assert {r.status_code for r in answers} <= {201, 409}
        assert any(r.status_code == 201 for r in answers)
        for r in answers:
            if r.status_code == 409:
                assert_problem(r, 409, "STATION_BUSY")
        listed = (await client.get("/sessions", headers=ADMIN_HEADERS)).json()["items"]
        assert [s["station"] for s in listed] == ["LINE-1"]
