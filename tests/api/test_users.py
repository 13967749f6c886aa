"""Users, keys, roles and passwords over HTTP, as an admin and the users themselves see them."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlmodel import col

from models.users import ApiKey
from tests.support import ADMIN_KEY, PASSWORD, Actors, assert_problem

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
NEW_USER = {"username": "j.doe", "full_name": "Jane Doe", "role": "qa"}
OWN_PASSWORD = "temporary-pass-123"  # Jane's own, set with her enrolment code


async def _create_with_key(client: httpx.AsyncClient, body: dict[str, str] = NEW_USER) -> str:
    """The admin creates the user; the user enrols with the code, taking a key of their own."""
    r = await client.post("/users", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    enrol = {
        "username": body["username"],
        "code": r.json()["enrolment"]["code"],
        "password": OWN_PASSWORD,
        "key": True,
    }
    r = await client.post("/enrolment", json=enrol)
    assert r.status_code == 200, r.text
    key: str = r.json()["key"]["key"]
    return key


@pytest.mark.req("URS-044", "URS-045")
async def test_admin_creates_user_without_a_password(client: httpx.AsyncClient) -> None:
    r = await client.post("/users", json=NEW_USER, headers=ADMIN)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["username"] == "j.doe"
    assert body["role"] == "qa"
    assert body["password_temporary"] is True and body["has_pin"] is False
    assert "password" not in body and "password_hash" not in body
    assert len(body["enrolment"]["code"]) == 23 and body["enrolment"]["expires_at"]
    r = await client.get("/users", headers=ADMIN)
    assert r.status_code == 200
    assert [u["username"] for u in r.json()["items"]] == ["admin", "j.doe"]
    assert r.json()["total"] == 2


@pytest.mark.req("URS-045", negative=True)
async def test_taken_username_is_409(client: httpx.AsyncClient) -> None:
    await client.post("/users", json=NEW_USER, headers=ADMIN)
    r = await client.post("/users", json={**NEW_USER, "full_name": "Other"}, headers=ADMIN)
    assert_problem(r, 409, "ALREADY_EXISTS")


@pytest.mark.req("URS-006", "URS-045", negative=True)
async def test_user_fields_are_validated(client: httpx.AsyncClient) -> None:
    for field, value in [
        ("username", "Jane Doe"),
        ("username", "x" * 65),
        ("username", ""),
        ("role", "superuser"),
        ("password", "short"),
        ("full_name", "x" * 201),
        ("full_name", "Jane\x00Doe"),
        ("full_name", "   "),
    ]:
        r = await client.post("/users", json={**NEW_USER, field: value}, headers=ADMIN)
        body = assert_problem(r, 422, "VALIDATION_ERROR")
        assert body["errors"][0]["field"] == field, (field, body)
    r = await client.get("/users", headers=ADMIN)
    assert r.json()["total"] == 1


@pytest.mark.req("URS-045")
async def test_key_is_returned_once_and_stored_as_sha256(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    key = await _create_with_key(client)
    assert len(key) >= 43  # 256 bits, URL-safe base64
    r = await client.get("/me", headers={"Authorization": f"Bearer {key}"})
    assert r.json() == {"username": "j.doe", "full_name": "Jane Doe", "role": "qa"}
    async with app.state.sessionmaker() as session:
        hashes = (await session.execute(select(col(ApiKey.key_hash)))).scalars().all()
    assert hashlib.sha256(key.encode()).hexdigest() in hashes
    assert key not in hashes


@pytest.mark.req("URS-045", negative=True)
async def test_revoked_key_stops_on_next_request(client: httpx.AsyncClient) -> None:
    key = await _create_with_key(client)
    headers = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/me", headers=headers)).status_code == 200
    r = await client.post("/me/keys", json={"password": OWN_PASSWORD}, headers=headers)
    second = r.json()
    r = await client.delete(f"/users/j.doe/keys/{second['id'] - 1}", headers=ADMIN)
    assert r.status_code == 204
    assert_problem(await client.get("/me", headers=headers), 401, "UNAUTHORIZED")
    other = {"Authorization": f"Bearer {second['key']}"}
    assert (await client.get("/me", headers=other)).status_code == 200
    assert_problem(
        await client.delete("/users/j.doe/keys/999", headers=ADMIN), 404, "KEY_NOT_FOUND"
    )


@pytest.mark.req("URS-045", negative=True)
async def test_deactivation_stops_keys_and_the_username_is_never_reused(
    client: httpx.AsyncClient,
) -> None:
    key = await _create_with_key(client)
    r = await client.post("/users/j.doe/deactivate", headers=ADMIN)
    assert r.status_code == 200 and r.json()["active"] is False
    assert_problem(
        await client.get("/me", headers={"Authorization": f"Bearer {key}"}), 401, "UNAUTHORIZED"
    )
    r = await client.post("/users", json=NEW_USER, headers=ADMIN)
    assert_problem(r, 409, "ALREADY_EXISTS")
    r = await client.post("/users/j.doe/enrolment", headers=ADMIN)
    assert_problem(r, 409, "USER_INACTIVE")
    assert_problem(
        await client.post("/users/admin/deactivate", headers=ADMIN), 409, "CANNOT_DEACTIVATE_SELF"
    )
    assert_problem(
        await client.post("/users/nobody/deactivate", headers=ADMIN), 404, "USER_NOT_FOUND"
    )


@pytest.mark.req("URS-045", negative=True)
async def test_missing_or_unknown_key_is_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/me"), 401, "UNAUTHORIZED")
    assert_problem(
        await client.get("/me", headers={"Authorization": "Bearer nope"}), 401, "UNAUTHORIZED"
    )
    assert_problem(
        await client.get("/me", headers={"Authorization": f"Basic {ADMIN_KEY}"}),
        401,
        "UNAUTHORIZED",
    )


@pytest.mark.req("URS-044", "URS-043", negative=True)
async def test_own_password_change(client: httpx.AsyncClient, actors: Actors) -> None:
    key = await _create_with_key(client)
    headers = {"Authorization": f"Bearer {key}"}
    r = await client.post(
        "/me/password",
        json={"current_password": "temporary-pass-123", "new_password": "short"},
        headers=headers,
    )
    assert_problem(r, 422, "VALIDATION_ERROR")
    r = await client.post(
        "/me/password",
        json={"current_password": "temporary-pass-123", "new_password": "my own secret 42"},
        headers=headers,
    )
    assert r.status_code == 204, r.text
    r = await client.get("/users", headers=ADMIN)
    me = next(u for u in r.json()["items"] if u["username"] == "j.doe")
    assert me["password_temporary"] is False
    # The old password no longer works as the current one.
    r = await client.post(
        "/me/password",
        json={"current_password": "temporary-pass-123", "new_password": "another secret 43"},
        headers=headers,
    )
    assert_problem(r, 403, "SIGNATURE_INVALID")


@pytest.mark.req("URS-038")
@pytest.mark.req("URS-043", negative=True)
async def test_five_wrong_passwords_lock_signing_until_admin_unlocks(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa = await actors.get("qa")
    wrong = {"current_password": "not my password", "new_password": "a brand new secret"}
    for _ in range(5):
        r = await client.post("/me/password", json=wrong, headers=qa.headers)
        assert_problem(r, 403, "SIGNATURE_INVALID")
    right = {"current_password": PASSWORD, "new_password": "a brand new secret"}
    r = await client.post("/me/password", json=right, headers=qa.headers)
    assert_problem(r, 403, "SIGNING_LOCKED")
    # Each failure was recorded, even though each request was refused.
    r = await client.get(
        "/audit", params={"entity_id": qa.username, "entity_type": "user"}, headers=ADMIN
    )
    actions = [e["action"] for e in r.json()["items"]]
    assert actions.count("signature.fail") == 4
    assert actions.count("signature.lockout") == 1
    r = await client.post(f"/users/{qa.username}/unlock", headers=ADMIN)
    assert r.status_code == 200 and r.json()["signing_locked"] is False
    r = await client.post("/me/password", json=right, headers=qa.headers)
    assert r.status_code == 204, r.text


@pytest.mark.req("URS-043")
async def test_a_success_resets_the_failure_count(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa = await actors.get("qa")
    wrong = {"current_password": "not my password", "new_password": "a brand new secret"}
    for _ in range(4):
        await client.post("/me/password", json=wrong, headers=qa.headers)
    r = await client.post(
        "/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new secret"},
        headers=qa.headers,
    )
    assert r.status_code == 204
    for _ in range(4):
        r = await client.post("/me/password", json=wrong, headers=qa.headers)
        assert_problem(r, 403, "SIGNATURE_INVALID")
