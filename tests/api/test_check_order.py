"""The contract's order holds whatever the body is: 401 (key), 403 (role), 404 (the record the
path names), then the body (400 when it cannot be read at all, 422 when it is not valid)."""

from __future__ import annotations

import httpx
import pytest

from tests.support import ADMIN_KEY, Actors, assert_problem

JSON = {"Content-Type": "application/json"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}", **JSON}
UNREADABLE = [
    pytest.param(b'{"reason": "\xff\xfe"}', id="not-utf8"),
    pytest.param(b"[" * 1500 + b"]" * 1500, id="nested-1500"),
    pytest.param(b'{"quantity": ' + b"9" * 5000 + b"}", id="integer-5000-digits"),
]
NOT_JSON = [*UNREADABLE, pytest.param(b"{nope", id="not-json"), pytest.param(b"[]", id="wrong")]


@pytest.mark.parametrize("body", UNREADABLE)
@pytest.mark.req("URS-006", negative=True)
async def test_a_body_that_cannot_be_read_is_a_400_after_the_key_role_and_path(
    client: httpx.AsyncClient, actors: Actors, body: bytes
) -> None:
    operator = await actors.get("operator")
    qa = await actors.get("qa")
    # No key: 401, whatever the body.
    assert_problem(
        await client.post("/lots/1/status", content=body, headers=JSON), 401, "UNAUTHORIZED"
    )
    # A role that may not: 403.
    r = await client.post("/lots/1/status", content=body, headers={**operator.headers, **JSON})
    assert_problem(r, 403, "ROLE_NOT_ALLOWED")
    # A lot that does not exist: 404.
    r = await client.post("/lots/1/status", content=body, headers={**qa.headers, **JSON})
    assert_problem(r, 404, "LOT_NOT_FOUND")
    # Then the body itself: 400 on a path that names nothing.
    assert_problem(await client.post("/lots", content=body, headers=ADMIN), 403, "ROLE_NOT_ALLOWED")
    warehouse = await actors.get("warehouse")
    r = await client.post("/lots", content=body, headers={**warehouse.headers, **JSON})
    assert_problem(r, 400, "MALFORMED_BODY")


@pytest.mark.parametrize("body", NOT_JSON)
@pytest.mark.req("URS-006", negative=True)
async def test_a_path_that_names_nothing_is_a_404_before_any_body_error(
    client: httpx.AsyncClient, actors: Actors, body: bytes
) -> None:
    qa, supervisor = await actors.get("qa"), await actors.get("supervisor")
    for path, actor, code in [
        ("/lots/424242/status", qa, "LOT_NOT_FOUND"),
        ("/batches/NO-SUCH/complete", supervisor, "BATCH_NOT_FOUND"),
        ("/component-types/NOPE/correct", qa, "COMPONENT_TYPE_NOT_FOUND"),
        ("/scans/424242/override", qa, "SCAN_NOT_FOUND"),
        ("/flags/424242/resolve", qa, "FLAG_NOT_FOUND"),
        ("/units/U-99999999/discard", await actors.get("warehouse"), "UNIT_NOT_FOUND"),
    ]:
        r = await client.post(path, content=body, headers={**actor.headers, **JSON})
        assert_problem(r, 404, code)
    r = await client.post("/users/nobody/deactivate", content=body, headers=ADMIN)
    assert_problem(r, 404, "USER_NOT_FOUND")


@pytest.mark.req("URS-006", negative=True)
async def test_a_public_operation_answers_its_body_error_without_a_key(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/sessions", content=b"{nope", headers=JSON)
    assert_problem(r, 422, "VALIDATION_ERROR")
    r = await client.post("/sessions", content=b'{"username": "\xff"}', headers=JSON)
    assert_problem(r, 400, "MALFORMED_BODY")
