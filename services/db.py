"""The async engine and the unit of work, on SQLite (aiosqlite) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from services.config import Settings

SessionMaker = async_sessionmaker[AsyncSession]


def canonical_json(value: Any) -> str:
    """JSON columns are stored canonical (sorted keys, no whitespace, UTF-8 kept): the audit
    trail's hashed form, so verification can hash the stored text as it is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def make_engine(settings: Settings) -> AsyncEngine:
    """Create the engine for `settings.database_url`, with SQLite made safe for concurrent use."""
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, json_serializer=canonical_json
        )
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        # A request beyond `pool_size` opens a connection and closes it when done (a new
        # PostgreSQL backend and cold prepared statements each time): at 16 concurrent scans
        # per worker, a pool of 10 cost a third of the scan rate (bench/scan_load.py).
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=False,
        # The most recently returned connection serves next: the busy few keep psycopg's
        # prepared statements (and PostgreSQL's generic plans for the genealogy walks, whose
        # planning costs as much as running them) warm, and idle ones stay idle.
        pool_use_lifo=True,
        json_serializer=canonical_json,
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    # WAL lets readers run beside the writer; foreign keys are off by default in SQLite.
    # Every transaction begins IMMEDIATE: it takes the write lock up front, so two writers queue
    # on busy_timeout instead of failing when one upgrades a read lock (SQLITE_BUSY).
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        # Where `apart` rolls a unit of work back to, keeping the write lock (see there).
        connection.exec_driver_sql(f"SAVEPOINT {_START}")


def make_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


_START = "unit_of_work"


def serialised(session: AsyncSession) -> bool:
    """Whether the database runs one writing transaction at a time (SQLite: every transaction
    begins IMMEDIATE), so that the unit of work's own transaction already excludes every other."""
    return session.get_bind().dialect.name == "sqlite"


_records: WeakKeyDictionary[Engine, AsyncEngine] = WeakKeyDictionary()


def _records_engine(session: AsyncSession) -> AsyncEngine:
    """Connections of their own for records kept apart, outside the request pool: a request
    holds its pooled connection while it writes its record, and 20 requests queued on one row
    lock would otherwise hold the whole pool and wait for a 21st connection that never frees."""
    engine = session.bind
    assert isinstance(engine, AsyncEngine), "a unit of work is bound to the app's engine"
    records = _records.get(engine.sync_engine)
    if records is None:
        records = create_async_engine(
            engine.url, poolclass=NullPool, json_serializer=canonical_json
        )
        _records[engine.sync_engine] = records
    return records


@asynccontextmanager
async def apart(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A transaction of its own for a record that must be kept whatever becomes of the unit of
    work `session` (a failed signature, the lockout counter, a refused badge), committed when
    the block ends. Nothing the unit of work wrote is committed with it.

    PostgreSQL: a second session on its own connection, with the unit of work's credential, so
    that its audit events name it. It must not wait on a row the unit of work has locked: the
    lock timeout turns that mistake into an error instead of a request that never answers.
    SQLite allows one writer, and the unit of work is it: its writes are rolled back to the
    savepoint its transaction began with (the write lock stays held, so no other transaction
    comes between), its objects are detached, and the record is written and committed on the
    same connection. The unit of work then has nothing of its own left to commit.
    """
    if serialised(session):
        await session.execute(text(f"ROLLBACK TO SAVEPOINT {_START}"))
        session.expunge_all()
        yield session
        await session.commit()
        return
    async with (
        AsyncSession(
            bind=_records_engine(session), expire_on_commit=False, info=dict(session.info)
        ) as own,
        own.begin(),
    ):
        await own.execute(text("SET LOCAL lock_timeout = '10s'"))
        yield own


_SELECT_1 = text("SELECT 1")


class DatabaseProbe:
    """Is the database reachable? The answer `/healthz` gives, asked of the database at most
    once per `fresh` seconds per process however often it is asked.

    A health check is polled (by a load balancer, an orchestrator, a monitor) and must stay
    cheap under load: a `SELECT 1` in a unit of work per poll is three round trips (BEGIN,
    SELECT, COMMIT) and held `/healthz` under 1,000/s on two workers. The probe asks with one
    statement on a pooled connection and remembers the answer; callers who arrive while a probe
    is in flight wait for that one instead of starting their own. So a database that stops
    answering is reported within `fresh` seconds plus `timeout`, and a poll costs no round trip
    in between.
    """

    def __init__(self, engine: AsyncEngine, *, fresh: float = 1.0, timeout: float = 2.0) -> None:
        self._engine = engine
        self._fresh = fresh
        self._timeout = timeout
        self._asked_at = -float("inf")  # time.monotonic() of the last answer
        self._reachable = False
        self._asking: asyncio.Future[bool] | None = None

    async def reachable(self) -> bool:
        """Whether the database answered a `SELECT 1` (within the timeout) in the last
        `fresh` seconds; asks it when the last answer is older."""
        if time.monotonic() - self._asked_at < self._fresh:
            return self._reachable
        if self._asking is None:
            self._asking = asyncio.ensure_future(self._ask())
        # Shielded: a caller that gives up does not cancel the probe the others wait for.
        return await asyncio.shield(self._asking)

    async def _ask(self) -> bool:
        try:
            async with asyncio.timeout(self._timeout):
                async with self._engine.connect() as connection:
                    await connection.execute(_SELECT_1)
            reachable = True
        except Exception:  # any failure to answer is "unreachable", never an error of ours
            reachable = False
        finally:
            self._asking = None
        self._reachable, self._asked_at = reachable, time.monotonic()
        return reachable
