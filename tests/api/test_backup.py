"""Backup and restore: the restored copy serves the same data and its chain verifies."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from api.main import create_app
from scripts.backup import backup, restore
from services.config import Settings
from tests.conftest import _pg_exec, _pg_url
from tests.support import ADMIN_KEY, Actors, create_type, receive_lot, release_lot


@pytest.mark.req("URS-047", "URS-039")
async def test_backup_restore_serves_the_same_data(
    client: httpx.AsyncClient, actors: Actors, settings: Settings, tmp_path: Path
) -> None:
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    await create_type(client, qa, "SET")
    lot = await receive_lot(client, warehouse, "SET", quantity=7, coa_ref="C")
    await release_lot(client, qa, lot["id"])
    head = (await client.get("/audit/head", headers=qa.headers)).json()
    lots = (await client.get("/lots", headers=qa.headers)).json()

    dump = tmp_path / "sutrace.backup"
    await asyncio.to_thread(backup, settings.database_url, dump)
    if settings.is_sqlite:
        restored = f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
    else:
        name = f"sutrace_restored_{uuid.uuid4().hex[:8]}"
        _pg_exec(f"CREATE DATABASE {name}")
        restored = _pg_url(name)
    try:
        await asyncio.to_thread(restore, dump, restored)
        copy = create_app(Settings(database_url=restored))
        async with copy.router.lifespan_context(copy):
            transport = httpx.ASGITransport(app=copy)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test/api/v1"
            ) as other:
                assert (await other.get("/lots", headers=qa.headers)).json() == lots
                assert (await other.get("/audit/head", headers=qa.headers)).json() == head
                verify = (await other.get("/audit/verify", headers=qa.headers)).json()
                assert verify["ok"] is True and verify["head"] == head
                assert (
                    await other.get("/me", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
                ).status_code == 200
    finally:
        if not settings.is_sqlite:
            _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.req("URS-047", negative=True)
async def test_a_restore_over_existing_data_is_refused(
    client: httpx.AsyncClient, actors: Actors, settings: Settings, tmp_path: Path
) -> None:
    qa = await actors.get("qa")
    await create_type(client, qa, "SET")
    head = (await client.get("/audit/head", headers=qa.headers)).json()
    dump = tmp_path / "sutrace.backup"
    await asyncio.to_thread(backup, settings.database_url, dump)
    # Restoring over the live database itself: refused before anything is written.
    with pytest.raises(SystemExit, match="new"):
        await asyncio.to_thread(restore, dump, settings.database_url)
    assert (await client.get("/audit/head", headers=qa.headers)).json() == head
    assert (await client.get("/audit/verify", headers=qa.headers)).json()["ok"] is True
    assert (await client.get("/component-types", headers=qa.headers)).json()["total"] == 1
