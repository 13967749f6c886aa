"""Installation qualification of a running instance, on SQLite and PostgreSQL: a sound instance
passes and gets a sealed record; each thing the IQ is for (backups, the audit trail and its
triggers, the schema, the settings that decide outcomes) fails it when wrong. The IQ changes
nothing."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pypdf
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy import text

from api.main import create_app
from scripts.backup import backup
from services.config import Settings
from tests.conftest import _pg_exec, _pg_url
from tests.support import ADMIN_HEADERS, ADMIN_KEY, Actors, create_type, receive_lot, release_lot
from validation import iq
from validation.iq_checks import FAIL, PASS, Options
from validation.manifest import MANIFEST, verify_manifest

ROOT = Path(__file__).resolve().parents[2]
ZONE = "Europe/Berlin"


async def _history(client: httpx.AsyncClient, actors: Actors) -> dict[str, object]:
    """Some records and audit events; returns the chain head once everything is sequenced."""
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    await create_type(client, qa, "SET")
    lot = await receive_lot(client, warehouse, "SET", coa_ref="C-1")
    await release_lot(client, qa, lot["id"])
    head: dict[str, object] = (await client.get("/audit/head", headers=ADMIN_HEADERS)).json()
    return head


def _env(settings: Settings, backups: Path | None = None, **more: str) -> dict[str, str]:
    env = {"DATABASE_URL": settings.database_url, "SITE_TIMEZONE": ZONE, **more}
    if backups is not None:
        env["BACKUP_DIR"] = str(backups)
    return env


def _results(record: iq.Record) -> dict[str, str]:
    return {check.name: check.result for check in record.checks}


def _failed(record: iq.Record) -> set[str]:
    return {check.name for check in record.checks if check.result == FAIL}


async def _backups(settings: Settings, tmp_path: Path) -> Path:
    folder = tmp_path / "backups"
    folder.mkdir()
    await asyncio.to_thread(backup, settings.database_url, folder / "sutrace-1.backup")
    return folder


@pytest.mark.req("URS-052")
async def test_a_sound_instance_passes_and_its_record_is_sealed(
    client: httpx.AsyncClient, actors: Actors, settings: Settings, tmp_path: Path
) -> None:
    head = await _history(client, actors)
    backups = await _backups(settings, tmp_path)
    record = await iq.inspect(_env(settings, backups), Options(expect_timezone=ZONE))
    assert _failed(record) == set(), [c for c in record.checks if c.result == FAIL]
    results = _results(record)
    for name in (
        "sutrace version",
        "Dependencies",
        "SITE_TIMEZONE",
        "Database reachable",
        "Migrations at head",
        "Schema matches the models",
        "Audit chain verifies",
        "Append-only triggers",
        "BACKUP_DIR",
        "Recent backup",
        "Backup is of this database",
    ):
        assert results[name] == PASS, name
    found = {check.name: check.found for check in record.checks}
    assert ZONE in found["SITE_TIMEZONE"] and "refused" in found["Append-only triggers"]
    # The IQ changed nothing: the chain is as it was, and whole.
    assert (await client.get("/audit/head", headers=ADMIN_HEADERS)).json() == head
    assert (await client.get("/audit/verify", headers=ADMIN_HEADERS)).json()["ok"] is True

    folder = iq.write_record(record, tmp_path / "iq-records")
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, "iq.html", "iq.json", "iq.pdf"]
    assert verify_manifest(folder) == []
    text_ = "".join(p.extract_text() for p in pypdf.PdfReader(folder / "iq.pdf").pages)
    for shown in (
        "installation qualification record",
        "PASS: every check passed",
        "Append-only triggers",
        "Approved by (QA)",
    ):
        assert shown in text_, shown


@pytest.mark.req("URS-052", negative=True)
async def test_missing_stale_or_unreadable_backups_fail(
    client: httpx.AsyncClient, actors: Actors, settings: Settings, tmp_path: Path
) -> None:
    await _history(client, actors)
    record = await iq.inspect(_env(settings), Options())
    assert _failed(record) == {"BACKUP_DIR"}
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _failed(await iq.inspect(_env(settings, empty), Options())) == {"Recent backup"}

    backups = await _backups(settings, tmp_path)
    two_days_ago = time.time() - 48 * 3600
    os.utime(backups / "sutrace-1.backup", (two_days_ago, two_days_ago))
    assert _failed(await iq.inspect(_env(settings, backups), Options())) == {"Recent backup"}
    longer = Options(backup_max_age_hours=72)
    assert _failed(await iq.inspect(_env(settings, backups), longer)) == set()

    (backups / "sutrace-2.backup").write_bytes(b"not a backup at all")
    record = await iq.inspect(_env(settings, backups), Options())
    assert _failed(record) == {"Backup is of this database"}
    assert "sutrace-2.backup could not be read" in next(
        c.found for c in record.checks if c.name == "Backup is of this database"
    )


@pytest.mark.req("URS-052", negative=True)
async def test_a_backup_of_another_instance_fails(
    client: httpx.AsyncClient,
    actors: Actors,
    settings: Settings,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """A recent backup in BACKUP_DIR, but of another database (a staging copy, say)."""
    await _history(client, actors)
    if settings.is_sqlite:
        other = tmp_path / "staging.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), other)
        staging = f"sqlite+aiosqlite:///{other}"
    else:
        name = f"sutrace_staging_{uuid.uuid4().hex[:8]}"
        _pg_exec(f"CREATE DATABASE {name} TEMPLATE {request.getfixturevalue('pg_template')}")
        request.addfinalizer(lambda: _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        staging = _pg_url(name)
    copy = create_app(Settings(database_url=staging, bootstrap_admin_key=ADMIN_KEY))
    async with copy.router.lifespan_context(copy):  # its own admin: a history of its own
        pass
    backups = tmp_path / "backups"
    backups.mkdir()
    await asyncio.to_thread(backup, staging, backups / "sutrace-staging.backup")
    record = await iq.inspect(_env(settings, backups), Options())
    assert _failed(record) == {"Backup is of this database"}
    found = next(c.found for c in record.checks if c.name == "Backup is of this database")
    assert "NOT an event of the live chain" in found


@pytest.mark.req("URS-052", negative=True)
async def test_a_tampered_or_unprotected_audit_trail_fails(
    client: httpx.AsyncClient, actors: Actors, app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    await _history(client, actors)
    backups = await _backups(settings, tmp_path)
    async with app.state.sessionmaker() as session:
        if settings.is_sqlite:
            await session.execute(text("DROP TRIGGER audit_event_no_delete"))
        else:
            await session.execute(
                text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
            )
        await session.commit()
    events = (await client.get("/audit", headers=ADMIN_HEADERS)).json()["total"]
    record = await iq.inspect(_env(settings, backups), Options())
    assert _failed(record) == {"Append-only triggers"}
    found = next(c.found for c in record.checks if c.name == "Append-only triggers")
    assert "NOT refused" in found
    # The probe's DELETE went through and was rolled back: every event is still there.
    assert (await client.get("/audit", headers=ADMIN_HEADERS)).json()["total"] == events

    async with app.state.sessionmaker() as session:
        if settings.is_sqlite:
            await session.execute(text("DROP TRIGGER audit_event_no_update"))
        await session.execute(text("UPDATE audit_event SET reason = 'edited' WHERE seq = 2"))
        await session.commit()
    record = await iq.inspect(_env(settings, backups), Options())
    assert "Audit chain verifies" in _failed(record)
    assert "broken at event 2" in next(
        c.found for c in record.checks if c.name == "Audit chain verifies"
    )


@pytest.mark.req("URS-052", negative=True)
async def test_a_schema_behind_the_newest_migration_fails(
    settings: Settings, tmp_path: Path
) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = settings.database_url
    config.attributes["configure_logger"] = False
    await asyncio.to_thread(command.downgrade, config, "-1")
    record = await iq.inspect(_env(settings, await _backups(settings, tmp_path)), Options())
    assert {"Migrations at head", "Schema matches the models"} <= _failed(record)


@pytest.mark.req("URS-052", negative=True)
async def test_the_settings_that_decide_outcomes_are_checked(
    settings: Settings, tmp_path: Path
) -> None:
    backups = await _backups(settings, tmp_path)
    wrong_zone = _env(settings, backups, SITE_TIMEZONE="Mars/Olympus_Mons")
    assert "SITE_TIMEZONE" in _failed(await iq.inspect(wrong_zone, Options()))
    record = await iq.inspect(_env(settings, backups), Options(expect_timezone="Asia/Tokyo"))
    assert _failed(record) == {"SITE_TIMEZONE"}
    if settings.is_sqlite:
        nowhere = tmp_path / "no-such.db"
        record = await iq.inspect({"DATABASE_URL": f"sqlite:///{nowhere}"}, Options())
        assert not nowhere.exists()  # the IQ did not create an empty database
    else:
        url = settings.database_url.rsplit("/", 1)[0] + "/no_such_database_here"
        record = await iq.inspect({"DATABASE_URL": url}, Options())
    assert "Database reachable" in _failed(record)
    record = await iq.inspect({"DATABASE_URL": "mysql://db/sutrace"}, Options())
    assert "DATABASE_URL" in _failed(record)


@pytest.mark.req("URS-052")
async def test_the_command_writes_the_record_and_exits_by_the_verdict(
    client: httpx.AsyncClient, actors: Actors, settings: Settings, tmp_path: Path
) -> None:
    await _history(client, actors)
    backups = tmp_path / "backups"
    backups.mkdir()
    env = {**os.environ, **_env(settings, backups)}
    taken = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "scripts.backup", "backup", settings.database_url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert taken.returncode == 0, taken.stderr
    [made] = backups.glob("sutrace-*.backup")

    async def run_iq(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "validation.iq",
                "--expect-timezone",
                ZONE,
                "--out",
                str(tmp_path / "records"),
            ],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )

    done = await run_iq(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Recent backup: {made.name}" in done.stdout
    folder = Path(done.stdout.strip().splitlines()[-1].split("record: ", 1)[1])
    assert folder.parent == tmp_path / "records" and verify_manifest(folder) == []

    env.pop("BACKUP_DIR")
    done = await run_iq(env)
    assert done.returncode == 1 and "IQ FAILED" in done.stdout
    assert "FAIL  Backups / BACKUP_DIR: BACKUP_DIR is not set" in done.stdout
