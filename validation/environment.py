"""What a test run or an IQ ran on: sutrace's version, the git commit, the schema revision, Python,
the databases, the operating system and the libraries that decide behaviour."""

from __future__ import annotations

import getpass
import importlib.metadata
import os
import platform
import socket
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
from alembic.config import Config
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = (
    "fastapi",
    "starlette",
    "pydantic",
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "aiosqlite",
    "psycopg",
    "argon2-cffi",
    "biip",
    "python-barcode",
    "fpdf2",
    "uvicorn",
    "tzdata",
    "pytest",
    "pytest-asyncio",
    "schemathesis",
    "zxing-cpp",
)


@dataclass(frozen=True)
class Commit:
    sha: str  # "unknown" outside a git checkout
    dirty: bool  # tracked changes or untracked files not ignored

    @property
    def short(self) -> str:
        return self.sha[:12]

    def describe(self) -> str:
        return f"{self.sha} (uncommitted changes)" if self.dirty else self.sha


def commit(root: Path = ROOT) -> Commit:
    try:
        sha = _git(root, "rev-parse", "HEAD")
        dirty = bool(_git(root, "status", "--porcelain"))
    except (OSError, subprocess.CalledProcessError):
        return Commit("unknown", False)
    return Commit(sha, dirty)


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


def sutrace_version() -> str:
    """The version the code declares (api.main.VERSION, without importing the app)."""
    for line in (ROOT / "api" / "main.py").read_text(encoding="utf-8").splitlines():
        if line.startswith("VERSION = "):
            return line.split("=", 1)[1].strip().strip("\"'")
    return "unknown"


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def alembic_head(root: Path = ROOT) -> str:
    """The newest migration in migrations/versions: the revision a current schema is at."""
    script = ScriptDirectory.from_config(Config(str(root / "alembic.ini")))
    return script.get_current_head() or "none"


def postgresql_version(conninfo: str) -> str:
    """The server's version, or why it could not be read."""
    try:
        with psycopg.connect(conninfo.replace("+psycopg", ""), connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        return f"not reachable ({str(exc).strip().splitlines()[0]})"
    return str(row[0]) if row else "unknown"


def time_zone_data() -> str:
    """Where IANA zone data comes from, with its release when it says."""
    version = installed_version("tzdata")
    if version:
        return f"tzdata package {version}"
    for folder in ("/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo"):
        table = Path(folder) / "tzdata.zi"
        if table.exists():
            first = table.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
            release = first[0].removeprefix("# version ").strip() if first else "unknown"
            return f"system {folder} (release {release})"
    return "not found"


def host() -> list[tuple[str, str]]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return [
        ("Operating system", platform.platform()),
        ("Machine", f"{platform.machine()}, {os.cpu_count()} CPUs"),
        ("Host name", socket.gethostname()),
        ("Run by (OS user)", user),
    ]


def python() -> str:
    return f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})"


def libraries() -> str:
    found = ((name, installed_version(name)) for name in LIBRARIES)
    return ", ".join(f"{name} {version}" for name, version in found if version)


def test_environment(postgresql_url: str) -> list[tuple[str, str]]:
    """The environment section of the executed report."""
    head = commit()
    return [
        ("sutrace version", sutrace_version()),
        ("Git commit", head.describe()),
        ("Schema revision (Alembic head)", alembic_head()),
        ("Python", python()),
        ("SQLite library", sqlite3.sqlite_version),
        ("PostgreSQL server", postgresql_version(postgresql_url)),
        ("PostgreSQL used", without_password(postgresql_url)),
        ("Time zone data", time_zone_data()),
        *host(),
        ("Libraries", libraries()),
    ]


def without_password(url: str) -> str:
    """A database URL safe to print: any password replaced by ***."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, at, location = rest.rpartition("@")
    user, colon, _ = credentials.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}{at}{location}"
