"""pytest plugin: reads each test's `@pytest.mark.req(...)` traces, records every result during
the normal run, and at the end writes the executed validation package (validation.package).

    @pytest.mark.req("URS-014")                  # this test verifies URS-014
    @pytest.mark.req("URS-011", negative=True)   # ...and shows what URS-011 refuses

`--validation-package DIR` writes the package into a dated folder under DIR;
`--validation-strict` fails the run when a requirement is not verified (CI). A trace naming a
requirement that validation/requirements.yaml does not define stops the run at collection.
A test's database is the value of its `db_url` parameter (tests/conftest.py).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from validation.requirements import (
    ID_PATTERN,
    REQUIREMENTS_FILE,
    Catalogue,
    RequirementsError,
    load,
)
from validation.trace import TracedTest, gaps, unknown_requirements

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"  # as tests/conftest.py


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("validation", "validation evidence (validation/)")
    group.addoption(
        "--validation-package",
        metavar="DIR",
        default=None,
        help="write the executed validation package into a dated folder under DIR",
    )
    group.addoption(
        "--validation-strict",
        action="store_true",
        help="fail the run when a requirement is not verified (no passing test; high risk: no "
        "passing negative test or no passing test on each database)",
    )
    group.addoption(
        "--validation-requirements",
        metavar="FILE",
        default=str(REQUIREMENTS_FILE),
        help="the requirements file (default: validation/requirements.yaml)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(Recorder(config), "validation-recorder")


def traced_test(item: pytest.Item) -> TracedTest:
    """What one collected test traces; raises UsageError for a malformed trace."""
    requirements: dict[str, bool] = {}
    for mark in item.iter_markers("req"):
        negative = mark.kwargs.get("negative", False)
        if set(mark.kwargs) - {"negative"} or not isinstance(negative, bool) or not mark.args:
            raise pytest.UsageError(
                f"{item.nodeid}: write the trace as @pytest.mark.req('URS-014', ...) with "
                "negative=True for a negative test, and nothing else"
            )
        for requirement in mark.args:
            if not isinstance(requirement, str) or not ID_PATTERN.fullmatch(requirement):
                raise pytest.UsageError(
                    f"{item.nodeid}: {requirement!r} is not a requirement id like URS-014"
                )
            requirements[requirement] = requirements.get(requirement, False) or negative
    callspec = getattr(item, "callspec", None)
    database = callspec.params.get("db_url") if callspec is not None else None
    return TracedTest(
        nodeid=item.nodeid,
        function=item.nodeid.split("[", 1)[0],
        database=database,
        requirements=requirements,
    )


class Recorder:
    """Collects the traced tests and their results; writes the package when asked."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.started = datetime.now(UTC)
        self.tests: dict[str, TracedTest] = {}
        self.collected = 0
        self.catalogue: Catalogue | None = None
        self.package: Path | None = None
        self.unverified: list[str] = []

    def load_catalogue(self) -> Catalogue:
        if self.catalogue is None:
            try:
                self.catalogue = load(Path(self.config.getoption("validation_requirements")))
            except RequirementsError as exc:
                raise pytest.UsageError("\n".join(exc.problems)) from exc
        return self.catalogue

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.collected = len(items)  # before -k, -m and --deselect take any away

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        tests = [traced_test(item) for item in session.items]
        unknown = unknown_requirements(self.load_catalogue(), tests)
        if unknown:
            raise pytest.UsageError("\n".join(unknown))
        self.tests = {t.nodeid: t for t in tests}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test = self.tests.get(report.nodeid)
        if test is None:
            return
        test.duration += report.duration
        expected_failure = hasattr(report, "wasxfail")
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.passed:
                test.outcome = "xpassed" if expected_failure else "passed"
            elif report.skipped:
                test.outcome = "xfailed" if expected_failure else "skipped"
            else:
                test.outcome = "failed" if report.when == "call" else "error"
            test.message = _message(report)
        elif report.when == "teardown" and report.failed:
            test.outcome = "error"
            test.message = "teardown: " + _message(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.config.option.collectonly or not self.tests:
            return
        tests = list(self.tests.values())
        catalogue = self.load_catalogue()
        self.unverified = [
            f"{g.requirement}: {g.problem}" for g in gaps(catalogue, tests, executed=True)
        ]
        folder = self.config.getoption("validation_package")
        if folder:
            self.package = _write(self, catalogue, tests, Path(folder), int(exitstatus))
        if self.config.getoption("validation_strict") and self.unverified and exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.tests or self.config.option.collectonly:
            return
        strict = self.config.getoption("validation_strict")
        if self.unverified and (strict or self.package):
            terminalreporter.section("requirements not verified", red=strict, yellow=not strict)
            for line in self.unverified:
                terminalreporter.write_line(line)
        if self.package is not None:
            terminalreporter.write_line(f"Validation package: {self.package}", bold=True)


def _message(report: pytest.TestReport) -> str:
    """One line saying why a test did not pass: the skip reason or the assertion."""
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0][:500]
    lines = str(longrepr).strip().splitlines()
    return lines[-1][:500] if lines else ""


def _write(
    recorder: Recorder, catalogue: Catalogue, tests: list[TracedTest], root: Path, status: int
) -> Path:
    from validation import environment
    from validation.package import Run, write_package

    run = Run(
        catalogue=catalogue,
        tests=tests,
        started=recorder.started,
        finished=datetime.now(UTC),
        arguments=[str(a) for a in recorder.config.invocation_params.args],
        commit=environment.commit(),
        version=environment.sutrace_version(),
        environment=environment.test_environment(os.environ.get("SUTRACE_TEST_PG", DEFAULT_PG)),
        collected=recorder.collected,
        complete=(
            recorder.config.args_source == pytest.Config.ArgsSource.TESTPATHS
            and recorder.collected == len(tests)
            and all(t.outcome is not None for t in tests)
        ),
        exit_status=status,
    )
    return write_package(root if root.is_absolute() else Path.cwd() / root, run)
