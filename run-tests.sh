#!/usr/bin/env bash
# Installs everything from the project's own files and runs every check and test:
# ruff, mypy, the front end's API types against the schema, its unit tests, then the Python
# suite (real PostgreSQL, Redis, Celery workers and beats, sshd, and the browser tests in
# headless Chromium).
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) and Redis on 127.0.0.1:6379.
set -euo pipefail
cd "$(dirname "$0")"

export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/devicevault}
export REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
export DEVICEVAULT_VAR_DIR=${DEVICEVAULT_VAR_DIR:-$PWD/var/test}
unset DEVICEVAULT_CONFIG DEVICEVAULT_DISPLAY_TIMEZONE

scripts/bootstrap.sh --test --frontend
scripts/test-services.sh

echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy schedules beat devices project
if command -v npm >/dev/null 2>&1; then
  # frontend/src/api/schema.d.ts must be what /api/schema/ gives today (scripts/api-types.sh).
  echo "== api types"; scripts/api-types.sh --check
  echo "== vitest"; (cd frontend && npm test --silent)
fi
echo "== pytest"; exec .venv/bin/python -m pytest "$@"
