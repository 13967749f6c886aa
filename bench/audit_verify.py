"""GET /audit/verify over a million events, streamed in chunks, never loaded whole.

    .venv/bin/python -m bench.audit_verify [--events 1000000]

Writes a valid chain of `--events` audit events into a fresh PostgreSQL database with COPY
(hashes computed as the sequencer does), serves the app, and times one verify call.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from bench.harness import fresh_database, machine, make_users, served
from models.audit import GENESIS_HASH
from models.users import Role
from services.db import canonical_json
from services.trust.audit import event_hash, format_at


def generate(conninfo: str, count: int) -> str:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prev = GENESIS_HASH
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        base = 0  # a fresh database: the chain starts here
        with cur.copy(
            "COPY audit_event (seq, at, actor, action, entity_type, entity_id, before, "
            "after, reason, signature, prev_hash, hash) FROM STDIN"
        ) as copy:
            for i in range(count):
                seq = base + i + 1
                at = start + timedelta(microseconds=i * 1000)
                after = {"id": i, "outcome": "accepted", "batch": f"B-{i % 200:04d}"}
                body = {
                    "seq": seq,
                    "at": format_at(at),
                    "actor": "bench",
                    "action": "scan.record",
                    "entity_type": "scan",
                    "entity_id": str(i),
                    "before": None,
                    "after": after,
                    "reason": None,
                    "signature": None,
                }
                digest = event_hash(prev, body)
                copy.write_row(
                    (
                        seq,
                        at,
                        "bench",
                        "scan.record",
                        "scan",
                        str(i),
                        None,
                        canonical_json(after),
                        None,
                        None,
                        prev,
                        digest,
                    )
                )
                prev = digest
        cur.execute("UPDATE audit_head SET seq = %s, hash = %s", (base + count, prev))
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE audit_event")
    return prev


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with fresh_database("postgresql") as url:
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        started = time.perf_counter()
        generate(conninfo, args.events)
        print(f"wrote {args.events:,} chained events in {time.perf_counter() - started:.0f} s")
        keys = make_users(url, [Role.auditor])  # their events are sequenced after the chain
        headers = {"Authorization": f"Bearer {keys[Role.auditor]}"}
        with served(url) as base, httpx.Client(base_url=f"{base}/api/v1", timeout=600) as http:
            started = time.perf_counter()
            result = http.get("/audit/verify", headers=headers).json()
            elapsed = time.perf_counter() - started
        print(
            f"GET /audit/verify: {elapsed:.1f} s for {result.get('events', 0):,} events, "
            f"ok={result['ok']}"
        )


if __name__ == "__main__":
    main()
