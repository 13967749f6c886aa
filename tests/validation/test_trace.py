"""The trace rules and the requirements file, without running any test."""

from __future__ import annotations

from pathlib import Path

import pytest

from validation.requirements import REQUIREMENTS_FILE, RequirementsError, load
from validation.trace import TracedTest, gaps, unknown_requirements

pytestmark = pytest.mark.req("URS-053")

REQUIREMENTS = """
clauses:
  "ALCOA+ Accurate": Records are free of errors.
requirements:
  - id: URS-001
    area: Line
    statement: A used unit is refused.
    risk: high
    impact: patient safety
    rationale: Used twice.
    clauses: ["ALCOA+ Accurate"]
  - id: URS-002
    area: Line
    statement: Scans are listed.
    risk: low
    impact: data integrity
    rationale: Nobody can see them.
    clauses: []
"""


def _test(
    name: str, database: str | None, outcome: str | None = None, **traces: bool
) -> TracedTest:
    return TracedTest(
        nodeid=f"tests/test_x.py::{name}[{database}]",
        function=f"tests/test_x.py::{name}",
        database=database,
        requirements={k.replace("_", "-"): v for k, v in traces.items()},
        outcome=outcome,
    )


@pytest.fixture
def catalogue_file(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.yaml"
    path.write_text(REQUIREMENTS, encoding="utf-8")
    return path


def test_the_project_requirements_are_well_formed() -> None:
    catalogue = load(REQUIREMENTS_FILE)
    assert len(catalogue.requirements) >= 50
    assert all(r.statement.endswith(".") for r in catalogue.requirements)
    assert catalogue.next_id() == f"URS-{len(catalogue.requirements) + 1:03d}"
    cited = {c for r in catalogue.requirements for c in r.clauses}
    assert cited == set(catalogue.clauses), "every clause listed is cited, and the reverse"


def test_a_high_risk_requirement_needs_a_negative_test_on_each_database(
    catalogue_file: Path,
) -> None:
    catalogue = load(catalogue_file)
    only_sqlite = [_test("test_a", "sqlite", URS_001=True), _test("test_b", None, URS_002=False)]
    assert [(g.requirement, g.problem) for g in gaps(catalogue, only_sqlite, executed=False)] == [
        ("URS-001", "high risk: no test on PostgreSQL")
    ]
    positive_only = [
        _test("test_a", "sqlite", URS_001=False),
        _test("test_a", "postgresql", URS_001=False),
        _test("test_b", None, URS_002=False),
    ]
    assert [g.problem for g in gaps(catalogue, positive_only, executed=False)] == [
        "high risk: no negative test"
    ]
    assert [g.problem for g in gaps(catalogue, [], executed=False)] == ["no test", "no test"]


def test_after_a_run_only_passing_tests_count(catalogue_file: Path) -> None:
    catalogue = load(catalogue_file)
    tests = [
        _test("test_a", "sqlite", "passed", URS_001=True),
        _test("test_a", "postgresql", "skipped", URS_001=True),
        _test("test_b", None, "failed", URS_002=False),
        _test("test_c", None, "passed", URS_002=False),
    ]
    found = [(g.requirement, g.problem) for g in gaps(catalogue, tests, executed=True)]
    assert found == [
        ("URS-001", "high risk: no passing test on PostgreSQL"),
        ("URS-002", "1 traced test(s) failed"),
    ]
    tests[1].outcome = "passed"
    tests[2].outcome = "passed"
    assert gaps(catalogue, tests, executed=True) == []


def test_a_trace_to_an_unknown_requirement_is_named(catalogue_file: Path) -> None:
    catalogue = load(catalogue_file)
    [problem] = unknown_requirements(catalogue, [_test("test_a", None, URS_099=False)])
    assert "URS-099" in problem and "test_a" in problem


@pytest.mark.req("URS-053", negative=True)
@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("id: URS-002", "id: URS-001"), "URS-001 is defined twice"),
        (("risk: low", "risk: severe"), "risk must be one of"),
        (("impact: data integrity", "impact: cost"), "impact must be one of"),
        (("clauses: []", 'clauses: ["21 CFR 999.1"]'), "'21 CFR 999.1' is not listed"),
        (("statement: Scans are listed.", "statement: Scans are listed"), "full stop"),
        (("id: URS-002", "id: REQ-2"), "the id must look like URS-014"),
        (("    rationale: Nobody can see them.\n", ""), "'rationale' is missing"),
    ],
)
def test_a_malformed_requirements_file_is_refused(
    tmp_path: Path, change: tuple[str, str], named: str
) -> None:
    path = tmp_path / "requirements.yaml"
    path.write_text(REQUIREMENTS.replace(*change), encoding="utf-8")
    with pytest.raises(RequirementsError) as refused:
        load(path)
    assert any(named in problem for problem in refused.value.problems), refused.value.problems
