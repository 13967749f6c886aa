"""Failed signatures are records kept apart from the request: a burst gets five verifications at
most, and a refusal commits its record and nothing else the request wrote."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import get_session
from models.users import Role, UserCreate
from services.errors import Forbidden
from services.trust import signatures, users
from tests.support import ADMIN_HEADERS, Actors, assert_problem, create_type, receive_lot


async def _user_events(client: httpx.AsyncClient, username: str) -> list[str]:
    r = await client.get(
        "/audit",
        params={"entity_type": "user", "entity_id": username, "limit": 500},
        headers=ADMIN_HEADERS,
    )
    assert r.status_code == 200, r.text
    return [e["action"] for e in r.json()["items"]]


@pytest.mark.req("URS-043", negative=True)
async def test_twenty_wrong_signatures_at_once_get_five_verifications(
    client: httpx.AsyncClient, actors: Actors, served: str
) -> None:
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    await create_type(client, qa, "SET")
    lot = await receive_lot(client, warehouse, "SET", coa_ref="COA-1")
    body: dict[str, Any] = {
        "status": "rejected",
        "reason": "Burst",
        "signature": qa.signature("Rejected", "a wrong password, guessed"),
    }
    start = threading.Barrier(20)

    def attempt() -> tuple[int, str]:
        with httpx.Client(base_url=f"{served}/api/v1", timeout=60) as http:
            start.wait()
            r = http.post(f"/lots/{lot['id']}/status", json=body, headers=qa.headers)
            return r.status_code, r.json().get("code", "")

    # Twenty threads of their own (the default executor has fewer), released together.
    with ThreadPoolExecutor(max_workers=20) as pool:
        loop = asyncio.get_running_loop()
        answers = await asyncio.gather(*(loop.run_in_executor(pool, attempt) for _ in range(20)))
    assert Counter(answers) == {(403, "SIGNATURE_INVALID"): 5, (403, "SIGNING_LOCKED"): 15}
    actions = await _user_events(client, "qa1")
    assert actions.count("signature.fail") == 4 and actions.count("signature.lockout") == 1
    r = await client.get(f"/lots/{lot['id']}", headers=qa.headers)
    assert r.json()["status"] == "quarantined"
    # Locked: the right password is refused too, until an admin unlocks.
    right = {**body, "signature": qa.signature("Rejected")}
    r = await client.post(f"/lots/{lot['id']}/status", json=right, headers=qa.headers)
    assert_problem(r, 403, "SIGNING_LOCKED")


@pytest.mark.req("URS-043", "URS-038", negative=True)
async def test_a_refused_signature_commits_its_record_and_nothing_else(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors
) -> None:
    await actors.get("qa")
    # One unit of work, as a request has: something written, then a wrong password.
    unit_of_work = cast(
        AsyncGenerator[AsyncSession, None],
        get_session(SimpleNamespace(app=app)),  # type: ignore[arg-type]
    )
    session = await unit_of_work.__anext__()
    new = UserCreate(username="r.earlier", full_name="Written Earlier", role=Role.operator)
    await users.create_user(session, "admin", new, datetime.now(UTC), timedelta(hours=1))
    signer = await users.get_user(session, "qa1")
    with pytest.raises(Forbidden) as refused:
        await signatures.check_password(session, signer, "a wrong password, guessed")
    assert refused.value.code == "SIGNATURE_INVALID"
    with pytest.raises(Forbidden):
        await unit_of_work.athrow(refused.value)  # the refusal leaves the unit of work
    # What the request wrote before is gone; the failed signature is kept.
    r = await client.get("/users", params={"limit": 500}, headers=ADMIN_HEADERS)
    assert "r.earlier" not in {u["username"] for u in r.json()["items"]}
    assert await _user_events(client, "r.earlier") == []
    r = await client.get(
        "/audit", params={"entity_type": "user", "entity_id": "qa1"}, headers=ADMIN_HEADERS
    )
    newest = r.json()["items"][0]
    assert newest["action"] == "signature.fail"
    assert newest["reason"] == "Wrong password (1 in a row)."
