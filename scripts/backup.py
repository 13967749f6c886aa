"""Back up and restore a sutrace database while the service runs.

    python -m scripts.backup backup  DATABASE_URL [FILE]
    python -m scripts.backup restore FILE DATABASE_URL

SQLite is copied with its online backup API, PostgreSQL with pg_dump's custom format. Without
FILE the backup goes into BACKUP_DIR as sutrace-<UTC time>.backup: the folder the installation
qualification (`python -m validation.iq`) checks for a recent backup of this database. A restore
goes into a new, empty database (or a new file) and refuses one that holds anything.

A restored copy serves the same data and passes GET /api/v1/audit/verify; compare its
GET /api/v1/audit/head with the head published before the backup to prove nothing was cut.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from services.config import normalise_database_url


def _sqlite_path(url: str) -> Path | None:
    url = normalise_database_url(url)
    return Path(url.split(":///", 1)[1]) if url.startswith("sqlite") else None


def _libpq(url: str) -> str:
    return normalise_database_url(url).replace("postgresql+psycopg://", "postgresql://")


def default_target() -> Path:
    """A new file in BACKUP_DIR, named by the UTC time: sutrace-20261203T120000Z.backup."""
    folder = os.environ.get("BACKUP_DIR")
    if not folder:
        raise SystemExit("Name the backup file, or set BACKUP_DIR to the folder for backups.")
    return Path(folder) / f"sutrace-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.backup"


def backup(url: str, target: Path) -> None:
    source = _sqlite_path(url)
    if source is not None:
        # The online backup API copies a consistent snapshot while writers go on.
        with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
            live.backup(copy)
        return
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={target}", _libpq(url)], check=True
    )


def restore(source: Path, url: str) -> None:
    target = _sqlite_path(url)
    if target is not None:
        if target.exists():
            raise SystemExit(f"{target} exists; restore into a new file.")
        with sqlite3.connect(source) as saved, sqlite3.connect(target) as copy:
            saved.backup(copy)
        return
    with psycopg.connect(_libpq(url)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
            "'information_schema')"
        ).fetchone()
    if row and row[0]:
        name = psycopg.conninfo.conninfo_to_dict(_libpq(url)).get("dbname")
        raise SystemExit(f"Database '{name}' holds {row[0]} tables; restore into a new, empty one.")
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_libpq(url)}", str(source)],
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("backup")
    take.add_argument("database_url")
    take.add_argument("file", type=Path, nargs="?", help="default: a new file in BACKUP_DIR")
    put = commands.add_parser("restore")
    put.add_argument("file", type=Path)
    put.add_argument("database_url")
    args = parser.parse_args()
    if args.command == "backup":
        backup(args.database_url, args.file or default_target())
    else:
        restore(args.file, args.database_url)


if __name__ == "__main__":
    main()
