"""The executed validation report: summary, environment, requirements, the trace matrix
(requirement -> tests -> result per database), deviations, every test executed, the clauses
cited, and the approval block for the paper copy."""

from __future__ import annotations

from collections import Counter

from validation.package import MANIFEST, Run
from validation.render import Cell, Document, Fields, Heading, Paragraph, Signatures, Table
from validation.trace import (
    DATABASE_NAMES,
    DATABASES,
    FAILED,
    matrix,
    summarise,
    tone,
    traced,
)

OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed", "not run")
HOW_TO_READ = (
    "A requirement is verified when at least one of its tests passed and none failed; a "
    "high-risk requirement also needs a passing negative test (one that shows the service "
    "refusing or excluding what the requirement forbids) and passing tests on both SQLite and "
    "PostgreSQL. Every test that uses a database runs once on each; tests of code that uses no "
    "database (the GS1 parser, the label encoder, the validation tools' own logic) run once and "
    "are listed under 'no database'. Counts such as '16 passed' are the parameter sets of one "
    "test function."
)


def build_document(run: Run) -> Document:
    verdict = "PASS" if run.passed else "FAIL"
    document = Document(
        title=f"sutrace {run.version}: executed validation report",
        subtitle=(
            f"Run {run.name}. Commit {run.commit.describe()}. Started "
            f"{run.started:%Y-%m-%d %H:%M:%S} UTC."
        ),
        running_head=f"sutrace {run.version} - executed validation report {run.name} - {verdict}",
    )
    _summary(document, run)
    document.add(Heading("2 Environment"), Fields(run.environment))
    _overview(document, run)
    _trace(document, run)
    _deviations(document, run)
    _tests(document, run)
    _clauses(document, run)
    _approval(document, run)
    return document


def _count_text(counts: Counter[str]) -> str:
    return ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if counts[o]) or "none"


def _summary(document: Document, run: Run) -> None:
    requirements = run.catalogue.requirements
    unverified = sorted({g.requirement for g in run.gaps})
    failures = run.failures
    if run.passed:
        verdict = Cell("PASS: every requirement verified, no test failed", "ok", bold=True)
    else:
        verdict = Cell(
            f"FAIL: {len(unverified)} requirement(s) not verified, {len(failures)} test(s) failed",
            "bad",
            bold=True,
        )
    risks = Counter(r.risk for r in requirements)
    selection = f"{len(run.tests)} of {run.collected} collected"
    if not run.complete:
        selection += " (a selection of the suite: not a complete execution)"
    duration = (run.finished - run.started).total_seconds()
    document.add(
        Heading("1 Summary"),
        Fields(
            [
                ("Verdict", verdict),
                (
                    "Requirements",
                    f"{len(requirements)} ({risks['high']} high, {risks['medium']} medium, "
                    f"{risks['low']} low risk): {len(requirements) - len(unverified)} verified"
                    + (f", not verified: {', '.join(unverified)}" if unverified else ""),
                ),
                ("Tests executed", selection),
                ("Outcomes", _count_text(run.outcomes())),
                ("Deviations", f"{len(_deviation_rows(run))}, listed in section 5"),
                ("Started", f"{run.started:%Y-%m-%d %H:%M:%S} UTC"),
                ("Finished", f"{run.finished:%Y-%m-%d %H:%M:%S} UTC ({duration:.0f} s)"),
                ("Command", "pytest " + " ".join(run.arguments)),
                ("pytest exit status", str(run.exit_status)),
                (
                    "Integrity",
                    f"Every file of the package is listed with its SHA-256 in {MANIFEST}; "
                    f"check with: sha256sum -c {MANIFEST}",
                ),
            ]
        ),
    )
    rows: list[list[str | Cell]] = []
    for database in (*DATABASES, None):
        counts = run.outcomes_on(database)
        if not counts:
            continue
        seconds = sum(t.duration for t in run.tests if t.database == database)
        rows.append(
            [
                DATABASE_NAMES[database],
                str(sum(counts.values())),
                *(str(counts[o]) for o in OUTCOMES[:4]),
                f"{seconds:.0f}",
            ]
        )
    document.add(
        Table(
            ["Database", "Tests", "passed", "failed", "error", "skipped", "seconds"],
            [22, 10, 10, 10, 10, 10, 10],
            rows,
        ),
        Paragraph(HOW_TO_READ, small=True),
    )


def _overview(document: Document, run: Run) -> None:
    rows: list[list[str | Cell]] = []
    for requirement in run.catalogue.requirements:
        mine = traced(requirement, run.tests)
        functions = matrix(requirement, run.tests)
        negatives = sum(1 for row in functions if row.negative)
        per_db = [
            Counter(t.outcome or "not run" for t in mine if t.database == db)
            for db in (*DATABASES, None)
        ]
        verified = run.verified(requirement.id)
        rows.append(
            [
                Cell(requirement.id, bold=True, link=requirement.id),
                requirement.area,
                f"{requirement.risk} ({requirement.impact})",
                f"{len(functions)} ({negatives} negative)",
                *(Cell(summarise(counts), tone(counts)) for counts in per_db),
                Cell("verified", "ok") if verified else Cell("NOT VERIFIED", "bad", bold=True),
            ]
        )
    document.add(
        Heading("3 Requirements", new_page=True),
        Paragraph(
            "Each requirement with its risk, the number of test functions that trace it, and the "
            "results of their tests on each database; section 4 lists the tests one by one."
        ),
        Table(
            [
                "ID",
                "Area",
                "Risk (impact)",
                "Test functions",
                "SQLite",
                "PostgreSQL",
                "No database",
                "Status",
            ],
            [9, 13, 16, 13, 13, 13, 11, 12],
            rows,
        ),
    )


