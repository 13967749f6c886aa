#!/usr/bin/env bash
# Install sutrace with its test tools into .venv and run every test, on SQLite and PostgreSQL,
# then write the executed validation package into validation-package/<date>-<commit>/ (see the
# README, "Validation"). Arguments go to pytest: --run-crash, --validation-strict, -k ...
# PostgreSQL: SUTRACE_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test); with no server
# there the PostgreSQL half is skipped and the summary says so (SUTRACE_REQUIRE_PG=1 forbids that).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
exec .venv/bin/python -m pytest --validation-package validation-package "$@"
