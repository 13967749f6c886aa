"""The executed validation package: a dated folder that holds the report (HTML and PDF), the
results as JSON and CSV, the requirements as executed, and a SHA-256 manifest of every file.

    validation-package/2026-12-03T1200Z-<commit>/
        report.html  report.pdf  results.json  test-results.csv  trace-matrix.csv
        requirements.yaml  MANIFEST.sha256

`sha256sum -c MANIFEST.sha256`, run in the folder, proves that no file changed since.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from validation.environment import Commit
from validation.manifest import MANIFEST, write_manifest
from validation.requirements import Catalogue
from validation.trace import DATABASE_NAMES, FAILED, Gap, TracedTest, gaps, matrix, summarise

__all__ = ["MANIFEST", "Run", "write_package"]


@dataclass
class Run:
    """One executed test run, as the pytest plugin saw it."""

    catalogue: Catalogue
    tests: list[TracedTest]
    started: datetime
    finished: datetime
    arguments: list[str]
    commit: Commit
    version: str
    environment: list[tuple[str, str]]
    collected: int  # before -k, -m or --deselect took any away
    complete: bool  # the whole suite (no paths, -k, -m or --deselect given) ran to its end
    exit_status: int = 0
    gaps: list[Gap] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.gaps = gaps(self.catalogue, self.tests, executed=True)

    @property
    def name(self) -> str:
        return f"{self.started:%Y-%m-%dT%H%MZ}-{self.commit.short}"

    @property
    def failures(self) -> list[TracedTest]:
        return [t for t in self.tests if t.outcome in FAILED]

    @property
    def passed(self) -> bool:
        """Every requirement verified and no test failed."""
        return not self.gaps and not self.failures and self.exit_status == 0

    def verified(self, requirement_id: str) -> bool:
        return not any(g.requirement == requirement_id for g in self.gaps)

    def outcomes(self) -> Counter[str]:
        return Counter(t.outcome or "not run" for t in self.tests)

    def outcomes_on(self, database: str | None) -> Counter[str]:
        return Counter(t.outcome or "not run" for t in self.tests if t.database == database)


def write_package(root: Path, run: Run) -> Path:
    """Write the package into a new folder under `root`; returns the folder."""
    from validation.render import to_html, to_pdf
    from validation.report import build_document

    folder = _new_folder(root, run.name)
    document = build_document(run)
    (folder / "report.html").write_text(to_html(document), encoding="utf-8")
    (folder / "report.pdf").write_bytes(to_pdf(document))
    (folder / "results.json").write_text(_results_json(run), encoding="utf-8")
    (folder / "test-results.csv").write_text(_tests_csv(run), encoding="utf-8")
    (folder / "trace-matrix.csv").write_text(_matrix_csv(run), encoding="utf-8")
    shutil.copyfile(run.catalogue.path, folder / "requirements.yaml")
    write_manifest(folder)
    return folder


def _new_folder(root: Path, name: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        folder = root / (name if attempt == 1 else f"{name}-{attempt}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise RuntimeError(f"no free folder name for {name} under {root}")


def _results_json(run: Run) -> str:
    requirements = []
    for requirement in run.catalogue.requirements:
        rows = matrix(requirement, run.tests)
        requirements.append(
            {
                **asdict(requirement),
                "verified": run.verified(requirement.id),
                "gaps": [g.problem for g in run.gaps if g.requirement == requirement.id],
                "tests": [
                    {
                        "test": row.function,
                        "negative": row.negative,
                        "results": {
                            str(db): dict(counts)
                            for db, counts in sorted(
                                row.results.items(), key=lambda item: str(item[0])
                            )
                        },
                    }
                    for row in rows
                ],
            }
        )
    body = {
        "run": {
            "name": run.name,
            "version": run.version,
            "commit": run.commit.sha,
            "dirty": run.commit.dirty,
            "started": run.started.isoformat(),
            "finished": run.finished.isoformat(),
            "arguments": run.arguments,
            "collected": run.collected,
            "complete": run.complete,
            "executed": len(run.tests),
            "exit_status": run.exit_status,
            "passed": run.passed,
            "outcomes": dict(run.outcomes()),
        },
        "environment": dict(run.environment),
        "requirements": requirements,
        "tests": [asdict(t) for t in run.tests],
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _tests_csv(run: Run) -> str:
    rows = [["test", "database", "outcome", "duration_s", "requirements", "negative", "message"]]
    for t in run.tests:
        rows.append(
            [
                t.nodeid,
                DATABASE_NAMES[t.database],
                t.outcome or "not run",
                f"{t.duration:.3f}",
                " ".join(sorted(t.requirements)),
                " ".join(sorted(r for r, negative in t.requirements.items() if negative)),
                t.message,
            ]
        )
    return _csv(rows)


def _matrix_csv(run: Run) -> str:
    rows = [
        [
            "requirement",
            "risk",
            "verified",
            "test",
            "negative",
            "SQLite",
            "PostgreSQL",
            "no database",
        ]
    ]
    for requirement in run.catalogue.requirements:
        for row in matrix(requirement, run.tests):
            rows.append(
                [
                    requirement.id,
                    requirement.risk,
                    "yes" if run.verified(requirement.id) else "no",
                    row.function,
                    "yes" if row.negative else "",
                    summarise(row.results.get("sqlite")),
                    summarise(row.results.get("postgresql")),
                    summarise(row.results.get(None)),
                ]
            )
    return _csv(rows)
