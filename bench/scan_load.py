"""Scan throughput at the line: a realistic mix on PostgreSQL served as in production, closed-loop
and at a fixed arrival rate, a hot lot, `/healthz` on the same server, and the ceiling of the
same stack doing one INSERT per request.

    .venv/bin/python -m bench.scan_load [--seconds 20] [--workers 2] [--connections 32]
        [--rate 100] [--stations 50] [--quick]

Seeds a fresh database (bench/scan_seed.py: every batch has a BOM, a tenth of the lots were made
by another batch), serves the app with uvicorn and `--workers` workers, and runs, in order:
1. `/healthz`, closed-loop at `--connections`;
2. the scan mix, closed-loop at `--connections` (each a keep-alive scanner sending its next scan
   when the last is answered): 85 % units of released lots, 10 % lot-tracked scans by lot code,
   5 % units of quarantined or recalled lots (blocked), each into a random batch in progress;
3. the same mix at a fixed arrival rate (`--rate` scans/s from `--stations` stations; latency
   from when each scan was due, so queueing counts);
4. the hot lot: `--connections` scanners using units of one lot, into random batches;
5. the ceiling (bench/ceiling_app.py), unless `--quick`.
Then it checks that every 201 answered is a committed, accepted scan, and prints one table with
the load average at the end of each run: figures from a machine shared with other work say so.
`--quick` runs each for 8 s (about two minutes in all). Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from bench.harness import fresh_database, load_average, machine, make_users, percentile, served
from bench.loadgen import Result, drive, drive_at_rate
from bench.scan_seed import LOTS, Line, seed
from models.users import Role

Request = tuple[str, str, bytes, str]


class Scans:
    """One stream of scan requests over the whole run: no unit or client scan id is used twice."""

    def __init__(self, keys: list[str], line: Line) -> None:
        self.keys, self.line = keys, line
        self.sent = 0
        self.rng = random.Random(11)

    def mixed(self, worker: int) -> Request:
        kind = self.sent % 20
        if kind == 0:
            barcode = self.rng.choice(self.line.block)
        elif kind in (1, 2):
            barcode = self.rng.choice(self.line.lots)
        else:
            barcode = self._take(self.line.accept)
        return self._scan(worker, barcode)

    def hot(self, worker: int) -> Request:
        return self._scan(worker, self._take(self.line.hot))

    def _take(self, units: list[str]) -> str:
        if not units:
            raise RuntimeError("the seeded units ran out: run with fewer --seconds")
        return units.pop()

    def _scan(self, worker: int, barcode: str) -> Request:
        self.sent += 1
        body = {
            "barcode": barcode,
            "batch": self.rng.choice(self.line.batches),
            "station": f"ST-{worker:02d}",
            "quantity": 1,
            "client_scan_id": f"w{worker}-{self.sent}",
        }
        headers = f"Authorization: Bearer {self.keys[worker % len(self.keys)]}\r\n"
        return "POST", "/api/v1/scans", json.dumps(body).encode(), headers


@dataclass
class Row:
    label: str
    figure: str
    target: str
    load: str


def measured(label: str, result: Result, ok_status: int, target: str) -> Row:
    lat = result.latencies_ms
    ok = result.statuses.get(ok_status, 0)
    statuses = ", ".join(f"{s}: {n:,}" for s, n in sorted(result.statuses.items()))
    figure = (
        f"{ok / result.seconds:,.0f} {'accepted' if ok_status == 201 else 'ok'}/s, "
        f"p50 {statistics.median(lat):.1f} ms, p99 {percentile(lat, 0.99):.1f} ms ({statuses})"
    )
    return Row(label, figure, target, load_average())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--stations", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="8 s per run, no ceiling")
    args = parser.parse_args()
    seconds = 8.0 if args.quick else args.seconds
    print(f"machine: {machine()}; load average {load_average()}")
    with fresh_database("postgresql") as url:
        line = seed(url, hot_units=int(max(5_000, 1_500 * seconds)))
        keys = list(make_users(url, [Role.operator, Role.supervisor, Role.qa]).values())
        print(
            f"seeded {LOTS:,} lots ({line.from_batches} made by a batch), "
            f"{len(line.accept) + len(line.block):,} units, {len(line.batches)} batches in "
            f"progress with a BOM each, a hot lot of {len(line.hot):,} units"
        )
        rows, answered = run(url, args, seconds, Scans(keys, line))
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo) as conn:
            stored = conn.execute("SELECT count(*) FROM scan WHERE outcome = 'accepted'").fetchone()
            conn.execute("CREATE TABLE bench_ceiling (id bigserial PRIMARY KEY, payload text)")
            conn.commit()
        committed = stored[0] if stored else 0
        if not args.quick:
            rows.append(ceiling(url, args, seconds))
    print_table(rows, args)
    verdict = "every one" if committed == answered else "MISMATCH"
    print(
        f"durability: {answered:,} answered 201, {committed:,} accepted scans committed ({verdict})"
    )


def run(url: str, args: argparse.Namespace, seconds: float, scans: Scans) -> tuple[list[Row], int]:
    """The runs on one served app; returns their rows and how many scans were answered 201."""
    n, c = args.workers, args.connections

    def health(_: int) -> Request:
        return "GET", "/healthz", b"", ""

    def closed(name: str, request: Callable[[int], Request]) -> Result:
        print(f"running {name} ...", flush=True)
        return asyncio.run(drive(base, c, seconds, request))

    with served(url, workers=n) as base:
        asyncio.run(drive(base, 4, 1, health))
        rows = [
            measured(f"/healthz, {c} connections", closed("/healthz", health), 200, ">= 3,000/s")
        ]
        warm = asyncio.run(drive(base, 4, 2, scans.mixed))
        mix = closed("the scan mix", scans.mixed)
        rows.append(
            measured(
                f"scan mix, closed loop, {c} connections", mix, 201, ">= 1,000/s, p99 <= 50 ms"
            )
        )
        print(f"running the scan mix at {args.rate:g}/s ...", flush=True)
        paced = asyncio.run(drive_at_rate(base, args.stations, args.rate, seconds, scans.mixed))
        rows.append(
            measured(
                f"scan mix at {args.rate:g} scans/s, {args.stations} stations",
                paced,
                201,
                "p99 <= 15 ms",
            )
        )
        hot = closed("the hot lot", scans.hot)
        rows.append(measured(f"hot lot, {c} scanners on one lot", hot, 201, ">= 500/s"))
    answered = sum(r.statuses.get(201, 0) for r in (warm, mix, paced, hot))
    return rows, answered


def ceiling(url: str, args: argparse.Namespace, seconds: float) -> Row:
    with served(url, workers=args.workers, app="bench.ceiling_app:app") as base:

        def insert(_: int) -> Request:
            return "POST", "/insert", b'{"barcode": "U-00000001"}', ""

        asyncio.run(drive(base, 4, 2, insert))
        result = asyncio.run(drive(base, args.connections, seconds, insert))
    return measured("ceiling: one INSERT per request, same stack", result, 201, "-")


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    print(f"\nPostgreSQL, {args.workers} uvicorn workers, load generator on the same machine")
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("label", "figure", "target")]
    head = Row("run", "figure", "target", "load average at its end")
    for row in [head, *rows]:
        print(
            f"{row.label:<{widths[0]}}  {row.figure:<{widths[1]}}  "
            f"{row.target:<{widths[2]}}  {row.load}"
        )


if __name__ == "__main__":
    main()
