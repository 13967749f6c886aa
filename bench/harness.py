"""Shared bench plumbing: a fresh migrated database, a served app, users with keys, timing."""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from models.users import Role, UserCreate
from services.config import Settings
from services.db import make_engine, make_sessionmaker
from services.trust import enrolment, users
from tests.served import kill, start

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("SUTRACE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "bench password 1234"


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def load_average() -> str:
    """The 1-minute load average and the cores: figures from a loaded machine say so."""
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """A new database built by `alembic upgrade head`; yields its URL, drops it afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{folder}/bench.db"
            _migrate(url)
            yield url
        return
    name = f"sutrace_bench_{uuid.uuid4().hex[:8]}"
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type, unused-ignore]
    try:
        url = f"{base}/{name}"
        _migrate(url)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type, unused-ignore]


def _migrate(url: str) -> None:
    subprocess.run(
        [str(ROOT / ".venv/bin/alembic"), "upgrade", "head"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
    )


def make_users(url: str, roles: list[Role]) -> dict[Role, str]:
    """One user per role with its own password; returns their keys."""

    async def _make() -> dict[Role, str]:
        engine = make_engine(Settings(database_url=url))
        keys: dict[Role, str] = {}
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                for role in roles:
                    data = UserCreate(
                        username=f"bench-{role.value}", full_name=f"Bench {role}", role=role
                    )
                    now = datetime.now(UTC)
                    _, _, code = await users.create_user(
                        session, "bench", data, now, timedelta(hours=1)
                    )
                    done = await enrolment.exchange(
                        session, data.username, code, now, password=PASSWORD, want_key=True
                    )
                    assert done.key is not None
                    keys[role] = done.key[1]
        finally:
            await engine.dispose()
        return keys

    return asyncio.run(_make())


@contextmanager
def served(url: str, workers: int = 1, app: str = "api.main:app") -> Iterator[str]:
    """Serve `app` on `url`; SUTRACE_SERVED_LOG=FILE keeps its log."""
    # A loaded machine can take most of a minute to import the app in two workers at once.
    process, base = start({"DATABASE_URL": url}, workers=workers, app=app, wait=180)
    try:
        yield base
    finally:
        kill(process)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(samples_ms: list[float]) -> str:
    return (
        f"n={len(samples_ms)} p50={statistics.median(samples_ms):.1f} ms "
        f"p99={percentile(samples_ms, 0.99):.1f} ms max={max(samples_ms):.1f} ms"
    )
