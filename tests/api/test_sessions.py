"""People at desks: sign-in and sign-out, expiry by the app's clock, CSRF, revocation, the
credential kinds kept apart, and admins who provision without holding anyone's credential."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.test_audit import all_events, auditor_verify
from tests.browsers import Browsers
from tests.support import (
    ADMIN_HEADERS,
    PASSWORD,
    Actors,
    assert_problem,
    audit_seq,
    events_since,
)


def _advance(app: FastAPI, minutes: float) -> None:
    app.state.clock.advance(timedelta(minutes=minutes))


@pytest.mark.req("URS-054")
async def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    await actors.get("qa")
    browser = browsers.new()
    r = await browser.client.post("/sessions", json={"username": "qa1", "password": PASSWORD})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user"]["username"] == "qa1" and body["session"]["method"] == "password"
    assert body["session"]["active"] is True and body["session"]["station"] is None
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith("sutrace_session=")
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain http here; HTTPS or COOKIE_SECURE sets it
    browser.csrf = body["csrf_token"]
    r = await browser.client.get("/me")
    assert r.json() == {"username": "qa1", "full_name": "Test Qa1", "role": "qa"}
    r = await browser.client.get("/sessions/current")
    assert r.status_code == 200 and r.json()["id"] == body["session"]["id"]

    r = await browser.client.delete("/sessions/current", headers=browser.headers)
    assert r.status_code == 204, r.text
    assert "sutrace_session=" in r.headers["set-cookie"] and "max-age=0" in (
        r.headers["set-cookie"].lower()
    )
    # Even a client that kept the cookie is refused from now on.
    kept = browsers.new()
    token = r.request.headers["cookie"].split("sutrace_session=")[1].split(";")[0]
    kept.client.cookies.set("sutrace_session", token)
    assert_problem(await kept.client.get("/me"), 401, "SESSION_ENDED")
    events = await client.get("/audit", params={"entity_type": "session"}, headers=ADMIN_HEADERS)
    actions = [e["action"] for e in events.json()["items"]]
    assert actions == ["session.end", "session.start"]


@pytest.mark.req("URS-054")
async def test_every_event_names_the_session_or_key_it_came_through(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    qa = await actors.get("qa")
    desk = await browsers.signed_in(qa)
    session_id = (await desk.client.get("/sessions/current")).json()["id"]
    head = await audit_seq(client)
    body = {"code": "BAG", "name": "Bag", "category": "bag", "tracking": "lot", "risk": "high"}
    r = await desk.client.post("/component-types", json=body, headers=desk.headers)
    assert r.status_code == 201, r.text
    r = await client.post("/component-types", json={**body, "code": "SET"}, headers=qa.headers)
    assert r.status_code == 201, r.text
    by_cookie, by_key = await events_since(client, head)
    assert by_cookie["actor"] == by_key["actor"] == "qa1"
    assert by_cookie["credential"] == {"kind": "session", "session_id": session_id}
    assert by_key["credential"]["kind"] == "key" and isinstance(by_key["credential"]["key_id"], int)
    # The chain with credentials verifies, by the service and by an auditor's own code.
    assert (await client.get("/audit/verify", headers=ADMIN_HEADERS)).json()["ok"] is True
    auditor_verify(await all_events(client))


@pytest.mark.req("URS-054", negative=True)
async def test_wrong_passwords_at_sign_in_lock_the_password_like_signatures(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    qa = await actors.get("qa")
    browser = browsers.new()
    for _ in range(5):
        r = await browser.client.post("/sessions", json={"username": "qa1", "password": "guess"})
        assert_problem(r, 401, "SIGN_IN_FAILED")
    r = await browser.client.post("/sessions", json={"username": "qa1", "password": PASSWORD})
    assert_problem(r, 401, "PASSWORD_LOCKED")
    # The same lock holds for signatures: one password, one count.
    r = await client.post(
        "/me/password",
        json={"current_password": PASSWORD, "new_password": "another secret 99"},
        headers=qa.headers,
    )
    assert_problem(r, 403, "SIGNING_LOCKED")
    r = await client.get(
        "/audit", params={"entity_type": "user", "entity_id": "qa1"}, headers=ADMIN_HEADERS
    )
    events = r.json()["items"]
    assert [e["action"] for e in events].count("signin.fail") == 4
    assert [e["action"] for e in events].count("signin.lockout") == 1
    assert all(e["credential"] == {"kind": "password"} for e in events if "signin" in e["action"])
    # An unknown username is refused the same way, and records nothing about it.
    r = await browser.client.post("/sessions", json={"username": "nobody", "password": "x"})
    assert_problem(r, 401, "SIGN_IN_FAILED")
    assert (await client.post("/users/qa1/unlock", headers=ADMIN_HEADERS)).status_code == 200
    await browsers.signed_in(qa)


@pytest.mark.req("URS-054")
async def test_idle_and_absolute_expiry_by_the_apps_clock(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    qa = await actors.get("qa")
    idle = await browsers.signed_in(qa)
    busy = await browsers.signed_in(qa)
    _advance(app, 14)
    assert (await busy.client.get("/me")).status_code == 200
    _advance(app, 2)  # idle for 16 minutes; busy for 2
    assert_problem(await idle.client.get("/me"), 401, "SESSION_EXPIRED")
    assert_problem(await idle.client.get("/me"), 401, "SESSION_ENDED")
    for _ in range(12 * 6 - 2):  # a request every 10 minutes, up to the 12th hour
        _advance(app, 10)
        assert (await busy.client.get("/me")).status_code == 200
    _advance(app, 10)
    assert_problem(await busy.client.get("/me"), 401, "SESSION_EXPIRED")
    r = await client.get("/audit", params={"entity_type": "session"}, headers=ADMIN_HEADERS)
    reasons = sorted(
        e["after"]["end_reason"] for e in r.json()["items"] if e["action"] == "session.end"
    )
    assert reasons == ["expired", "idle"]


@pytest.mark.req("URS-054", negative=True)
async def test_a_cookie_request_that_changes_state_needs_the_csrf_token(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    qa = await actors.get("qa")
    desk = await browsers.signed_in(qa)
    body = {"code": "BAG", "name": "Bag", "category": "bag", "tracking": "lot", "risk": "high"}
    assert_problem(await desk.client.post("/component-types", json=body), 403, "CSRF_TOKEN_MISSING")
    r = await desk.client.post("/component-types", json=body, headers={"X-CSRF-Token": "x" * 64})
    assert_problem(r, 403, "CSRF_TOKEN_INVALID")
    other = await browsers.signed_in(qa)  # another session's token is not this one's
    assert_problem(
        await desk.client.post("/component-types", json=body, headers=other.headers),
        403,
        "CSRF_TOKEN_INVALID",
    )
    assert_problem(await desk.client.delete("/sessions/current"), 403, "CSRF_TOKEN_MISSING")
    assert (await desk.client.get("/component-types")).json()["total"] == 0
    r = await desk.client.post("/component-types", json=body, headers=desk.headers)
    assert r.status_code == 201, r.text
    # API keys need none: a browser never sends an Authorization header by itself.
    r = await client.post("/component-types", json={**body, "code": "SET"}, headers=qa.headers)
    assert r.status_code == 201, r.text


@pytest.mark.req("URS-054")
async def test_sessions_listed_and_revoked_take_effect_on_the_next_request(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    qa, operator = await actors.get("qa"), await actors.get("operator")
    here, elsewhere = await browsers.signed_in(qa), await browsers.signed_in(qa)
    theirs = await browsers.signed_in(operator)
    mine = (await here.client.get("/me/sessions")).json()
    assert mine["total"] == 2 and {s["user"] for s in mine["items"]} == {"qa1"}
    current_id = (await here.client.get("/sessions/current")).json()["id"]
    [other_id] = [s["id"] for s in mine["items"] if s["id"] != current_id]
    r = await here.client.delete(f"/me/sessions/{other_id}", headers=here.headers)
    assert r.status_code == 204, r.text
    assert_problem(await elsewhere.client.get("/me"), 401, "SESSION_ENDED")
    # Someone else's session is not yours to end.
    their_id = (await theirs.client.get("/sessions/current")).json()["id"]
    r = await here.client.delete(f"/me/sessions/{their_id}", headers=here.headers)
    assert_problem(r, 404, "SESSION_NOT_FOUND")
    # An admin sees everyone signed in, and ends any session.
    listed = (await client.get("/sessions", headers=ADMIN_HEADERS)).json()
    assert sorted(s["user"] for s in listed["items"]) == ["operator1", "qa1"]
    r = await client.delete(f"/sessions/{their_id}", headers=ADMIN_HEADERS)
    assert r.status_code == 204
    assert_problem(await theirs.client.get("/me"), 401, "SESSION_ENDED")
    assert (await here.client.get("/me")).status_code == 200
    # Deactivating a user ends their sessions too.
    await client.post("/users/qa1/deactivate", headers=ADMIN_HEADERS)
    assert_problem(await here.client.get("/me"), 401, "UNAUTHORIZED")


@pytest.mark.req("URS-054", negative=True)
async def test_a_key_is_never_taken_from_a_cookie_nor_a_session_from_a_bearer_header(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    qa, operator = await actors.get("qa"), await actors.get("operator")
    desk = await browsers.signed_in(qa)
    token = desk.client.cookies.get("sutrace_session")
    assert token
    r = await client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(r, 401, "UNAUTHORIZED")
    jar = browsers.new()
    jar.client.cookies.set("sutrace_session", qa.key)
    assert_problem(await jar.client.get("/me"), 401, "SESSION_INVALID")
    # A request with an Authorization header is decided by it alone, whatever cookies it has.
    r = await desk.client.get("/me", headers=operator.headers)
    assert r.json()["username"] == "operator1"
    r = await desk.client.get("/me", headers={"Authorization": "Bearer wrong"})
    assert_problem(r, 401, "UNAUTHORIZED")


@pytest.mark.req("URS-044", "URS-054")
async def test_admins_provision_but_never_hold_or_use_a_users_credential(
    client: httpx.AsyncClient, browsers: Browsers
) -> None:
    r = await client.post(
        "/users",
        json={"username": "r.lee", "full_name": "Robin Lee", "role": "qa", "password": "x" * 12},
        headers=ADMIN_HEADERS,
    )
    assert_problem(r, 422, "VALIDATION_ERROR")
    r = await client.post(
        "/users",
        json={"username": "r.lee", "full_name": "Robin Lee", "role": "qa"},
        headers=ADMIN_HEADERS,
    )
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    code = created["enrolment"]["code"]
    assert created["password_temporary"] is True and "key" not in created
    # No key is issued to anyone but its owner.
    assert (await client.post("/users/r.lee/keys", headers=ADMIN_HEADERS)).status_code == 405
    # The owner exchanges the code, once, for their own password, PIN and key.
    owner = browsers.new()
    enrol = {
        "username": "r.lee",
        "code": code.lower(),
        "password": "robin's own secret",
        "key": True,
    }
    r = await owner.client.post("/enrolment", json={**enrol, "pin": "2468"})
    assert r.status_code == 200, r.text
    key = r.json()["key"]
    assert r.json()["user"]["has_pin"] is True
    robin = {"Authorization": f"Bearer {key['key']}"}
    assert (await client.get("/me", headers=robin)).json()["username"] == "r.lee"
    # The admin who saw the code cannot use it now, nor read the key.
    r = await client.post("/enrolment", json={**enrol, "password": "admin's guess 123"})
    assert_problem(r, 401, "ENROLMENT_INVALID")
    listed = (await client.get("/users/r.lee/keys", headers=ADMIN_HEADERS)).json()
    assert listed["items"] == [
        {
            "id": key["id"],
            "user": "r.lee",
            "created_at": listed["items"][0]["created_at"],
            "revoked_at": None,
        }
    ]
    assert key["key"] not in str(await all_events(client))
    r = await client.get(
        "/audit", params={"entity_type": "user", "entity_id": "r.lee"}, headers=ADMIN_HEADERS
    )
    exchange = next(e for e in r.json()["items"] if e["action"] == "enrolment.exchange")
    assert exchange["actor"] == "r.lee" and exchange["credential"]["kind"] == "enrolment"
    assert code not in str(r.json())
    # The admin can revoke it: it stops on the next request.
    r = await client.delete(f"/users/r.lee/keys/{key['id']}", headers=ADMIN_HEADERS)
    assert r.status_code == 204
    assert_problem(await client.get("/me", headers=robin), 401, "UNAUTHORIZED")
    # A new code for a forgotten password supersedes an unused one.
    first = (await client.post("/users/r.lee/enrolment", headers=ADMIN_HEADERS)).json()["code"]
    second = (await client.post("/users/r.lee/enrolment", headers=ADMIN_HEADERS)).json()["code"]
    r = await owner.client.post("/enrolment", json={**enrol, "code": first})
    assert_problem(r, 401, "ENROLMENT_INVALID")
    r = await owner.client.post("/enrolment", json={**enrol, "code": second, "key": False})
    assert r.status_code == 200 and r.json()["key"] is None


@pytest.mark.req("URS-054")
async def test_own_keys_after_own_password(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    qa = await actors.get("qa")
    desk = await browsers.signed_in(qa)
    r = await desk.client.post("/me/keys", json={"password": "wrong"}, headers=desk.headers)
    assert_problem(r, 403, "SIGNATURE_INVALID")
    r = await desk.client.post("/me/keys", json={"password": PASSWORD}, headers=desk.headers)
    assert r.status_code == 201, r.text
    new = r.json()
    headers = {"Authorization": f"Bearer {new['key']}"}
    assert (await client.get("/me", headers=headers)).json()["username"] == "qa1"
    keys = (await desk.client.get("/me/keys")).json()["items"]
    assert [k["id"] for k in keys][-1] == new["id"] and len(keys) == 2
    r = await desk.client.delete(f"/me/keys/{new['id']}", headers=desk.headers)
    assert r.status_code == 204
    assert_problem(await client.get("/me", headers=headers), 401, "UNAUTHORIZED")


@pytest.mark.req("URS-054", negative=True)
async def test_a_burst_of_wrong_passwords_gets_five_verifications_at_most(
    client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    """Each attempt is reserved by a conditional UPDATE before argon2 runs: however many
    arrive at once, five failures are counted and recorded, and the sixth finds the lock."""
    await actors.get("qa")
    browser = browsers.new()

    async def attempt() -> int:
        r = await browser.client.post("/sessions", json={"username": "qa1", "password": "guess"})
        return r.status_code

    for _ in range(2):  # rounds: the lock holds whatever the interleaving
        statuses = await asyncio.gather(*(attempt() for _ in range(8)))
        assert set(statuses) == {401}
    r = await client.get(
        "/audit", params={"entity_type": "user", "entity_id": "qa1"}, headers=ADMIN_HEADERS
    )
    actions = [e["action"] for e in r.json()["items"]]
    assert actions.count("signin.fail") == 4 and actions.count("signin.lockout") == 1
    r = await browser.client.post("/sessions", json={"username": "qa1", "password": PASSWORD})
    assert_problem(r, 401, "PASSWORD_LOCKED")


@pytest.mark.req("URS-054")
async def test_cookies_are_secure_over_https(app: FastAPI, actors: Actors) -> None:
    await actors.get("qa")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://test/api/v1") as https:
        r = await https.post("/sessions", json={"username": "qa1", "password": PASSWORD})
        assert r.status_code == 201, r.text
        assert "secure" in r.headers["set-cookie"].lower()
        assert (await https.get("/me")).json()["username"] == "qa1"
