#!/usr/bin/env bash
# Run the backup beat in the foreground, or inspect / clear its lock.
#   ./start-scheduler.sh                 run the beat (a second one waits as a hot standby)
#   ./start-scheduler.sh --check-lock    who holds the lock (exit 0 ok, 1 stale, 2 Redis down)
#   ./start-scheduler.sh --clear-lock [--force]
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || scripts/bootstrap.sh
exec .venv/bin/python -m beat "$@"
