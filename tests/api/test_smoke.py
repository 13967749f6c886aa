from __future__ import annotations

import httpx
import pytest

from tests.support import ADMIN_KEY, Actors


@pytest.mark.req("URS-045")
async def test_me_and_health(client: httpx.AsyncClient, actors: Actors) -> None:
    r = await client.get("/me", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"username": "admin", "full_name": "Administrator", "role": "admin"}
    qa = await actors.get("qa")
    r = await client.get("/me", headers=qa.headers)
    assert r.json()["role"] == "qa"
    r = await client.get("http://test/healthz")
    assert r.json()["status"] == "ok"
