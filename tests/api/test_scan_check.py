"""Look before you use: POST /scans/check answers what a scan would answer now, with every
flag, and stores, consumes and audits nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.support import (
    BAG_GTIN,
    SET_GTIN,
    Actor,
    Actors,
    add_units,
    assert_problem,
    audit_seq,
    batch_scans,
    create_batch,
    create_type,
    get_json,
    line_staff,
    post_scan,
    receive_lot,
    released_lot,
    site_today,
)

pytestmark = pytest.mark.req("URS-058")


async def _check(
    client: httpx.AsyncClient, actor: Actor, barcode: str, batch: str, **extra: Any
) -> dict[str, Any]:
    r = await client.post(
        "/scans/check", json={"barcode": barcode, "batch": batch, **extra}, headers=actor.headers
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def test_a_check_answers_like_the_scan_and_changes_nothing(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial", gtin=BAG_GTIN)
    await create_type(client, line.qa, "SET", tracking="lot", gtin=SET_GTIN)
    await create_batch(
        client, line.supervisor, "B-1", bom=[{"component_type": "SET", "quantity": 1}]
    )
    soon = site_today() + timedelta(days=3)
    lot = await released_lot(
        client, line.qa, line.warehouse, "SET", "TS-1", quantity=5, expiry=soon
    )
    held = await receive_lot(client, line.warehouse, "BAG", "SL-1", quantity=2)
    [held_unit] = await add_units(client, line.warehouse, held["id"], 1)
    seq = await audit_seq(client)

    # Staging at the warehouse: a warning, the same one the scan would give, and the status.
    kit = await _check(client, line.warehouse, lot["code"], "B-1", quantity=2)
    assert kit["outcome"] == "accepted" and kit["status"] == 201
    assert sorted(f["code"] for f in kit["flags"]) == ["EXPIRES_SOON", "OVER_BOM_QUANTITY"]
    assert (kit["lot"], kit["lot_code"], kit["batch"], kit["quantity"]) == (
        lot["id"],
        lot["code"],
        "B-1",
        2,
    )
    refused = await _check(client, line.operator, held_unit, "B-1")
    assert refused["outcome"] == "blocked" and refused["status"] == 409
    assert {f["code"] for f in refused["flags"] if f["severity"] == "block"} == {
        "QUARANTINED",
        "WRONG_COMPONENT",
    }
    unknown = await _check(client, line.operator, "NO-SUCH-THING", "B-1")
    assert (unknown["outcome"], unknown["status"]) == ("blocked", 404)
    assert [f["code"] for f in unknown["flags"]] == ["UNKNOWN_BARCODE"]

    # Nothing was stored, consumed or audited.
    assert await batch_scans(client, line.qa, "B-1") == []
    assert (await get_json(client, f"/lots/{lot['id']}", line.qa))["quantity_left"] == 5
    assert await audit_seq(client) == seq

    # The scan itself then answers what the check said.
    r = await post_scan(client, line.operator, lot["code"], "B-1", quantity=2)
    assert r.status_code == 201, r.text
    assert sorted(f["code"] for f in r.json()["flags"]) == ["EXPIRES_SOON", "OVER_BOM_QUANTITY"]
    r = await post_scan(client, line.operator, held_unit, "B-1")
    assert r.status_code == 409
    assert {f["code"] for f in r.json()["flags"]} == {"QUARANTINED", "WRONG_COMPONENT"}


@pytest.mark.req("URS-058", negative=True)
async def test_a_check_refuses_what_a_scan_refuses_unstored(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    line = await line_staff(actors)
    await create_batch(client, line.supervisor, "B-1")
    r = await client.post(
        "/scans/check", json={"barcode": "A\x07B", "batch": "B-1"}, headers=line.operator.headers
    )
    assert_problem(r, 422, "INVALID_BARCODE")
    r = await client.post(
        "/scans/check", json={"barcode": "L-000001", "batch": "NOPE"}, headers=line.operator.headers
    )
    assert_problem(r, 422, "UNKNOWN_BATCH")
    auditor = await actors.get("auditor")
    r = await client.post(
        "/scans/check", json={"barcode": "L-000001", "batch": "B-1"}, headers=auditor.headers
    )
    assert_problem(r, 403, "ROLE_NOT_ALLOWED")
