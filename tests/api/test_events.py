"""Server-Sent Events for QA dashboards, read by a real streaming client from a served app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse

from tests.support import (
    Actor,
    Actors,
    assert_problem,
    change_status,
    create_type,
    receive_lot,
    release_lot,
)


async def _take(
    base: str, actor: Actor, count: int, last_id: str | None = None, batch: str | None = None
) -> list[ServerSentEvent]:
    """Connect, wait until `count` events arrived, disconnect."""
    headers = dict(actor.headers)
    if last_id is not None:
        headers["Last-Event-ID"] = last_id
    received: list[ServerSentEvent] = []
    async with (
        httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=30) as http,
        aconnect_sse(
            http, "GET", "/events", headers=headers, params={"batch": batch} if batch else None
        ) as source,
    ):
        assert source.response.headers["content-type"].startswith("text/event-stream")
        async for event in source.aiter_sse():
            received.append(event)
            if len(received) == count:
                break
    return received


async def _setup(client: httpx.AsyncClient, actors: Actors) -> tuple[dict[str, Any], Actor]:
    qa = await actors.get("qa")
    warehouse = await actors.get("warehouse")
    supervisor = await actors.get("supervisor")
    await create_type(client, qa, "SET")
    lot = await receive_lot(client, warehouse, "SET", quantity=10, coa_ref="COA")
    await release_lot(client, qa, lot["id"])
    await client.post(
        "/batches", headers=supervisor.headers, json={"batch_number": "B-1", "product": "CAR-T"}
    )
    await client.post("/batches/B-1/start", headers=supervisor.headers)
    return lot, qa


@pytest.mark.req("URS-051", "URS-027")
async def test_events_stream_after_commit_and_resume_with_last_event_id(
    client: httpx.AsyncClient, actors: Actors, served: str
) -> None:
    lot, qa = await _setup(client, actors)
    operator = await actors.get("operator")

    async def scan() -> dict[str, Any]:
        await asyncio.sleep(0.5)  # the stream is connected by then
        r = await client.post(
            "/scans", headers=operator.headers, json={"barcode": lot["code"], "batch": "B-1"}
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    # A new connection receives only what happens after it connected.
    (first,), scanned = await asyncio.gather(_take(served, qa, 1), scan())
    assert first.event == "scan.recorded"
    data = json.loads(first.data)
    assert data["id"] == scanned["id"] and data["outcome"] == "accepted"
    head = (await client.get("/audit/head", headers=qa.headers)).json()
    assert int(first.id) == head["seq"]

    # While the dashboard is away: a recall opens a flag on the batch that used the lot.
    r = await change_status(client, qa, lot["id"], "recalled", reason="Supplier notice")
    assert r.status_code == 200 and len(r.json()["flags_raised"]) == 1
    missed = await _take(served, qa, 2, last_id=first.id)
    assert [e.event for e in missed] == ["lot.status_changed", "flag.raised"]
    assert json.loads(missed[0].data)["id"] == lot["id"]
    assert json.loads(missed[0].data)["status"] == "recalled"
    assert json.loads(missed[1].data)["id"] == r.json()["flags_raised"][0]["id"]
    ids = [int(e.id) for e in missed]
    assert ids == sorted(ids) and ids[0] > int(first.id)
    events = (await client.get("/audit", headers=qa.headers, params={"limit": 5})).json()
    by_seq = {e["seq"]: e["action"] for e in events["items"]}
    assert [by_seq[i] for i in ids] == ["lot.status", "flag.raise"]


@pytest.mark.req("URS-051", "URS-046", negative=True)
async def test_events_are_for_qa_auditor_admin_and_supervisors(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    for role in ("operator", "warehouse"):
        actor = await actors.get(role)
        assert_problem(await client.get("/events", headers=actor.headers), 403, "ROLE_NOT_ALLOWED")
    assert_problem(await client.get("/events"), 401, "UNAUTHORIZED")


@pytest.mark.req("URS-051")
async def test_a_supervisor_follows_the_line_of_one_batch(
    client: httpx.AsyncClient, actors: Actors, served: str
) -> None:
    lot, qa = await _setup(client, actors)
    supervisor, operator = await actors.get("supervisor"), await actors.get("operator")
    await client.post(
        "/batches", headers=supervisor.headers, json={"batch_number": "B-2", "product": "CAR-T"}
    )
    await client.post("/batches/B-2/start", headers=supervisor.headers)
    for batch in ("B-2", "B-1", "B-2"):
        r = await client.post(
            "/scans", headers=operator.headers, json={"barcode": lot["code"], "batch": batch}
        )
        assert r.status_code == 201, r.text
    # Admin events (a new user, a key) are in the trail but never in the stream.
    r = await client.post(
        "/users",
        headers=actors.admin.headers,
        json={"username": "n.new", "full_name": "N New", "role": "operator"},
    )
    assert r.status_code == 201, r.text
    await change_status(client, qa, lot["id"], "quarantined", reason="Supplier query")
    everything = await _take(served, supervisor, 6, last_id="0")
    assert [e.event for e in everything] == [
        "lot.status_changed",
        "scan.recorded",
        "scan.recorded",
        "scan.recorded",
        "lot.status_changed",
        "flag.raised",
    ]
    mine = await _take(served, supervisor, 3, last_id="0", batch="B-2")
    assert [(e.event, json.loads(e.data)["batch"]) for e in mine] == [
        ("scan.recorded", "B-2"),
        ("scan.recorded", "B-2"),
        ("flag.raised", "B-2"),
    ]


@pytest.mark.parametrize(
    "last_id",
    [
        "²".encode("latin-1"),  # a digit to str.isdigit, not to int()
        b"99999999999999999999",  # digits, but past any seq the trail can hold
        b"-1",
        b"1e3",
    ],
)
@pytest.mark.req("URS-051", "URS-006", negative=True)
async def test_a_last_event_id_that_is_no_event_id_is_a_400(
    client: httpx.AsyncClient, actors: Actors, last_id: bytes
) -> None:
    qa = await actors.get("qa")

    async def connect() -> httpx.Response:
        async with client.stream(
            "GET",
            "/events",
            headers=[(b"authorization", f"Bearer {qa.key}".encode()), (b"last-event-id", last_id)],
        ) as r:
            await r.aread()
            return r

    # A stream that starts instead would never end: the wait is the test's only way out.
    r = await asyncio.wait_for(connect(), timeout=20)
    assert_problem(r, 400, "LAST_EVENT_ID_INVALID")


@pytest.mark.parametrize("how", ["key revoked", "user deactivated"])
@pytest.mark.req("URS-045", "URS-051", negative=True)
async def test_an_open_stream_ends_when_its_credential_stops_working(
    client: httpx.AsyncClient, actors: Actors, served: str, how: str
) -> None:
    lot, qa = await _setup(client, actors)
    operator = await actors.get("operator")
    admin = actors.admin.headers
    received: list[ServerSentEvent] = []
    first = asyncio.Event()

    async def scan() -> None:
        r = await client.post(
            "/scans", headers=operator.headers, json={"barcode": lot["code"], "batch": "B-1"}
        )
        assert r.status_code == 201, r.text

    async def follow() -> None:
        async with (
            httpx.AsyncClient(base_url=f"{served}/api/v1", timeout=30) as http,
            aconnect_sse(http, "GET", "/events", headers=qa.headers) as source,
        ):
            async for event in source.aiter_sse():
                received.append(event)
                first.set()

    async def act() -> None:
        await asyncio.sleep(0.5)  # the stream is connected by then
        await scan()
        await first.wait()
        if how == "key revoked":
            (key,) = (await client.get("/users/qa1/keys", headers=admin)).json()["items"]
            r = await client.delete(f"/users/qa1/keys/{key['id']}", headers=admin)
        else:
            r = await client.post("/users/qa1/deactivate", headers=admin)
        assert r.status_code in (200, 204), r.text
        await scan()  # committed after the credential stopped working: never delivered

    # The stream must end by itself; the wait is only the test's way out if it does not.
    await asyncio.wait_for(asyncio.gather(follow(), act()), timeout=30)
    assert [e.event for e in received] == ["scan.recorded"]
