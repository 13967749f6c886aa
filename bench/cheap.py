"""The cost of a cheap request: `/healthz` (the middleware; the database probe at most once a
second per worker) and `GET /me` (the middleware, the key lookup in a unit of work), closed-loop,
on a fresh PostgreSQL database served as in production; and, for reference, FastAPI alone
answering a constant `/healthz` (bench/ceiling_app.py) served the same way.

    .venv/bin/python -m bench.cheap [--seconds 10] [--workers 2] [--connections 32]

Prints requests/s with p50/p99 for each, the server's CPU time per request (user + system of
every uvicorn process, from /proc) and the load average when it ended: on a machine shared with
other work the rate says little, the CPU per request still says what a request costs. Asserts
nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from bench.harness import fresh_database, load_average, machine, make_users, summary
from bench.loadgen import drive
from models.users import Role
from tests.served import kill, start


def cpu_seconds(group: int) -> float:
    """User + system CPU of every process in the process group `group`."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    print(machine())
    with fresh_database("postgresql") as url:
        key = make_users(url, [Role.operator])[Role.operator]
        runs = (
            ("/healthz", "api.main:app", "/healthz", ""),
            ("GET /me (key)", "api.main:app", "/api/v1/me", f"Authorization: Bearer {key}\r\n"),
            ("FastAPI alone: /healthz", "bench.ceiling_app:app", "/healthz", ""),
        )
        for label, app, path, headers in runs:
            print(measure(url, app, label, path, headers, args))


def measure(url: str, app: str, label: str, path: str, headers: str, args: Any) -> str:
    """Serve `app`, warm it for a second, then drive GET `path` closed-loop."""
    process, base = start({"DATABASE_URL": url}, workers=args.workers, app=app, wait=180)
    try:

        def request(_: int) -> tuple[str, str, bytes, str]:
            return "GET", path, b"", headers

        asyncio.run(drive(base, 4, 1, request))
        used = cpu_seconds(process.pid)
        result = asyncio.run(drive(base, args.connections, args.seconds, request))
        used = cpu_seconds(process.pid) - used
    finally:
        kill(process)
    done = sum(result.statuses.values())
    return (
        f"{label}: {done / result.seconds:,.0f}/s statuses={result.statuses} "
        f"{summary(result.latencies_ms)}; server CPU {used / done * 1000:.2f} ms per request; "
        f"load average {load_average()}"
    )


if __name__ == "__main__":
    main()
