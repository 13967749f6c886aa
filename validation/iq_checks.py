"""The installation qualification's checks of a deployed instance. None of them changes it: the
one write they attempt (deleting the newest audit event, to see the database refuse it) is rolled
back whatever happens.

"Backups configured" means: BACKUP_DIR names a folder, its newest `*.backup` file is younger than
the allowed age (26 hours by default: a daily backup and some slack), and that file is a backup of
this database: its audit chain head is an event of the live chain, with the same hash.
"""

from __future__ import annotations

import importlib.metadata
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from packaging.requirements import Requirement
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.config import DEFAULT_DATABASE_URL, Settings
from services.db import make_engine
from services.trust import verification
from validation import environment

PASS, FAIL, INFO = "pass", "fail", "info"
TRIGGERS = {
    "postgresql": {"audit_event_append_only", "audit_event_no_truncate"},
    "sqlite": {"audit_event_no_update", "audit_event_no_delete"},
}


@dataclass
class Check:
    section: str
    name: str
    expected: str
    found: str
    result: str  # pass, fail, info


@dataclass(frozen=True)
class Options:
    expect_timezone: str | None = None
    backup_max_age_hours: float = 26.0


def installation() -> list[Check]:
    code = environment.sutrace_version()
    installed = environment.installed_version("sutrace")
    checks = [
        Check(
            "Installation",
            "sutrace version",
            f"the installed package is the code's version ({code})",
            f"code {code}, installed package {installed or 'not installed'}",
            PASS if installed == code else FAIL,
        ),
        Check(
            "Installation",
            "Python",
            "3.11 or later",
            environment.python(),
            PASS if sys.version_info >= (3, 11) else FAIL,
        ),
    ]
    wrong, found = _dependencies()
    checks.append(
        Check(
            "Installation",
            "Dependencies",
            "every dependency installed within the range sutrace declares",
            "; ".join(wrong) if wrong else ", ".join(found),
            FAIL if wrong else PASS,
        )
    )
    return checks


def _dependencies() -> tuple[list[str], list[str]]:
    """The declared dependencies not satisfied, and every one found with its version."""
    try:
        declared = importlib.metadata.requires("sutrace") or []
    except importlib.metadata.PackageNotFoundError:
        return ["sutrace is not installed (pip install .)"], []
    wrong: list[str] = []
    found: list[str] = []
    for line in declared:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # an optional extra (dev, png)
        version = environment.installed_version(requirement.name)
        if version is None:
            wrong.append(f"{requirement.name} is missing")
        elif not requirement.specifier.contains(version, prereleases=True):
            wrong.append(f"{requirement.name} {version} is outside {requirement.specifier}")
        else:
            found.append(f"{requirement.name} {version}")
    return wrong, found


def settings(env: Mapping[str, str], options: Options) -> tuple[list[Check], Settings | None]:
    """The settings that decide outcomes, read as the service reads them."""
    zone_name = env.get("SITE_TIMEZONE", "UTC")
    checks: list[Check] = []
    try:
        zone: ZoneInfo | None = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    expected = options.expect_timezone or "a valid IANA time zone (confirm it is the site's)"
    if zone is None:
        found, result = f"'{zone_name}' is not a known IANA time zone", FAIL
    else:
        now = datetime.now(UTC).astimezone(zone)
        found = f"{zone_name}: today at the site is {now:%Y-%m-%d}, UTC{now:%z}"
        if "SITE_TIMEZONE" not in env:
            found += " (unset: the default)"
        ok = options.expect_timezone is None or options.expect_timezone == zone_name
        result = PASS if ok else FAIL
    checks.append(Check("Settings", "SITE_TIMEZONE", expected, found, result))
    checks.append(
        Check("Settings", "Time zone data", "present", environment.time_zone_data(), INFO)
    )
    checks.append(
        Check(
            "Settings",
            "Server clock",
            "the time of a reference clock (compare by hand)",
            f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC",
            INFO,
        )
    )
    others = [
        f"DB_POOL_SIZE={env.get('DB_POOL_SIZE', '20 (default)')}",
        f"CORS_ORIGINS={env.get('CORS_ORIGINS', '[] (closed)')}",
        "BOOTSTRAP_ADMIN_KEY "
        + ("set (used only while no user exists)" if env.get("BOOTSTRAP_ADMIN_KEY") else "unset"),
    ]
    checks.append(Check("Settings", "Other settings", "as documented", "; ".join(others), INFO))
    url = env.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    try:
        read = Settings(database_url=url, site_timezone=zone_name if zone else "UTC")
    except ValueError as exc:
        checks.append(Check("Settings", "DATABASE_URL", "a supported URL", str(exc), FAIL))
        return checks, None
    shown = environment.without_password(read.database_url)
    checks.append(Check("Settings", "DATABASE_URL", "a supported URL", shown, PASS))
    return checks, read


