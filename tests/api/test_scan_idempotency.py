"""A scanner that retries with the same client_scan_id gets the first answer and changes
nothing; a different scan under a used id is a conflict; each user's ids are their own."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import (
    Actors,
    Line,
    add_units,
    assert_blocked,
    assert_problem,
    audit_seq,
    batch_scans,
    change_status,
    create_batch,
    create_type,
    get_json,
    line_staff,
    post_scan,
    receive_lot,
    release_lot,
    released_lot,
    staff,
)

BATCH = "B-100"


async def _line(client: httpx.AsyncClient, actors: Actors) -> Line:
    """BAG (serial) and SET (lot); batch B-100 in progress."""
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial")
    await create_type(client, line.qa, "SET", tracking="lot")
    await create_batch(client, line.supervisor, BATCH)
    return line


async def _left(client: httpx.AsyncClient, line: Line, lot: dict[str, Any]) -> int:
    left: int = (await get_json(client, f"/lots/{lot['id']}", line.qa))["quantity_left"]
    return left


@pytest.mark.req("URS-019", "URS-014")
async def test_a_retry_gets_the_first_answer_and_changes_nothing(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    sets = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    bags = await released_lot(client, line.qa, line.warehouse, "BAG", "BB-1")
    [unit] = await add_units(client, line.warehouse, bags["id"])
    first = await post_scan(
        client, line.operator, sets["code"], BATCH, quantity=3, client_scan_id="tablet-7:0001"
    )
    assert first.status_code == 201, first.text
    first_unit = await post_scan(client, line.operator, unit, BATCH, client_scan_id="tablet-7:0002")
    assert first_unit.status_code == 201, first_unit.text
    head = await audit_seq(client)
    for _ in range(2):
        again = await post_scan(
            client, line.operator, sets["code"], BATCH, quantity=3, client_scan_id="tablet-7:0001"
        )
        assert again.status_code == 201, again.text
        assert again.json() == first.json()
        # The unit's retry is not taken for a second use of the unit.
        again = await post_scan(client, line.operator, unit, BATCH, client_scan_id="tablet-7:0002")
        assert again.status_code == 201, again.text
        assert again.json() == first_unit.json()
    assert await audit_seq(client) == head
    assert await _left(client, line, sets) == 7
    assert len(await batch_scans(client, line.qa, BATCH)) == 2
    # Later events do not change the first answer.
    assert (await change_status(client, line.qa, sets["id"], "recalled")).status_code == 200
    head = await audit_seq(client)
    again = await post_scan(
        client, line.operator, sets["code"], BATCH, quantity=3, client_scan_id="tablet-7:0001"
    )
    assert again.status_code == 201 and again.json() == first.json()
    assert await audit_seq(client) == head
    assert await _left(client, line, sets) == 7


@pytest.mark.req("URS-019")
async def test_a_blocked_first_answer_is_replayed(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await receive_lot(client, line.warehouse, "SET", "TS-1", coa_ref="COA-1")
    first = await post_scan(client, line.operator, lot["code"], BATCH, client_scan_id="c-1")
    body = assert_blocked(first, 409, "QUARANTINED")
    unknown = await post_scan(client, line.operator, "U-99999999", BATCH, client_scan_id="c-2")
    assert_blocked(unknown, 404, "UNKNOWN_BARCODE")
    # Even once the lot is released, the retry gets the first answer: it is the same scan.
    await release_lot(client, line.qa, lot["id"])
    head = await audit_seq(client)
    again = await post_scan(client, line.operator, lot["code"], BATCH, client_scan_id="c-1")
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json() == body
    again = await post_scan(client, line.operator, "U-99999999", BATCH, client_scan_id="c-2")
    assert again.status_code == 404 and again.json() == unknown.json()
    assert await audit_seq(client) == head
    assert await _left(client, line, lot) == 10
    stored = await batch_scans(client, line.qa, BATCH)
    assert [(s["id"], s["outcome"]) for s in stored] == [
        (body["scan_id"], "blocked"),
        (unknown.json()["scan_id"], "blocked"),
    ]
    assert stored[0]["client_scan_id"] == "c-1"


@pytest.mark.req("URS-019", negative=True)
async def test_a_different_scan_under_a_used_id_is_a_conflict(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    other = await released_lot(client, line.qa, line.warehouse, "SET", "TS-2")
    await create_batch(client, await actors.get("supervisor"), "B-200")
    first = await post_scan(client, line.operator, lot["code"], BATCH, client_scan_id="c-1")
    assert first.status_code == 201, first.text
    head = await audit_seq(client)
    changed: list[dict[str, Any]] = [
        {"barcode": other["code"], "batch": BATCH},
        {"barcode": lot["code"], "batch": "B-200"},
        {"barcode": lot["code"], "batch": BATCH, "quantity": 2},
        {"barcode": lot["code"], "batch": BATCH, "station": "BSC-1"},
        {"barcode": lot["code"] + "\r\n", "batch": BATCH},
    ]
    for body in changed:
        r = await client.post(
            "/scans", json={**body, "client_scan_id": "c-1"}, headers=line.operator.headers
        )
        problem = assert_problem(r, 409, "IDEMPOTENCY_CONFLICT")
        assert "c-1" in problem["detail"]
    assert await audit_seq(client) == head
    assert await _left(client, line, lot) == 9 and await _left(client, line, other) == 10
    assert len(await batch_scans(client, line.qa, BATCH)) == 1
    assert await batch_scans(client, line.qa, "B-200") == []
    # The first answer is still there for the true retry.
    again = await post_scan(client, line.operator, lot["code"], BATCH, client_scan_id="c-1")
    assert again.status_code == 201 and again.json() == first.json()


@pytest.mark.req("URS-019")
async def test_the_same_id_from_another_user_is_a_new_scan(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await _line(client, actors)
    [second_operator] = await staff(actors, "operator:operator2")
    lot = await released_lot(client, line.qa, line.warehouse, "SET", "TS-1")
    mine = await post_scan(client, line.operator, lot["code"], BATCH, client_scan_id="c-1")
    theirs = await post_scan(client, second_operator, lot["code"], BATCH, client_scan_id="c-1")
    assert mine.status_code == theirs.status_code == 201, (mine.text, theirs.text)
    assert mine.json()["id"] != theirs.json()["id"]
    assert await _left(client, line, lot) == 8
    stored = await batch_scans(client, line.qa, BATCH)
    assert [s["actor"] for s in stored] == [line.operator.username, second_operator.username]
    assert [s["client_scan_id"] for s in stored] == ["c-1", "c-1"]
