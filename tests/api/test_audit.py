"""The audit trail: one event per action, a chain an auditor can rebuild, tampering found."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.config import Settings
from services.db import make_engine
from tests.support import ADMIN_KEY, Actors, assert_problem

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
FIELDS = {
    "seq",
    "at",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "before",
    "after",
    "reason",
    "signature",
    "prev_hash",
    "hash",
}


async def all_events(client: httpx.AsyncClient, base: str = "") -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        r = await client.get(
            f"{base}/audit", params={"limit": 500, "offset": len(events)}, headers=ADMIN
        )
        assert r.status_code == 200, r.text
        page = r.json()["items"]
        if not page:
            return events
        events.extend(page)


def auditor_verify(events: list[dict[str, Any]]) -> str:
    """An auditor's own verifier, written from the contract alone: returns the head hash."""
    prev = "0" * 64
    for expected_seq, event in enumerate(sorted(events, key=lambda e: e["seq"]), start=1):
        assert event["seq"] == expected_seq
        assert event["prev_hash"] == prev
        body = {k: v for k, v in event.items() if k not in ("hash", "prev_hash")}
        datetime.strptime(body["at"], "%Y-%m-%dT%H:%M:%S.%fZ")  # the canonical time form
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256((prev + canonical).encode("utf-8")).hexdigest()
        assert digest == event["hash"], event
        prev = digest
    return prev


async def _some_history(client: httpx.AsyncClient) -> None:
    """An admin creates Ann; Ann enrols (her own password and key); the admin revokes the key
    and deactivates her."""
    r = await client.post(
        "/users",
        headers=ADMIN,
        json={"username": "ann", "full_name": "Ann Ærø-Ünïcode", "role": "qa"},
    )
    assert r.status_code == 201
    r = await client.post(
        "/enrolment",
        json={
            "username": "ann",
            "code": r.json()["enrolment"]["code"],
            "password": "ann's own password",
            "key": True,
        },
    )
    assert r.status_code == 200, r.text
    key = r.json()["key"]
    await client.delete(f"/users/ann/keys/{key['id']}", headers=ADMIN)
    await client.post("/users/ann/deactivate", headers=ADMIN)


@pytest.mark.req("URS-045")
@pytest.mark.req("URS-038", negative=True)
async def test_each_action_is_one_event_with_before_and_after(client: httpx.AsyncClient) -> None:
    start = (await client.get("/audit/head", headers=ADMIN)).json()["seq"]
    await _some_history(client)
    events = [e for e in await all_events(client) if e["seq"] > start]
    assert [(e["action"], e["actor"], e["credential"]["kind"]) for e in events] == [
        ("user.deactivate", "admin", "key"),
        ("key.revoke", "admin", "key"),
        ("key.create", "ann", "enrolment"),
        ("enrolment.exchange", "ann", "enrolment"),
        ("enrolment.issue", "admin", "key"),
        ("user.create", "admin", "key"),
    ]  # newest first, each with the credential it came through
    for event in events:
        assert set(event) == FIELDS | {"credential"}
    create, deactivate = events[5], events[0]
    assert create["before"] is None
    assert create["after"]["full_name"] == "Ann Ærø-Ünïcode"
    assert create["entity_type"] == "user" and create["entity_id"] == "ann"
    assert deactivate["before"]["active"] is True and deactivate["after"]["active"] is False
    revoke = events[1]
    assert revoke["entity_type"] == "key"
    assert revoke["before"]["revoked_at"] is None and revoke["after"]["revoked_at"]
    dumped = json.dumps(events)
    assert "ann's own password" not in dumped and "argon2" not in dumped


@pytest.mark.req("URS-039", "URS-041")
async def test_an_auditor_rebuilds_every_hash_from_the_api_alone(
    client: httpx.AsyncClient,
) -> None:
    await _some_history(client)
    events = await all_events(client)
    head_hash = auditor_verify(events)
    head = (await client.get("/audit/head", headers=ADMIN)).json()
    assert head == {"seq": len(events), "hash": head_hash}
    verify = (await client.get("/audit/verify", headers=ADMIN)).json()
    assert verify == {"ok": True, "events": len(events), "head": head}


@pytest.mark.req("URS-041", "URS-046", negative=True)
async def test_audit_filters(client: httpx.AsyncClient, actors: Actors) -> None:
    await _some_history(client)
    r = await client.get("/audit", params={"entity_type": "key"}, headers=ADMIN)
    assert {e["action"] for e in r.json()["items"]} == {"key.create", "key.revoke"}
    r = await client.get(
        "/audit", params={"action": "user.create", "entity_id": "ann"}, headers=ADMIN
    )
    assert r.json()["total"] == 1
    now = datetime.now(UTC).isoformat()
    r = await client.get("/audit", params={"since": now}, headers=ADMIN)
    assert r.json() == {"items": [], "total": 0}
    r = await client.get("/audit", params={"until": now, "actor": "admin"}, headers=ADMIN)
    assert r.json()["total"] >= 4
    assert_problem(
        await client.get("/audit", params={"since": "yesterday"}, headers=ADMIN),
        422,
        "VALIDATION_ERROR",
    )
    assert_problem(
        await client.get("/audit", params={"since": "2026-01-01T00:00:00"}, headers=ADMIN),
        422,
        "VALIDATION_ERROR",
    )
    operator = await actors.get("operator")
    assert_problem(await client.get("/audit", headers=operator.headers), 403, "ROLE_NOT_ALLOWED")