def _missing_sqlite_file(read: Settings) -> Path | None:
    """The SQLite file named, when it does not exist (connecting would create an empty one)."""
    if not read.is_sqlite:
        return None
    path = Path(read.database_url.split(":///", 1)[1])
    return None if path.is_file() else path


async def database(read: Settings, options: Options, env: Mapping[str, str]) -> list[Check]:
    missing = _missing_sqlite_file(read)
    if missing is not None:
        found = f"no database file at {missing}"
        return [Check("Database", "Database reachable", "a connection", found, FAIL)]
    engine = make_engine(read)
    try:
        async with engine.connect() as conn:
            version = await conn.run_sync(_server_version)
    except (DBAPIError, OSError) as exc:
        await engine.dispose()
        found = str(exc).strip().splitlines()[0]
        return [Check("Database", "Database reachable", "a connection", found, FAIL)]
    try:
        checks = [Check("Database", "Database reachable", "a connection", version, PASS)]
        checks += await _schema(engine)
        checks += await _audit(engine)
        checks += await _backups(engine, read, options, env)
        return checks
    finally:
        await engine.dispose()


def _server_version(conn: Connection) -> str:
    if conn.dialect.name == "sqlite":
        return f"SQLite {conn.execute(text('SELECT sqlite_version()')).scalar_one()}"
    return f"PostgreSQL {conn.execute(text('SHOW server_version')).scalar_one()}"


async def _schema(engine: AsyncEngine) -> list[Check]:
    head = environment.alembic_head()
    async with engine.connect() as conn:
        try:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        except DBAPIError:
            current = None
        differences = await conn.run_sync(_compare_with_models)
        await conn.rollback()
    checks = [
        Check(
            "Database",
            "Migrations at head",
            f"schema revision {head} (alembic upgrade head)",
            f"schema revision {current or 'none'}",
            PASS if current == head else FAIL,
        ),
        Check(
            "Database",
            "Schema matches the models",
            "no difference (as alembic check)",
            "; ".join(str(d) for d in differences[:5]) or "no difference",
            FAIL if differences else PASS,
        ),
    ]
    return checks


def _compare_with_models(conn: Connection) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import models  # noqa: F401  (registers every table)

    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def _audit(engine: AsyncEngine) -> list[Check]:
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(engine) as session:
        result = await verification.verify(session)
        pending = (
            await session.execute(text("SELECT count(*) FROM audit_event WHERE seq IS NULL"))
        ).scalar_one()
        await session.rollback()
    if result.ok and result.head is not None:
        found = f"{result.events} events, head seq {result.head.seq} hash {result.head.hash}"
        if pending:
            found += f"; {pending} event(s) committed and not yet sequenced"
    else:
        found = f"broken at event {result.first_bad_seq}: {result.detail}"
    checks = [
        Check(
            "Audit trail",
            "Audit chain verifies",
            "every hash and link, up to the head row",
            found,
            PASS if result.ok else FAIL,
        )
    ]
    checks.append(await _triggers(engine))
    return checks


async def _triggers(engine: AsyncEngine) -> Check:
    dialect = engine.dialect.name
    wanted = TRIGGERS[dialect]
    async with engine.connect() as conn:
        if dialect == "postgresql":
            rows = (
                await conn.execute(
                    text(
                        "SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal "
                        "AND tgrelid = 'audit_event'::regclass"
                    )
                )
            ).all()
            present = {name for name, enabled in rows if enabled in ("O", "A")}
        else:
            rows = (
                await conn.execute(
                    text(
                        "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                        "AND tbl_name = 'audit_event'"
                    )
                )
            ).all()
            present = {row[0] for row in rows}
        await conn.rollback()
    missing = sorted(wanted - present)
    probe = await _probe(engine)
    found = (
        ("present and enabled: " + ", ".join(sorted(wanted & present)))
        if not missing
        else ("missing or disabled: " + ", ".join(missing))
    )
    found += f"; {probe[1]}"
    return Check(
        "Audit trail",
        "Append-only triggers",
        "UPDATE, DELETE and TRUNCATE of audit_event refused: " + ", ".join(sorted(wanted)),
        found,
        PASS if not missing and probe[0] else FAIL,
    )