def _trace(document: Document, run: Run) -> None:
    document.add(
        Heading("4 Trace matrix", new_page=True),
        Paragraph("Requirement -> tests -> result per database. " + HOW_TO_READ, small=True),
    )
    area = None
    for requirement in run.catalogue.requirements:
        if requirement.area != area:
            area = requirement.area
            document.add(Heading(f"4.{_area_number(run, area)} {area}", level=1))
        verified = run.verified(requirement.id)
        status = "verified" if verified else "NOT VERIFIED"
        document.add(
            Heading(
                f"{requirement.id} ({requirement.risk} risk, {requirement.impact}): {status}",
                level=2,
                anchor=requirement.id,
            ),
            Paragraph(requirement.statement),
            Paragraph(
                f"If it fails: {requirement.rationale} Serves: "
                + ("; ".join(requirement.clauses) or "no regulatory clause (operational)")
                + ".",
                small=True,
            ),
        )
        problems = [g.problem for g in run.gaps if g.requirement == requirement.id]
        if problems:
            document.add(Paragraph("Not verified: " + "; ".join(problems) + ".", small=True))
        rows: list[list[str | Cell]] = []
        for row in matrix(requirement, run.tests):
            rows.append(
                [row.function, "yes" if row.negative else ""]
                + [
                    Cell(summarise(row.results.get(db)), tone(row.results.get(db)))
                    for db in (*DATABASES, None)
                ]
            )
        if rows:
            document.add(
                Table(
                    ["Test", "Negative", "SQLite", "PostgreSQL", "No database"],
                    [52, 10, 13, 13, 12],
                    rows,
                    small=True,
                )
            )


def _area_number(run: Run, area: str) -> int:
    areas: list[str] = []
    for requirement in run.catalogue.requirements:
        if requirement.area not in areas:
            areas.append(requirement.area)
    return areas.index(area) + 1


def _deviation_rows(run: Run) -> list[list[str | Cell]]:
    rows: list[list[str | Cell]] = []
    for gap in run.gaps:
        rows.append(
            [Cell("not verified", "bad"), Cell(gap.requirement, link=gap.requirement), gap.problem]
        )
    for test in run.tests:
        if test.outcome in FAILED:
            rows.append([Cell(f"{test.outcome}", "bad"), test.nodeid, test.message])
        elif test.outcome != "passed":
            rows.append([Cell(f"{test.outcome or 'not run'}", "warn"), test.nodeid, test.message])
    return [[f"DEV-{n:03d}", *row, ""] for n, row in enumerate(rows, start=1)]


def _deviations(document: Document, run: Run) -> None:
    rows = _deviation_rows(run)
    document.add(
        Heading("5 Deviations", new_page=True),
        Paragraph(
            "Every requirement not verified, and every test that did not pass (failed, error, "
            "skipped, expected failure), with the reason pytest gave. QA records the assessment "
            "of each on the paper copy."
            if rows
            else "None: every requirement is verified and every test passed."
        ),
    )
    if rows:
        document.add(
            Table(
                ["No.", "Kind", "Requirement or test", "Reason", "QA assessment"],
                [8, 10, 40, 28, 14],
                rows,
                small=True,
            )
        )


def _tests(document: Document, run: Run) -> None:
    rows: list[list[str | Cell]] = []
    for number, test in enumerate(run.tests, start=1):
        outcome = test.outcome or "not run"
        rows.append(
            [
                str(number),
                test.nodeid,
                DATABASE_NAMES[test.database],
                Cell(
                    outcome, "ok" if outcome == "passed" else "bad" if outcome in FAILED else "warn"
                ),
                f"{test.duration:.2f}",
                " ".join(
                    f"{r}{'*' if negative else ''}"
                    for r, negative in sorted(test.requirements.items())
                ),
            ]
        )
    document.add(
        Heading("6 Executed tests", new_page=True),
        Paragraph(
            "Every test executed, in the order it ran, with its database, outcome, duration in "
            "seconds and the requirements it traces (* marks a negative test of that "
            "requirement)."
        ),
        Table(
            ["#", "Test", "Database", "Outcome", "Seconds", "Requirements"],
            [6, 54, 12, 9, 8, 18],
            rows,
            small=True,
        ),
    )


def _clauses(document: Document, run: Run) -> None:
    citing: dict[str, list[str]] = {clause: [] for clause in run.catalogue.clauses}
    for requirement in run.catalogue.requirements:
        for clause in requirement.clauses:
            citing[clause].append(requirement.id)
    rows: list[list[str | Cell]] = [
        [Cell(clause, bold=True), text, ", ".join(citing[clause]) or "-"]
        for clause, text in run.catalogue.clauses.items()
    ]
    document.add(
        Heading("7 Regulations cited", new_page=True),
        Paragraph(
            "What each cited clause asks, in summary (the regulation's own text governs), and the "
            "requirements that serve it."
        ),
        Table(["Clause", "What it asks", "Requirements"], [20, 58, 22], rows, small=True),
    )


def _approval(document: Document, run: Run) -> None:
    document.add(
        Heading("8 Approval", new_page=True),
        Paragraph(
            f"This report records the automated execution of sutrace's test suite on commit "
            f"{run.commit.describe()}. By signing, the reviewer confirms that each deviation in "
            "section 5 was assessed and that the environment in section 2 represents the "
            "release under validation."
        ),
        Signatures(["Executed by", "Reviewed by (QA)", "Approved by (QA)"]),
    )
