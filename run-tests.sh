#!/usr/bin/env bash
# Installs everything from the project's own files and runs every check and test:
# ruff, mypy, the front end's API types against the schema, its unit tests, then the Python
# suite (real PostgreSQL, Redis, Celery workers and beats, sshd, and the browser tests in
# headless Chromium), then the suite again on SQLite, the embedded default.
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
echo "== mypy"; .venv/bin/mypy schedules beat devices project alerts
if command -v npm >/dev/null 2>&1; then
  # frontend/src/api/schema.d.ts must be what /api/schema/ gives today (scripts/api-types.sh).
  echo "== api types"; scripts/api-types.sh --check
  echo "== vitest"; (cd frontend && npm test --silent)
fi
echo "== pytest (PostgreSQL)"; .venv/bin/python -m pytest --durations=25 "$@"
# The embedded default is SQLite: everything again on it (each web, worker and beat writes to
# one file) except what measures or fuzzes the server rather than the database, the
# devicevault.sh tests, which run SQLite already (a fresh clone in an empty namespace), the
# chaos fleet, which runs on a private PostgreSQL of its own whatever DATABASE_URL says, and
# the RabbitMQ and Sentinel tests, which are about the broker and the lock's server (their
# database side is the Redis path's, tested on SQLite).
echo "== pytest (SQLite)"
DATABASE_URL="sqlite:///$DEVICEVAULT_VAR_DIR/sqlite/devicevault.sqlite3" \
  DEVICEVAULT_VAR_DIR="$DEVICEVAULT_VAR_DIR/sqlite" \
  exec .venv/bin/python -m pytest --durations=25 -m "not browser" --ignore=tests/test_bench_smoke.py \
  --ignore=tests/test_api_fuzz.py --ignore=tests/test_devicevault_sh.py \
  --ignore=devices/tests/test_fanout_rabbitmq.py --ignore=devices/tests/test_rabbitmq_processes.py \
  --ignore=devices/tests/test_publisher_sentinel.py --ignore=project/tests/test_redis_sentinel.py \
  --ignore=beat/tests/test_beat_sentinel_processes.py \
  --deselect "beat/tests/test_chaos.py::test_a_fleet_under_random_faults_gets_every_occurrence_collected_once_and_serially" \
  "$@"