async def _probe(engine: AsyncEngine) -> tuple[bool, str]:
    """Try to delete the newest audit event and roll back: the database must refuse."""
    async with engine.connect() as conn:
        newest = (await conn.execute(text("SELECT max(seq) FROM audit_event"))).scalar()
        await conn.rollback()
        if newest is None:
            return True, "no event to probe yet"
        transaction = await conn.begin()
        try:
            await conn.execute(text("DELETE FROM audit_event WHERE seq = :seq"), {"seq": newest})
        except DBAPIError as exc:
            return "append-only" in str(exc), "a DELETE of the newest event was refused"
        finally:
            await transaction.rollback()
    return False, "a DELETE of the newest event was NOT refused (rolled back)"


async def _backups(
    engine: AsyncEngine, read: Settings, options: Options, env: Mapping[str, str]
) -> list[Check]:
    checks, newest = _newest_backup(env.get("BACKUP_DIR"), options)
    if newest is not None:
        checks.append(await _backup_of_this_database(engine, read, newest))
    return checks


def _newest_backup(folder: str | None, options: Options) -> tuple[list[Check], Path | None]:
    section, wanted = "Backups", "the folder backups are written to"
    if not folder or not Path(folder).is_dir():
        found = f"'{folder}' is not a folder" if folder else "BACKUP_DIR is not set"
        return [Check(section, "BACKUP_DIR", wanted, found, FAIL)], None
    checks = [Check(section, "BACKUP_DIR", wanted, folder, PASS)]
    files = sorted(Path(folder).glob("*.backup"), key=lambda p: p.stat().st_mtime)
    if not files:
        checks.append(Check(section, "Recent backup", "a *.backup file", "none", FAIL))
        return checks, None
    newest = files[-1]
    age = (time.time() - newest.stat().st_mtime) / 3600
    checks.append(
        Check(
            section,
            "Recent backup",
            f"the newest *.backup younger than {options.backup_max_age_hours:g} hours",
            f"{newest.name}, {age:.1f} hours old, {newest.stat().st_size} bytes",
            PASS if age <= options.backup_max_age_hours else FAIL,
        )
    )
    return checks, newest


async def _backup_of_this_database(engine: AsyncEngine, read: Settings, path: Path) -> Check:
    expected = "its audit head is an event of this database's chain, with the same hash"
    try:
        seq, digest = _backup_head(path, sqlite=read.is_sqlite)
    except (OSError, sqlite3.Error, subprocess.CalledProcessError, ValueError) as exc:
        return Check(
            "Backups",
            "Backup is of this database",
            expected,
            f"{path.name} could not be read: {exc}",
            FAIL,
        )
    async with engine.connect() as conn:
        live = (
            await conn.execute(text("SELECT hash FROM audit_event WHERE seq = :s"), {"s": seq})
        ).scalar()
        await conn.rollback()
    if seq == 0:  # taken before the first event: nothing to compare yet
        same, found = True, "the backup holds no audit event yet"
    else:
        same = live == digest
        found = f"backup head seq {seq} hash {digest}: " + (
            "the same event in the live chain" if same else "NOT an event of the live chain"
        )
    return Check("Backups", "Backup is of this database", expected, found, PASS if same else FAIL)


def _backup_head(path: Path, *, sqlite: bool) -> tuple[int, str]:
    """The audit head (seq, hash) stored in a backup file."""
    if sqlite:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        if row is None:
            raise ValueError("no audit head row")
        return int(row[0]), str(row[1])
    done = subprocess.run(
        ["pg_restore", "--data-only", "--table=audit_head", "--file=-", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = done.stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("COPY public.audit_head")]
    if not starts or starts[0] + 1 >= len(lines):
        raise ValueError("no audit head in the dump")
    start = starts[0]
    columns = lines[start].split("(", 1)[1].split(")", 1)[0].split(", ")
    values = dict(zip(columns, lines[start + 1].split("\t"), strict=True))
    return int(values["seq"]), values["hash"]
