"""The benchmark (`python -m bench`) at its smallest size still runs and prints its whole table.

No timing is asserted: the figures belong to the machine. What must not rot is the command,
its set-up of the real PostgreSQL and Redis, the anchors it measures again, and the rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

pytestmark = [pytest.mark.processes, pytest.mark.timeout(400)]

ROOT = Path(__file__).resolve().parents[1]

EXPECTED_ROWS = (
    "-- 1. Idle tick (nothing due)",
    "ours: 200 devices / 5 schedules",
    "ours: 200 devices / 5 schedules: SQL queries per tick",
    "django-celery-beat: 10 entries (one per schedule)",
    "RedBeat: 10 entries (one per schedule)",
    "-- 2. Fan-out: due → last task in the broker",
    "ours: 300 devices, due → last task in the broker",
    "ours: real beat process, catch-up fan-out of 300 devices at start",
    "django-celery-beat: 30 due entries (one per device) → all published",
    "RedBeat: 30 due entries (one per device) → all published",
    "redis-benchmark -t lpush with -P 64",
    "redis-py pipelined LPUSH of a 1 KB string",
    "Celery send_task loop over 100 devices",
    "-- 3. Lateness: due instant → publish",
    "-- 4. Failover after kill -9 of the leader",
    "ours: leader kill -9 → standby `leading:`",
    "RedBeat: leader kill -9 → standby holds the lock",
    "RedBeat: default lock timeout",
    "django-celery-beat: two beats, one entry every 1 s",
    "-- 6. Calendar API",
    "GET calendar, 30 days",
    "GET calendar: SQL queries per request",
    "-- 7. Memory",
    "ours: peak RSS of a real beat, 300 devices",
    "django-celery-beat: peak RSS of a real beat, 100 entries",
    "RedBeat: peak RSS of a real beat, 100 entries",
    "-- 8. Devices list API",
    "GET devices, first page: 500 devices",
    "a user seeing half: SQL queries per request",
    "GET devices ordered by -last_backup, first page",
    "GET devices ?backup_status=stale, first page",
    "GET devices ?backup_status=never, first page",
    "-- 9. Analytics API",
    "GET analytics, 30 days",
    "group_by=day",
    "Side by side (medians)",
    "publish 300 device tasks",
    "failover after kill -9 of the leader",
)


def test_quick_benchmark_runs_against_real_services_and_prints_every_row() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=380, check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out[-4000:]}\n{proc.stderr[-4000:]}"
    expected = EXPECTED_ROWS
    if find_spec("redbeat") is None:  # the `bench` extra is not installed: said in the table
        expected = tuple(r for r in expected if not r.startswith("RedBeat")) + (
            "RedBeat: not measured",)
    missing = [row for row in expected if row not in out]
    assert not missing, f"rows missing from the table: {missing}\n{out}"
    header = next(line for line in out.splitlines() if line.startswith("figure "))
    for column in ("runs", "median", "min", "max", "unit", "goal", "vs anchors"):
        assert column in header
    assert "FAILED" not in out
