"""Single use under real concurrency: many scanners, one unit or one lot, a served app."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.support import Actor, Actors, create_type, receive_lot, release_lot


async def _line(
    client: httpx.AsyncClient, actors: Actors, tracking: str, quantity: int
) -> tuple[dict[str, Any], Actor]:
    """A released lot of a new type, and two batches in progress, B-1 and B-2."""
    qa = await actors.get("qa")
    warehouse = await actors.get("warehouse")
    supervisor = await actors.get("supervisor")
    await create_type(client, qa, "PART", tracking=tracking)
    lot = await receive_lot(client, warehouse, "PART", quantity=quantity, coa_ref="COA-1")
    await release_lot(client, qa, lot["id"])
    for number in ("B-1", "B-2"):
        r = await client.post(
            "/batches",
            headers=supervisor.headers,
            json={"batch_number": number, "product": "CAR-T"},
        )
        assert r.status_code == 201
        assert (
            await client.post(f"/batches/{number}/start", headers=supervisor.headers)
        ).status_code == 200
    return lot, warehouse


@pytest.mark.req("URS-018")
@pytest.mark.req("URS-014", negative=True)
async def test_fifty_concurrent_scans_of_one_unit_accept_exactly_one(
    client: httpx.AsyncClient, actors: Actors, served: str
) -> None:
    lot, warehouse = await _line(client, actors, "serial", 1)
    r = await client.post(f"/lots/{lot['id']}/units", headers=warehouse.headers, json={"count": 1})
    barcode = r.json()["items"][0]["barcode"]
    operators = [await actors.get("operator", f"op{i}") for i in range(5)]
    async with httpx.AsyncClient(base_url=f"{served}/api/v1", timeout=60) as line:

        async def scan(i: int) -> httpx.Response:
            operator = operators[i % len(operators)]
            return await line.post(
                "/scans",
                headers=operator.headers,
                json={"barcode": barcode, "batch": "B-1" if i % 2 else "B-2", "station": f"S{i}"},
            )

        responses = await asyncio.gather(*(scan(i) for i in range(50)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49, statuses
    for response in responses:
        if response.status_code == 409:
            assert [f["code"] for f in response.json()["flags"]] == ["ALREADY_USED"]
    unit = (await client.get(f"/units/{barcode}", headers=warehouse.headers)).json()
    assert unit["status"] == "consumed"
    stored = [
        s
        for b in ("B-1", "B-2")
        for s in (
            await client.get(
                f"/batches/{b}/scans", headers=warehouse.headers, params={"limit": 500}
            )
        ).json()["items"]
    ]
    assert len(stored) == 50
    assert sum(s["outcome"] == "accepted" for s in stored) == 1
    r = await client.get(f"/lots/{lot['id']}/reconciliation", headers=warehouse.headers)
    assert r.json() | {"lot": 0} == {
        "lot": 0,
        "lot_code": lot["code"],
        "received": 1,
        "consumed": 1,
        "discarded": 0,
        "on_hand": 0,
    }


@pytest.mark.req("URS-034")
@pytest.mark.req("URS-014", negative=True)
async def test_lot_quantity_never_goes_below_zero_under_concurrent_scans(
    client: httpx.AsyncClient, actors: Actors, served: str
) -> None:
    lot, warehouse = await _line(client, actors, "lot", 10)
    operator = await actors.get("operator")
    async with httpx.AsyncClient(base_url=f"{served}/api/v1", timeout=60) as line:
        responses = await asyncio.gather(
            *(
                line.post(
                    "/scans",
                    headers=operator.headers,
                    json={"barcode": lot["code"], "batch": "B-1", "quantity": 3},
                )
                for _ in range(20)
            )
        )
    accepted = [r for r in responses if r.status_code == 201]
    assert len(accepted) == 3  # 3 x 3 = 9 of 10; a fourth would go below zero
    for response in responses:
        if response.status_code != 201:
            assert response.status_code == 409
            assert [f["code"] for f in response.json()["flags"]] == ["INSUFFICIENT_QUANTITY"]
    now = (await client.get(f"/lots/{lot['id']}", headers=warehouse.headers)).json()
    assert now["quantity_left"] == 1
    r = await client.get(f"/lots/{lot['id']}/reconciliation", headers=warehouse.headers)
    assert (r.json()["consumed"], r.json()["on_hand"]) == (9, 1)
