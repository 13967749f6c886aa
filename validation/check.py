"""Is every requirement traced? Collects the tests (no test runs) and checks the trace.

    python -m validation.check [pytest arguments]

Fails (exit 1) when a requirement has no test, or a high-risk requirement has no negative test
or no test on SQLite or on PostgreSQL; a trace naming an unknown requirement stops collection.
Also prints the next free requirement id and how many tests trace nothing.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections import Counter

import pytest

from validation.pytest_plugin import traced_test
from validation.requirements import RequirementsError, load
from validation.trace import TracedTest, gaps


class _Collector:
    def __init__(self) -> None:
        self.tests: list[TracedTest] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.tests = [traced_test(item) for item in session.items]


def collect(arguments: list[str]) -> tuple[int, list[TracedTest], str]:
    """Run pytest's collection only; returns its exit code, the traced tests and its output."""
    collector = _Collector()
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        status = pytest.main(
            ["--collect-only", "-q", "-p", "no:cacheprovider", *arguments], plugins=[collector]
        )
    return int(status), collector.tests, output.getvalue()


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    try:
        catalogue = load()
    except RequirementsError as exc:
        print("validation.check: the requirements file is malformed:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    status, tests, output = collect(arguments)
    if status != 0:
        print(output, file=sys.stderr)
        print(f"validation.check: collection failed (pytest exit {status})", file=sys.stderr)
        return 1
    found = gaps(catalogue, tests, executed=False)
    untraced = sorted({t.function for t in tests if not t.requirements})
    risks = Counter(r.risk for r in catalogue.requirements)
    print(
        f"validation.check: {len(catalogue.requirements)} requirements ({risks['high']} high, "
        f"{risks['medium']} medium, {risks['low']} low risk); {len(tests)} tests collected, "
        f"{sum(1 for t in tests if t.requirements)} traced."
    )
    if untraced:
        print(f"{len(untraced)} test function(s) trace no requirement:")
        for function in untraced:
            print(f"  {function}")
    print(f"Next free requirement id: {catalogue.next_id()}")
    if found:
        print(f"{len(found)} problem(s):")
        for gap in found:
            print(f"  {gap.requirement}: {gap.problem}")
        return 1
    print(
        "OK: every requirement is traced; every high-risk one has a negative test and tests "
        "on SQLite and PostgreSQL."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
