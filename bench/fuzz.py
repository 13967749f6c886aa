"""The long hostile-input run: schemathesis against the served app's own OpenAPI schema, with
keys of the roles each operation allows, at least 10,000 generated requests in all.

    .venv/bin/python -m bench.fuzz [--db postgresql|sqlite] [--examples 200]
"""

from __future__ import annotations

import argparse
import time

from bench.harness import fresh_database, machine, make_users, served
from models.users import Role
from tests.api.test_fuzz import fuzz


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--examples", type=int, default=200, help="per operation")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with fresh_database(args.db) as url:
        keys = make_users(url, list(Role))
        with served(url) as base:
            started = time.perf_counter()
            failures = fuzz(
                base, keys, args.examples, progress=lambda line: print(line, flush=True)
            )
            elapsed = time.perf_counter() - started
    print(
        f"{args.db}: up to {args.examples} examples per operation in {elapsed:.0f} s; "
        f"{len(failures)} operations failed"
    )
    for failure in failures:
        print(" ", failure)


if __name__ == "__main__":
    main()
