"""The async engine and the unit of work, on SQLite (aiosqlite) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

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


def make_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
