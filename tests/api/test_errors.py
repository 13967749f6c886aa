"""Bad input of every class gets a 4xx problem+json and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support import ADMIN_KEY, Actors, assert_problem, audit_seq, create_type, receive_lot

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
JSON = {**ADMIN, "Content-Type": "application/json"}
GOOD = {
    "username": "ok.user",
    "full_name": "Ok User",
    "role": "operator",
}


async def _state(client: httpx.AsyncClient) -> tuple[int, int]:
    users = (await client.get("/users", headers=ADMIN)).json()["total"]
    head = (await client.get("/audit/head", headers=ADMIN)).json()["seq"]
    return users, head


@pytest.mark.req("URS-006", negative=True)
async def test_router_404_and_405_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/no-such-thing", headers=ADMIN), 404, "NOT_FOUND")
    assert_problem(await client.get("http://test/nowhere"), 404, "NOT_FOUND")
    r = await client.put("/users", headers=ADMIN)
    assert_problem(r, 405, "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b'{"username": "x", ', 422, "VALIDATION_ERROR"),  # malformed JSON
        (b"[1, 2, 3]", 422, "VALIDATION_ERROR"),  # wrong shape
        (
            b'{"username": 5, "full_name": [], "role": true, "password": null}',
            422,
            "VALIDATION_ERROR",
        ),  # wrong types
        (
            b'{"username": "a", "full_name": "A", "role": "qa", "password": "x\\u0000yyyyyyyyyyy"}',
            422,
            "VALIDATION_ERROR",
        ),  # NUL byte, even in a password
        (b"\xff\xfe{\x00}", 400, "MALFORMED_BODY"),  # not UTF-8
        (
            b'{"username": "b", "full_name": "\\ud800", "role": "qa", "password": "yyyyyyyyyyyyy"}',
            422,
            "VALIDATION_ERROR",
        ),  # lone surrogate
        (b"", 422, "VALIDATION_ERROR"),  # no body
    ],
)
@pytest.mark.req("URS-006", negative=True)
async def test_malformed_bodies(
    client: httpx.AsyncClient, content: bytes, status: int, code: str
) -> None:
    before = await _state(client)
    r = await client.post("/users", content=content, headers=JSON)
    assert_problem(r, status, code)
    assert await _state(client) == before


@pytest.mark.req("URS-006", negative=True)
async def test_validation_lists_each_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/users", json={"username": "UPPER", "role": "nobody"}, headers=ADMIN)
    body = assert_problem(r, 422, "VALIDATION_ERROR")
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"username", "role", "full_name"}
    assert all(e["message"] for e in body["errors"])


@pytest.mark.parametrize("field", ["full_name"])
@pytest.mark.req("URS-006", negative=True)
async def test_over_long_and_control_characters(client: httpx.AsyncClient, field: str) -> None:
    before = await _state(client)
    for bad in ["x" * 201, "tab\there", "bell\x07", "nul\x00", "del\x7f", "c1\x85"]:
        r = await client.post("/users", json={**GOOD, field: bad}, headers=ADMIN)
        body = assert_problem(r, 422, "VALIDATION_ERROR")
        assert body["errors"][0]["field"] == field
    assert await _state(client) == before


@pytest.mark.req("URS-006", negative=True)
async def test_body_over_one_mebibyte_is_413(client: httpx.AsyncClient) -> None:
    before = await _state(client)
    big = b'{"username": "' + b"x" * (1024 * 1024) + b'"}'
    assert_problem(await client.post("/users", content=big, headers=JSON), 413, "BODY_TOO_LARGE")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536

    # No Content-Length: the limit is counted as the body streams in.
    r = await client.post("/users", content=chunks(), headers=JSON)
    assert_problem(r, 413, "BODY_TOO_LARGE")
    assert await _state(client) == before


@pytest.mark.req("URS-006", negative=True)
async def test_paging_bounds(client: httpx.AsyncClient) -> None:
    for params in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "many"}):
        assert_problem(
            await client.get("/users", params=params, headers=ADMIN), 422, "VALIDATION_ERROR"
        )
    r = await client.get("/users", params={"limit": 500, "offset": 10}, headers=ADMIN)
    assert r.status_code == 200 and r.json() == {"items": [], "total": 1}


@pytest.mark.req("URS-006", "URS-045", negative=True)
async def test_checks_run_in_order_key_role_then_body(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    # Malformed JSON without a key: 401, not 422.
    r = await client.post("/users", content=b"{nope", headers={"Content-Type": "application/json"})
    assert_problem(r, 401, "UNAUTHORIZED")
    # A bad path id before a bad body: the body below is refused (422) on a lot that exists,
    # and on one that does not the answer is the lot's 404.
    qa = await actors.get("qa")
    bad = {"status": "sideways", "reason": ""}
    warehouse = await actors.get("warehouse")
    await create_type(client, qa, "BAG", tracking="lot")
    lot = await receive_lot(client, warehouse, "BAG", "SL-1", 1)
    r = await client.post(f"/lots/{lot['id']}/status", json=bad, headers=qa.headers)
    assert_problem(r, 422, "VALIDATION_ERROR")
    r = await client.post("/lots/999999/status", json=bad, headers=qa.headers)
    assert_problem(r, 404, "LOT_NOT_FOUND")


@pytest.mark.req("URS-006", negative=True)
async def test_control_characters_in_the_url(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/users/a%00b/keys", headers=ADMIN), 400, "INVALID_URL")
    assert_problem(await client.get("/audit?actor=%00", headers=ADMIN), 400, "INVALID_URL")


@pytest.mark.req("URS-006", negative=True)
async def test_out_of_range_path_ids(client: httpx.AsyncClient) -> None:
    r = await client.delete("/users/admin/keys/99999999999999999999", headers=ADMIN)
    assert_problem(r, 422, "VALIDATION_ERROR")


@pytest.mark.req("URS-067", negative=True)
async def test_a_key_named_twice_in_a_body_is_refused(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    operator = await actors.get("operator")
    await create_type(client, qa, "BAG", tracking="lot")
    lot = await receive_lot(client, warehouse, "BAG", "SL-1", 1)
    head = await audit_seq(client)
    bodies = [
        (
            "/lots",
            warehouse,
            '{"component_type": "BAG", "supplier_lot": "SL-2", "quantity": 1,'
            ' "quantity": 1000, "expiry_date": "2030-01-01"}',
            "quantity",
        ),
        (
            "/scans",
            operator,
            f'{{"barcode": "{lot["code"]}", "batch": "B-1", "batch": "B-2"}}',
            "batch",
        ),
        (
            f"/lots/{lot['id']}/status",
            qa,
            '{"status": "rejected", "reason": "Damaged",'
            ' "signature": {"password": "wrong", "password": "' + qa.password + '",'
            ' "meaning": "Lot rejected"}}',
            "password",
        ),
    ]
    for path, actor, raw, key in bodies:
        headers = {"Content-Type": "application/json", **actor.headers}
        body = assert_problem(
            await client.post(path, content=raw, headers=headers), 422, "VALIDATION_ERROR"
        )
        assert f"the key '{key}' appears twice" in body["detail"], body
    assert await audit_seq(client) == head
    assert (await client.get(f"/lots/{lot['id']}", headers=qa.headers)).json()["status"] == (
        "quarantined"
    )
