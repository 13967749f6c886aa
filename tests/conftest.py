"""Fixtures: every test runs on SQLite and on PostgreSQL, each on its own fresh database.

The schema of both is built once per run by `alembic upgrade head`; each test gets a copy
(a file copy on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL). Set SUTRACE_TEST_PG to the
URL of a PostgreSQL server's maintenance database (default: postgres@127.0.0.1:5432/test). When no
server answers, the PostgreSQL half is skipped and said so, unless SUTRACE_REQUIRE_PG=1 (CI).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import psycopg.sql
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI

from api.main import create_app
from services.config import Settings
from tests.browsers import Browsers
from tests.contract import checking_hook
from tests.support import ADMIN_KEY, Actors

pytest_plugins = ["validation.pytest_plugin"]  # traces, results, the validation package

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("SUTRACE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("SUTRACE_REQUIRE_PG") == "1"
_pg_status: dict[str, str] = {}


def migrate(url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = Settings(database_url=url).database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def _pg_conninfo(database: str | None = None) -> str:
    info = psycopg.conninfo.conninfo_to_dict(PG_ADMIN_URL.replace("+psycopg", ""))
    if database:
        info["dbname"] = database
    return psycopg.conninfo.make_conninfo("", **info)


def _pg_url(database: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(_pg_conninfo(database))
    user = info.get("user", "postgres")
    host = info.get("host", "127.0.0.1")
    port = info.get("port", "5432")
    return f"postgresql+psycopg://{user}@{host}:{port}/{database}"


def _pg_exec(sql: str) -> None:
    with psycopg.connect(_pg_conninfo(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(psycopg.sql.SQL(sql))  # type: ignore[arg-type, unused-ignore]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    try:
        with psycopg.connect(_pg_conninfo(), connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        _pg_status["skipped"] = str(exc).strip().splitlines()[0]
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (SUTRACE_REQUIRE_PG=1) but: {exc}")
        pytest.skip(f"no PostgreSQL server at {PG_ADMIN_URL}: the PostgreSQL half is skipped")
    name = f"sutrace_tpl_{os.getpid()}"
    _pg_exec(f"DROP DATABASE IF EXISTS {name}")
    _pg_exec(f"CREATE DATABASE {name}")
    migrate(_pg_url(name))
    _pg_status["ran"] = "yes"
    yield name
    _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for this test alone."""
    if request.param == "sqlite":
        path = tmp_path / "sutrace.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"sutrace_t_{uuid.uuid4().hex[:12]}"
    _pg_exec(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield _pg_url(name)
    finally:
        _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, bootstrap_admin_key=ADMIN_KEY)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app over HTTP; every problem+json it answers is checked against /openapi.json."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test/api/v1",
        event_hooks={"response": [checking_hook(app)]},
    ) as http:
        yield http


@pytest.fixture
def actors(app: FastAPI, client: httpx.AsyncClient) -> Actors:
    return Actors(app, client)


@pytest.fixture
async def browsers(app: FastAPI) -> AsyncIterator[Browsers]:
    """Browsers with cookie jars of their own, for people signed in at desks and stations."""
    opened = Browsers(app)
    yield opened
    await opened.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-crash",
        action="store_true",
        help="also run the crash tests (SIGKILL of a served app mid-load)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The browser tests last, whatever order the paths were given in: Playwright's sync API
    # keeps an event loop running in the main thread until the session ends, and no async test
    # can start its own after it.
    items.sort(key=lambda item: "/tests/web/" in str(item.path).replace("\\", "/"))
    if config.getoption("--run-crash") or os.environ.get("SUTRACE_RUN_CRASH") == "1":
        return
    skip = pytest.mark.skip(reason="crash test: run with --run-crash (CI does)")
    for item in items:
        if "crash" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if "skipped" in _pg_status:
        terminalreporter.write_line(
            f"PostgreSQL half SKIPPED: no server at {PG_ADMIN_URL} "
            f"({_pg_status['skipped']}). Only SQLite was tested.",
            yellow=True,
            bold=True,
        )
    elif "ran" in _pg_status:
        terminalreporter.write_line("Databases tested: SQLite and PostgreSQL.", green=True)


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[str]:
    """The app served by uvicorn on this test's database; yields the base URL.

    Started and stopped off the event loop: the in-process app's sequencer may be holding a
    SQLite transaction that must be allowed to finish meanwhile.
    """
    from tests.served import kill, start

    env = {"DATABASE_URL": settings.database_url, "BOOTSTRAP_ADMIN_KEY": ADMIN_KEY}
    process, base = await asyncio.to_thread(start, env)
    try:
        yield base
    finally:
        await asyncio.to_thread(kill, process)
