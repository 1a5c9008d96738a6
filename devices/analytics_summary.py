"""Analytics summaries: each closed local day's results, summed once, for `devices.analytics`.

PostgreSQL only (SQLite computes every window from the results). A summarised day is a row of
`devices_analytics_day` (display zone, local day, its UTC span, `ready`) and its cells in
`devices_analytics_cell`: for each device group, the day's figures per schedule (kind `s`),
per collection group (kind `c`) and for the device group as a whole (kind `g`). A cell holds
the counts per status, every distinct duration that ran (whole microseconds, ascending) with
how many results took it, and every distinct error (its first `ERROR_CHARS` characters) of the
failures with its count: enough to merge cells into exact nearest-rank percentiles and exact
top errors, whatever the window. Group 0 and schedule 0 stand for none.

Who builds: `build()` (the periodic task `devicevault.analytics_summaries`, every ten minutes,
and the benchmark), for the days of the last `BUILD_DAYS` that ended more than `CLOSED_AFTER`
ago and have no result still queued or running, newest first.

What forgets a day: triggers (migration 0012) delete its `devices_analytics_day` row when a
result of that day is inserted, deleted or changes its outcome, times, error, schedule or
device, and every day when the results table is truncated or a device moves to another
device or collection group (figures follow a device's groups now, as the access rule does).
The next build summarises it again; until then the analytics read that day's results.

A build cannot miss a concurrent change: it claims the days first (commits their rows, not
ready), then waits until every transaction that was writing when the claim committed has
ended (those holding a writer's lock on the results or the devices), then sums each day in
its own transaction and marks it ready only if its row is still there. A writer either
committed before the sums were read (and is in them), or ran its trigger after the claim
was visible (and deleted the row: the day is dropped, or forgotten).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.models import Device, DeviceBackupResult

logger = logging.getLogger(__name__)

DAY_TABLE = "devices_analytics_day"
CELL_TABLE = "devices_analytics_cell"
CLOSED_AFTER = timedelta(hours=1)  # the triggers' interval (migration 0012): keep them equal
BUILD_DAYS = 366  # the longest analytics window
DAYS_PER_RUN = 62  # a run's work, newest days first (about 0.5 s a day at 100,000 devices)
WAIT_FOR_WRITERS = 30.0  # seconds; a build waiting longer gives its claimed days up
STALE_CLAIM = timedelta(minutes=30)  # a claim never made ready (a crashed build) is dropped
ERROR_CHARS = 200
COUNTED = (Status.SUCCESS, Status.FAILED, Status.MISSED_WINDOW, Status.SKIPPED)
PENDING = (Status.QUEUED, Status.RUNNING)


def available() -> bool:
    """Summaries exist in PostgreSQL only."""
    return connection.vendor == "postgresql"


def zone_key(zone: ZoneInfo) -> str:
    return str(zone.key)


@dataclass(frozen=True)
class DaySpan:
    """A local day and the UTC instants it begins and ends."""

    day: date
    begins: datetime
    ends: datetime


def day_span(day: date, zone: ZoneInfo) -> DaySpan:
    from devices.selectors import local_midnight

    return DaySpan(day, local_midnight(day, zone).astimezone(UTC),
                   local_midnight(day + timedelta(days=1), zone).astimezone(UTC))


def days_to_build(
    *, now: datetime, zone: ZoneInfo, covered: Iterable[date], pending: Iterable[datetime],
    days: int = BUILD_DAYS, limit: int = DAYS_PER_RUN,
) -> list[DaySpan]:
    """The days a build should summarise, newest first: of the last `days` local days, those
    that ended at least `CLOSED_AFTER` before `now`, are not summarised (`covered`) and hold
    no result still pending (`pending`: their `scheduled_for`); at most `limit`."""
    covered = set(covered)
    busy = {instant.astimezone(zone).date() for instant in pending}
    today = now.astimezone(zone).date()
    found: list[DaySpan] = []
    for back in range(1, days + 1):
        span = day_span(today - timedelta(days=back), zone)
        if span.ends > now - CLOSED_AFTER or span.day in covered or span.day in busy:
            continue
        found.append(span)
        if len(found) >= limit:
            break
    return found


def build(*, now: datetime, zone: ZoneInfo, days: int = BUILD_DAYS,
          limit: int = DAYS_PER_RUN) -> int:
    """Summarise the days `days_to_build` names; returns how many were made ready."""
    if not available():
        return 0
    key = zone_key(zone)
    results = DeviceBackupResult._meta.db_table
    first = now - timedelta(days=days + 1)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DAY_TABLE} WHERE NOT ready AND claimed_at < %s",
                       [now - STALE_CLAIM])
        cursor.execute(f"DELETE FROM {CELL_TABLE} c WHERE NOT EXISTS "
                       f"(SELECT 1 FROM {DAY_TABLE} d WHERE d.id = c.day_id)")
        cursor.execute(f"SELECT day FROM {DAY_TABLE} WHERE zone = %s", [key])
        covered = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"SELECT scheduled_for FROM {results} WHERE status = ANY(%s) "
            f"AND scheduled_for >= %s AND scheduled_for < %s",
            [list(PENDING), first, now - CLOSED_AFTER],
        )
        pending = [row[0] for row in cursor.fetchall()]
    spans = days_to_build(now=now, zone=zone, covered=covered, pending=pending, days=days,
                          limit=limit)
    if not spans:
        return 0
    claimed: list[tuple[int, DaySpan]] = []
    with connection.cursor() as cursor:  # autocommit: each claim is visible at once
        for span in spans:
            cursor.execute(
                f"INSERT INTO {DAY_TABLE} (zone, day, begins, ends) VALUES (%s, %s, %s, %s) "
                f"ON CONFLICT (zone, day) DO NOTHING RETURNING id",
                [key, span.day, span.begins, span.ends],
            )
            row = cursor.fetchone()
            if row:
                claimed.append((row[0], span))
        if not claimed:
            return 0
        if not _wait_for_writers(cursor):
            cursor.execute(f"DELETE FROM {DAY_TABLE} WHERE id = ANY(%s)",
                           [[pk for pk, _ in claimed]])
            logger.warning("analytics summaries: writers still busy after %.0f s; nothing "
                           "built", WAIT_FOR_WRITERS)
            return 0
    made = 0
    for pk, span in claimed:
        began = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_CELLS_SQL, [span.begins, span.ends, pk])
            cursor.execute(f"UPDATE {DAY_TABLE} SET ready = true WHERE id = %s", [pk])
            if cursor.rowcount != 1:  # forgotten meanwhile: its cells go with the rollback
                transaction.set_rollback(True)
                continue
        made += 1
        logger.debug("analytics summaries: %s in %.2f s", span.day, time.perf_counter() - began)
    logger.info("analytics summaries: %d of %d days summarised (zone %s)", made, len(spans), key)
    return made


def _wait_for_writers(cursor: object) -> bool:
    """Wait until every transaction that is writing to the results or the devices now (it
    holds a writer's lock on either table) has ended; False after `WAIT_FOR_WRITERS`."""
    cursor.execute(  # type: ignore[attr-defined]
        "SELECT COALESCE(array_agg(DISTINCT virtualtransaction), '{}') FROM pg_locks "
        "WHERE locktype = 'relation' AND pid <> pg_backend_pid() "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND relation = ANY(ARRAY[%s::regclass, %s::regclass]) AND mode IN ("
        "'RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')",
        [DeviceBackupResult._meta.db_table, Device._meta.db_table],
    )
    writers = cursor.fetchone()[0]  # type: ignore[attr-defined]
    deadline = time.monotonic() + WAIT_FOR_WRITERS
    while writers:
        cursor.execute(  # type: ignore[attr-defined]
            "SELECT COALESCE(array_agg(DISTINCT virtualtransaction), '{}') FROM pg_locks "
            "WHERE virtualtransaction = ANY(%s)", [writers],
        )
        writers = cursor.fetchone()[0]  # type: ignore[attr-defined]
        if writers and time.monotonic() > deadline:
            return False
        if writers:
            time.sleep(0.05)
    return True


_STATUSES = ", ".join(f"'{s}'" for s in COUNTED)
_SUMS = ", ".join(f"SUM(CASE WHEN status = '{s}' THEN 1 ELSE 0 END)" for s in COUNTED)
# One day's cells: each result three times (its schedule, its collection group, its device
# group as a whole), each copy keyed by its device group too.
_CELLS_SQL = f"""
INSERT INTO {CELL_TABLE} (day_id, kind, key, device_group, total, success, failed,
    missed_window, skipped, durations, duration_counts, errors, error_counts)
WITH r AS (
    SELECT COALESCE(dev.device_group_id, 0) AS g, COALESCE(dev.collection_group_id, 0) AS c,
        COALESCE(res.schedule_id, 0) AS s, res.status AS status,
        SUBSTR(res.error, 1, {ERROR_CHARS}) AS e,
        CASE WHEN res.started_at IS NOT NULL AND res.finished_at IS NOT NULL
        THEN (EXTRACT(EPOCH FROM (res.finished_at - res.started_at)) * 1000000)::bigint
        END AS us
    FROM {DeviceBackupResult._meta.db_table} res
    JOIN {Device._meta.db_table} dev ON dev.id = res.device_id
    WHERE res.scheduled_for >= %s AND res.scheduled_for < %s
    AND res.status IN ({_STATUSES})
), x AS (
    SELECT 's' AS kind, s AS key, g, status, e, us FROM r
    UNION ALL SELECT 'c', c, g, status, e, us FROM r
    UNION ALL SELECT 'g', g, g, status, e, us FROM r
), counts AS (
    SELECT kind, key, g, COUNT(*) AS total, {_SUMS} FROM x GROUP BY kind, key, g
), d1 AS (
    SELECT kind, key, g, us, COUNT(*) AS n FROM x WHERE us IS NOT NULL GROUP BY kind, key, g, us
), d AS (
    SELECT kind, key, g, array_agg(us ORDER BY us) AS us, array_agg(n ORDER BY us) AS n
    FROM d1 GROUP BY kind, key, g
), e1 AS (
    SELECT kind, key, g, e, COUNT(*) AS n FROM x WHERE status = '{Status.FAILED}' AND e <> ''
    GROUP BY kind, key, g, e
), er AS (
    SELECT kind, key, g, array_agg(e ORDER BY e) AS e, array_agg(n ORDER BY e) AS n
    FROM e1 GROUP BY kind, key, g
)
SELECT %s, counts.*, COALESCE(d.us, '{{}}'), COALESCE(d.n, '{{}}'), COALESCE(er.e, '{{}}'),
    COALESCE(er.n, '{{}}')
FROM counts LEFT JOIN d USING (kind, key, g) LEFT JOIN er USING (kind, key, g)
"""