async def _tamper(app: FastAPI, *statements: str) -> None:
    """Rewrite history as someone with the database's superuser password could: around the
    append-only triggers (PostgreSQL: replication role; SQLite: drop them)."""
    async with app.state.sessionmaker() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            await session.execute(text("DROP TRIGGER audit_event_no_update"))
            await session.execute(text("DROP TRIGGER audit_event_no_delete"))
        for statement in statements:
            await session.execute(text(statement))
        await session.commit()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET reason = 'edited later' WHERE seq = 2",
        "UPDATE audit_event SET seq = NULL WHERE seq = 2",
        "UPDATE audit_event SET hash = 'x' WHERE seq = 2",
        "DELETE FROM audit_event WHERE seq = 2",
        "DELETE FROM audit_event",
        "UPDATE audit_event SET credential = NULL WHERE seq = 3",
    ],
)
@pytest.mark.req("URS-040", negative=True)
async def test_the_database_refuses_to_rewrite_history(
    app: FastAPI, client: httpx.AsyncClient, statement: str
) -> None:
    await _some_history(client)
    before = await all_events(client)
    with pytest.raises(DBAPIError, match="append-only"):
        async with app.state.sessionmaker() as session:
            await session.execute(text(statement))
            await session.commit()
    assert await all_events(client) == before
    assert (await client.get("/audit/verify", headers=ADMIN)).json()["ok"] is True


@pytest.mark.parametrize(
    ("statements", "first_bad"),
    [
        (["UPDATE audit_event SET reason = 'edited later' WHERE seq = 3"], 3),
        (["UPDATE audit_event SET after = NULL WHERE seq = 2"], 2),
        (["DELETE FROM audit_event WHERE seq = 4"], 4),
        # Reordered: two events swap places.
        (
            [
                "UPDATE audit_event SET seq = -1 WHERE seq = 3",
                "UPDATE audit_event SET seq = 3 WHERE seq = 4",
                "UPDATE audit_event SET seq = 4 WHERE seq = -1",
            ],
            3,
        ),
        # The tail cut off: the head row still remembers it.
        (["DELETE FROM audit_event WHERE seq = (SELECT max(seq) FROM audit_event)"], 8),
        (["UPDATE audit_event SET credential = NULL WHERE seq = 3"], 3),
    ],
    ids=["altered", "after-nulled", "deleted", "reordered", "truncated", "credential-dropped"],
)
@pytest.mark.req("URS-039", negative=True)
async def test_verify_finds_tampering(
    app: FastAPI, client: httpx.AsyncClient, statements: list[str], first_bad: int
) -> None:
    await _some_history(client)
    head = (await client.get("/audit/head", headers=ADMIN)).json()
    assert head["seq"] == 8  # the bootstrap admin and key, then six events
    await _tamper(app, *statements)
    r = await client.get("/audit/verify", headers=ADMIN)
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is False and body["first_bad_seq"] == first_bad, body


@pytest.mark.req("URS-039")
async def test_chain_stays_linear_under_concurrent_writers(served: str, settings: Settings) -> None:
    async with httpx.AsyncClient(base_url=f"{served}/api/v1", timeout=60) as client:

        async def create(i: int) -> int:
            r = await client.post(
                "/users",
                headers=ADMIN,
                json={
                    "username": f"user{i}",
                    "full_name": f"User {i}",
                    "role": "operator",
                },
            )
            return r.status_code

        async def key(i: int) -> int:
            r = await client.post(f"/users/user{i % 5}/enrolment", headers=ADMIN)
            return r.status_code

        assert await asyncio.gather(*(create(i) for i in range(12))) == [201] * 12
        statuses = await asyncio.gather(*(key(i) for i in range(60)))
        assert statuses == [201] * 60
        # The sequencer chains committed events on its own (every 0.2 s), with nobody reading
        # the trail: the stored rows are read directly, since GET /audit chains before it reads.
        engine = make_engine(settings)
        try:
            for _ in range(100):
                async with engine.connect() as conn:
                    waiting = (
                        await conn.execute(
                            text("SELECT COUNT(*) FROM audit_event WHERE seq IS NULL")
                        )
                    ).scalar_one()
                if waiting == 0:
                    break
                await asyncio.sleep(0.1)
        finally:
            await engine.dispose()
        assert waiting == 0, f"{waiting} events still unchained after 10 s"
        events = await all_events(client)
        assert len(events) == 2 + 12 * 2 + 60  # each user.create issues an enrolment code
        assert sorted(e["seq"] for e in events) == list(range(1, len(events) + 1))
        auditor_verify(events)
        assert (await client.get("/audit/verify", headers=ADMIN)).json()["ok"] is True
