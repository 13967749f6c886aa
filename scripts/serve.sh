#!/usr/bin/env bash
# Install sutrace, build its SQLite database with Alembic, seed demo data, and serve it with /docs.
# DATABASE_URL, SITE_TIMEZONE, BOOTSTRAP_ADMIN_KEY, HOST and PORT may be set; see the README.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[png]'
export DATABASE_URL="${DATABASE_URL:-sqlite:///./sutrace.db}"
export BOOTSTRAP_ADMIN_KEY="${BOOTSTRAP_ADMIN_KEY:-demo-admin-key-change-me}"
.venv/bin/alembic upgrade head
.venv/bin/python -m scripts.seed_demo
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
echo "sutrace: admin key: $BOOTSTRAP_ADMIN_KEY"
echo "sutrace: open http://$HOST:$PORT/docs (demo keys are printed above); stop with Ctrl-C"
# One log line per request: the service's JSON line (with the request id), not uvicorn's text one.
exec .venv/bin/uvicorn api.main:app --host "$HOST" --port "$PORT" --no-access-log
