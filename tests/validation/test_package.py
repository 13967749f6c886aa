"""The executed validation package, written by the pytest plugin from a small suite of its own:
the trace matrix, every result, deviations, the environment and a manifest that proves them."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

from validation.manifest import MANIFEST, verify_manifest

pytestmark = pytest.mark.req("URS-053")
ROOT = Path(__file__).resolve().parents[2]

REQUIREMENTS = """
clauses:
  "21 CFR 211.84(a)": Each lot is withheld from use until released.
requirements:
  - id: URS-001
    area: Line
    statement: A quarantined lot is refused at the line.
    risk: high
    impact: patient safety
    rationale: Unexamined material would be used.
    clauses: ["21 CFR 211.84(a)"]
  - id: URS-002
    area: Reports
    statement: The batch report lists every scan.
    risk: medium
    impact: data integrity
    rationale: QA would review an incomplete record.
    clauses: []
"""
CONFTEST = """
import pytest

@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    return request.param
"""
SUITE = """
import pytest

@pytest.mark.req("URS-001")
def test_released_lot_is_accepted(db_url):
    pass

@pytest.mark.req("URS-001", negative=True)
def test_quarantined_lot_is_refused(db_url):
    pass

@pytest.mark.req("URS-002")
@pytest.mark.parametrize("n", [1, 2])
def test_report_lists_scans(n):
    assert n == 1, "scan 2 is missing from the report"

@pytest.mark.req("URS-002")
@pytest.mark.skip(reason="printer not connected")
def test_report_prints():
    pass

def test_untraced():
    pass
"""


def _suite(tmp_path: Path, suite: str = SUITE) -> Path:
    folder = tmp_path / "suite"
    folder.mkdir(parents=True)
    (folder / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    req: traces\naddopts = -p no:cacheprovider\n", encoding="utf-8"
    )
    (folder / "requirements.yaml").write_text(REQUIREMENTS, encoding="utf-8")
    (folder / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (folder / "test_line.py").write_text(suite, encoding="utf-8")
    return folder


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "validation.pytest_plugin",
            "--validation-requirements",
            str(folder / "requirements.yaml"),
            *args,
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_package_traces_every_requirement_to_its_results(tmp_path: Path) -> None:
    folder = _suite(tmp_path)
    done = _pytest(folder, "--validation-package", str(tmp_path / "out"))
    assert done.returncode == 1, done.stdout  # a test failed
    [package] = list((tmp_path / "out").iterdir())
    assert f"Validation package: {package}" in done.stdout
    assert sorted(p.name for p in package.iterdir()) == [
        MANIFEST,
        "report.html",
        "report.pdf",
        "requirements.yaml",
        "results.json",
        "test-results.csv",
        "trace-matrix.csv",
    ]
    assert verify_manifest(package) == []

    results = json.loads((package / "results.json").read_text(encoding="utf-8"))
    assert results["run"]["executed"] == 8 and results["run"]["passed"] is False
    assert results["run"]["outcomes"] == {"passed": 6, "failed": 1, "skipped": 1}
    assert {
        "sutrace version",
        "Git commit",
        "Schema revision (Alembic head)",
        "Python",
        "SQLite library",
        "PostgreSQL server",
        "Operating system",
    } <= set(results["environment"])
    first, second = results["requirements"]
    assert first["id"] == "URS-001" and first["verified"] is True
    assert {t["test"].split("::")[1]: t["results"] for t in first["tests"]} == {
        "test_released_lot_is_accepted": {"postgresql": {"passed": 1}, "sqlite": {"passed": 1}},
        "test_quarantined_lot_is_refused": {"postgresql": {"passed": 1}, "sqlite": {"passed": 1}},
    }
    assert second["verified"] is False and second["gaps"] == ["1 traced test(s) failed"]

    rows = list(csv.DictReader(io.StringIO((package / "test-results.csv").read_text())))
    assert len(rows) == 8
    failed = next(r for r in rows if r["outcome"] == "failed")
    assert "scan 2 is missing" in failed["message"] and failed["requirements"] == "URS-002"
    negative = next(r for r in rows if "refused[sqlite]" in r["test"])
    assert negative["negative"] == "URS-001" and negative["database"] == "SQLite"

    page = (package / "report.html").read_text(encoding="utf-8")
    for shown in ("FAIL", "URS-001", "NOT VERIFIED", "printer not connected", "DEV-001"):
        assert shown in page, shown
    text = "".join(p.extract_text() for p in pypdf.PdfReader(package / "report.pdf").pages)
    for shown in (
        "executed validation report",
        "URS-002",
        "NOT VERIFIED",
        "scan 2 is missing",
        "211.84(a)",
        "Approved by (QA)",
    ):
        assert shown in text, shown

    (package / "results.json").write_text("{}", encoding="utf-8")
    assert verify_manifest(package) == ["results.json changed"]


@pytest.mark.req("URS-053", negative=True)
def test_strict_fails_a_green_run_that_leaves_a_requirement_unverified(tmp_path: Path) -> None:
    folder = _suite(tmp_path, SUITE.replace("negative=True", "").replace("n == 1", "n"))
    assert _pytest(folder).returncode == 0
    done = _pytest(folder, "--validation-strict")
    assert done.returncode == 1, done.stdout
    assert "URS-001: high risk: no passing negative test" in done.stdout
    assert "URS-002" not in done.stdout.split("requirements not verified")[1]


@pytest.mark.req("URS-053", negative=True)
def test_a_trace_to_an_unknown_requirement_stops_the_run(tmp_path: Path) -> None:
    folder = _suite(tmp_path, SUITE.replace('req("URS-002")', 'req("URS-999")'))
    done = _pytest(folder)
    assert done.returncode == 4, done.stdout  # a usage error, before any test runs
    assert "URS-999" in done.stderr and "passed" not in done.stdout
    done = _pytest(_suite(tmp_path / "b", SUITE.replace('req("URS-002")', "req(2)")))
    assert done.returncode == 4 and "not a requirement id" in done.stderr
