"""The cost of a cheap request: `/healthz` (middleware, one `SELECT 1`) and `GET /me` (the same
plus the API key lookup), closed-loop, on a fresh PostgreSQL database served as in production.

    .venv/bin/python -m bench.cheap [--seconds 10] [--workers 2] [--connections 32]

Prints requests/s with p50/p99 for each, and the server's CPU time per request (user + system
of every uvicorn process, from /proc): on a machine shared with other work the rate says little,
the CPU per request still says what a request costs. Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from bench.harness import fresh_database, machine, make_users, summary
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
        process, base = start({"DATABASE_URL": url}, workers=args.workers)
        try:
            for label, path, headers in (
                ("/healthz", "/healthz", ""),
                ("GET /me (key)", "/api/v1/me", f"Authorization: Bearer {key}\r\n"),
            ):

                def request(_: int, p: str = path, h: str = headers) -> tuple[str, str, bytes, str]:
                    return "GET", p, b"", h

                used = cpu_seconds(process.pid)
                result = asyncio.run(drive(base, args.connections, args.seconds, request))
                used = cpu_seconds(process.pid) - used
                done = sum(result.statuses.values())
                print(
                    f"{label}: {done / result.seconds:.0f}/s statuses={result.statuses} "
                    f"{summary(result.latencies_ms)}; server CPU {used / done * 1000:.2f} ms "
                    "per request"
                )
        finally:
            kill(process)


if __name__ == "__main__":
    main()
