"""Tests traced to requirements, and what keeps a requirement from being verified.

The same rules judge a collection (`python -m validation.check`: is every requirement traced?)
and an executed run (the package: did every requirement's tests pass?). A high-risk requirement
needs a negative test (one that shows the service refusing or excluding what the requirement
forbids, marked `negative=True`) and a test on each database.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from validation.requirements import Catalogue, Requirement

DATABASES = ("sqlite", "postgresql")
DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", None: "no database"}
PASSED = "passed"
FAILED = ("failed", "error", "xpassed")  # an xpass means an expected failure stopped failing


@dataclass
class TracedTest:
    """One collected test item (one parameter set, one database) and what it traces."""

    nodeid: str
    function: str  # the node id without its parameters: one row of the trace matrix
    database: str | None  # the `db_url` parameter; None for tests that use no database
    requirements: dict[str, bool]  # requirement id -> negative
    outcome: str | None = None  # None until run: passed failed error skipped xfailed xpassed
    duration: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class Gap:
    requirement: str
    problem: str


@dataclass
class MatrixRow:
    """One test function under one requirement: its results on each database."""

    function: str
    negative: bool
    results: dict[str | None, Counter[str]] = field(default_factory=dict)


def traced(requirement: Requirement, tests: list[TracedTest]) -> list[TracedTest]:
    return [t for t in tests if requirement.id in t.requirements]


def gaps(catalogue: Catalogue, tests: list[TracedTest], *, executed: bool) -> list[Gap]:
    """What keeps each requirement from being verified: before a run every collected test
    counts, after a run only the tests that passed."""
    found: list[Gap] = []
    for requirement in catalogue.requirements:
        mine = traced(requirement, tests)
        counted = [t for t in mine if t.outcome == PASSED] if executed else mine
        word = "passing " if executed else ""
        if not counted:
            found.append(Gap(requirement.id, f"no {word}test"))
        elif requirement.risk == "high":
            if not any(t.requirements[requirement.id] for t in counted):
                found.append(Gap(requirement.id, f"high risk: no {word}negative test"))
            for database in DATABASES:
                if not any(t.database == database for t in counted):
                    name = DATABASE_NAMES[database]
                    found.append(Gap(requirement.id, f"high risk: no {word}test on {name}"))
        if executed:
            failed = [t for t in mine if t.outcome in FAILED]
            if failed:
                found.append(Gap(requirement.id, f"{len(failed)} traced test(s) failed"))
            missing = [t for t in mine if t.outcome is None]
            if missing:
                found.append(Gap(requirement.id, f"{len(missing)} traced test(s) did not run"))
    return found


def unknown_requirements(catalogue: Catalogue, tests: list[TracedTest]) -> list[str]:
    """Traces that name a requirement the file does not define."""
    known = catalogue.ids()
    return [
        f"{t.nodeid} traces {r}, which {catalogue.path.name} does not define"
        for t in tests
        for r in sorted(t.requirements)
        if r not in known
    ]


def matrix(requirement: Requirement, tests: list[TracedTest]) -> list[MatrixRow]:
    """The requirement's tests, one row per test function, results counted per database."""
    rows: dict[str, MatrixRow] = {}
    for test in traced(requirement, tests):
        row = rows.setdefault(test.function, MatrixRow(test.function, False))
        row.negative = row.negative or test.requirements[requirement.id]
        row.results.setdefault(test.database, Counter())[test.outcome or "not run"] += 1
    return list(rows.values())


def summarise(counts: Counter[str] | None) -> str:
    """`passed`, `16 passed`, `15 passed, 1 failed`; empty when the test does not run there."""
    if not counts:
        return ""
    if len(counts) == 1 and sum(counts.values()) == 1:
        return next(iter(counts))
    order = ("passed", "failed", "error", "xpassed", "skipped", "xfailed", "not run")
    return ", ".join(f"{counts[o]} {o}" for o in order if counts[o])


def tone(counts: Counter[str] | None) -> str | None:
    """How a result reads at a glance: bad (a failure), warn (skipped, not run), ok."""
    if not counts:
        return None
    if any(outcome in FAILED for outcome in counts):
        return "bad"
    if set(counts) - {PASSED}:
        return "warn"
    return "ok"
