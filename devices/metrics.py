"""Counters the web's /metrics endpoint reads: kept in Redis so the beat needs no web server.

Workers, beats and web processes each count into the same Redis keys (HINCRBY/INCRBY are
atomic), so a counter is the sum over every process and survives their restarts. Recording
never fails the caller: with Redis down a figure is lost, not a backup. A counter that starts
again from 0 (a new Redis) is a counter reset, which Prometheus' rate() already handles.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from django.db import connection
from django.db.models import Count, Min
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from devices.choices import TERMINAL_RESULT_STATUSES
from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.models import DeviceBackupResult
from project.metrics import Scrape, queue_depth_reader

logger = logging.getLogger(__name__)

TASKS_PUBLISHED_KEY = "devicevault:metrics:tasks_published"  # hash: schedule id -> count
BEAT_METRICS_KEY = "devicevault:metrics:beat"  # hash: last fan-out figures of the leader
RESULTS_FINISHED_KEY = "devicevault:metrics:results_finished"  # hash: final status -> count
RESULTS_LOST_KEY = "devicevault:metrics:results_lost"  # integer
DEVICES_STALE_KEY = "devicevault:metrics:devices_stale"  # integer, set by each evaluation
NOTIFICATIONS_SENT_KEY = "devicevault:metrics:notifications_sent"  # hash: kind -> count

NOTIFICATION_KINDS = ("email", "webhook")  # DESIGN.md, "Alerts": exported from the start

# Up to this many rows, counting through the status index costs a few milliseconds: a table
# this small, or a final status this rare, is counted exactly; more come from the planner's
# statistics.
EXACT_COUNT_MAX_ROWS = 100_000  # rows
IN_FLIGHT_STATUSES = (Status.QUEUED, Status.RUNNING)


def _client() -> redis.Redis:
    from project.redis_client import redis_client

    return redis_client()


def count_published(schedule_id: int | None, count: int) -> None:
    """Add `count` device tasks published for the schedule, or for single devices backed up
    now (`none`); never fails the caller."""
    try:
        label = "none" if schedule_id is None else str(schedule_id)
        _client().hincrby(TASKS_PUBLISHED_KEY, label, count)
    except redis.RedisError as exc:
        logger.debug("metrics not recorded: %s", exc)


def record_fanout(**fields: Any) -> None:
    """Remember the leader's last fan-out (lateness, duration, when) for /metrics."""
    try:
        _client().hset(BEAT_METRICS_KEY, mapping={k: str(v) for k, v in fields.items()})
    except redis.RedisError as exc:
        logger.debug("metrics not recorded: %s", exc)


def count_finished(status: str, count: int = 1) -> None:
    """Count `count` results that reached the final `status` (success, failed,
    missed_window, skipped): `devicevault_results_finished_total{status}`.

    Call it once per row, after the write that made the row final has committed, and only
    for rows this call moved there (an UPDATE's row count, never a re-read). A row turned
    `failed` as lost goes through count_results_lost instead, which counts it here too.
    """
    if status not in TERMINAL_RESULT_STATUSES:
        raise ValueError(f"{status!r} is not a final status")
    if count <= 0:
        return
    try:
        _client().hincrby(RESULTS_FINISHED_KEY, str(status), count)
    except redis.RedisError as exc:
        logger.debug("metrics not recorded: %s", exc)


def count_results_lost(count: int = 1) -> None:
    """Count results given up as lost: rows the requeue sweep turned `failed`, with an error
    starting `lost:`, after `collection.max_attempts` deliveries.

    One call moves both `devicevault_results_lost_total` and
    `devicevault_results_finished_total{status="failed"}`, atomically (MULTI): the caller
    must not also call count_finished for these rows.
    """
    if count <= 0:
        return
    try:
        pipe = _client().pipeline(transaction=True)
        pipe.incrby(RESULTS_LOST_KEY, count)
        pipe.hincrby(RESULTS_FINISHED_KEY, str(Status.FAILED), count)
        pipe.execute()
    except redis.RedisError as exc:
        logger.debug("metrics not recorded: %s", exc)


def record_devices_stale(count: int) -> None:
    """Set `devicevault_devices_stale`: the devices the latest staleness evaluation found
    stale (DESIGN.md: no success in `alerts.stale_after_periods` periods of its schedule).
    Until something evaluates staleness the gauge is 0."""
    try:
        _client().set(DEVICES_STALE_KEY, int(count))
    except redis.RedisError as exc:
        logger.debug("metrics not recorded: %s", exc)


def count_notification_sent(kind: str, count: int = 1) -> None:
    """Count notifications delivered through a channel of `kind` (`email`, `webhook`):
    `devicevault_notifications_sent_total{kind}`."""
    try:
        _client().hincrby(NOTIFICATIONS_SENT_KEY, kind, count)
    except redis.RedisError as exc:
        logger.debug("metrics not recorded: %s", exc)


@dataclass(frozen=True, kw_only=True)
class Counters:
    """The second-wave figures as /metrics exports them (0 for what was never counted)."""

    finished: dict[str, int]
    lost: int
    devices_stale: int
    notifications_sent: dict[str, int]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _integers(raw: Mapping[Any, Any], key: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for field, value in raw.items():
        try:
            counts[_text(field)] = int(value)
        except ValueError:
            logger.warning("metrics: ignoring %s field %r", key, field)
    return counts


def _integer(value: Any) -> int:
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def read_counters(client: redis.Redis) -> Counters:
    """Read every counter above in one round trip (raises RedisError when Redis is down)."""
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(RESULTS_FINISHED_KEY)
    pipe.get(RESULTS_LOST_KEY)
    pipe.get(DEVICES_STALE_KEY)
    pipe.hgetall(NOTIFICATIONS_SENT_KEY)
    finished, lost, stale, sent = pipe.execute()
    finished_counts = _integers(finished, RESULTS_FINISHED_KEY)
    sent_counts = _integers(sent, NOTIFICATIONS_SENT_KEY)
    return Counters(
        finished={str(s): finished_counts.get(str(s), 0) for s in TERMINAL_RESULT_STATUSES},
        lost=_integer(lost),
        devices_stale=_integer(stale),
        notifications_sent={
            **{kind: 0 for kind in NOTIFICATION_KINDS}, **sent_counts,
        },
    )


# -- rows by status, for the devicevault_results gauge ---------------------------------------
def result_rows_by_status() -> dict[str, int]:
    """Result rows per status (every status, 0 for none), cheap whatever the table's size.

    - `queued` and `running` are counted exactly, through the (status, queued_at) index:
      the cost follows the work in flight, not the history kept.
    - The final statuses only grow between prunes and make up nearly the whole table. Up to
      EXACT_COUNT_MAX_ROWS rows (and always on SQLite) they are counted exactly. Above it,
      on PostgreSQL, each is the table's live row count times the status' frequency in the
      planner's statistics (`pg_stats`, refreshed by autovacuum's ANALYZE): O(1), and as
      accurate as the last ANALYZE's sample. A final status estimated at no more than
      EXACT_COUNT_MAX_ROWS (a rare one, or one the statistics do not list) is counted
      exactly through the index, where a sample's error would show most.
    """
    rows = _count_by_status(IN_FLIGHT_STATUSES)
    final = _estimated_final_rows() if connection.vendor == "postgresql" else None
    rows.update(final if final is not None else _count_by_status(TERMINAL_RESULT_STATUSES))
    return {str(status): rows.get(str(status), 0) for status in Status.values}


def _count_by_status(statuses: tuple[str, ...]) -> dict[str, int]:
    # order_by() drops the model's default ordering, which would join the GROUP BY.
    counts = (
        DeviceBackupResult.objects.filter(status__in=statuses)
        .order_by().values_list("status").annotate(n=Count("pk"))
    )
    return {str(status): int(n) for status, n in counts}


def _estimated_final_rows() -> dict[str, int] | None:
    """Final statuses from PostgreSQL's statistics; None when the table is small enough to
    count, or has never been analysed (then counting is the only answer)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT greatest(c.reltuples, coalesce(t.n_live_tup, 0)),
                   st.most_common_vals::text::text[], st.most_common_freqs
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_stat_user_tables t ON t.relid = c.oid
            LEFT JOIN pg_stats st ON st.schemaname = n.nspname AND st.tablename = c.relname
                                 AND st.attname = 'status' AND NOT st.inherited
            WHERE c.oid = to_regclass(%s)
            """,
            [DeviceBackupResult._meta.db_table],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    table_rows, values, frequencies = found
    if table_rows <= EXACT_COUNT_MAX_ROWS or values is None:
        return None
    share = dict(zip(values, frequencies, strict=True))
    rows: dict[str, int] = {}
    for status in TERMINAL_RESULT_STATUSES:
        estimate = round(table_rows * share.get(status, 0.0))
        rows[str(status)] = (
            estimate if estimate > EXACT_COUNT_MAX_ROWS
            else DeviceBackupResult.objects.filter(status=status).count()
        )
    return rows


# -- the families this app adds to /metrics (registered in DevicesConfig.ready) -------------
def _read_database() -> tuple[dict[str, int], datetime | None, list[str]]:
    from devices.dispatch.worker import collection_queue_names

    oldest = DeviceBackupResult.objects.filter(status=Status.QUEUED).aggregate(
        oldest=Min("queued_at")
    )["oldest"]
    return result_rows_by_status(), oldest, collection_queue_names()


def _read_redis() -> tuple[dict[str, int], Counters]:
    client = _client()
    counts = _integers(client.hgetall(TASKS_PUBLISHED_KEY), TASKS_PUBLISHED_KEY)
    return counts, read_counters(client)


def collect_metrics(scrape: Scrape) -> Iterable[Metric]:
    """Result rows by status, the oldest queued result, tasks published per schedule, the
    finished/lost/stale/notification counters and the depth of every collection queue.

    `schedule` labels carry the schedule id, never its name (names are free text typed by
    users); `devicevault_queue_depth` needs a Redis or RabbitMQ broker (absent with another).
    """
    from devices.dispatch.queues import DEFAULT_QUEUE

    families: list[Metric] = []
    database = scrape.read("database", _read_database)
    if database is not None:
        rows, oldest, queues = database
        results = GaugeMetricFamily(
            "devicevault_results",
            "Backup result rows by status (final statuses estimated on large PostgreSQL tables).",
            labels=["status"],
        )
        for status, count in rows.items():
            results.add_metric([status], count)
        families += [results, GaugeMetricFamily(
            "devicevault_oldest_queued_result_age_seconds",
            "Age of the oldest result still queued (0 when none is).",
            value=0.0 if oldest is None else scrape.age(oldest),
        )]
    figures = scrape.read("redis", _read_redis)
    if figures is not None:
        published_counts, counters = figures
        published = CounterMetricFamily(
            "devicevault_tasks_published",
            "device.collect tasks the beat and run-now published, by schedule id.",
            labels=["schedule"],
        )
        for schedule_id in sorted(published_counts, key=lambda s: (len(s), s)):
            published.add_metric([schedule_id], published_counts[schedule_id])
        families += [published, *_counter_families(counters)]
    read_depths = queue_depth_reader()
    if read_depths is not None:  # Redis or RabbitMQ; another broker: no queue depths
        names = database[2] if database is not None else [DEFAULT_QUEUE]
        depths = scrape.read("broker", lambda: read_depths(names))
        if depths is not None:
            depth = GaugeMetricFamily(
                "devicevault_queue_depth", "Messages waiting in a collection queue.",
                labels=["queue"],
            )
            for name, size in depths.items():
                depth.add_metric([name], size)
            families.append(depth)
    return families


def _counter_families(counters: Counters) -> list[Metric]:
    finished = CounterMetricFamily(
        "devicevault_results_finished",
        "Results that reached a final status (lost ones count as failed), by status.",
        labels=["status"],
    )
    for status, count in counters.finished.items():
        finished.add_metric([status], count)
    sent = CounterMetricFamily(
        "devicevault_notifications_sent",
        "Notifications delivered, by channel kind.", labels=["kind"],
    )
    for kind in sorted(counters.notifications_sent):
        sent.add_metric([kind], counters.notifications_sent[kind])
    return [
        finished,
        CounterMetricFamily(
            "devicevault_results_lost",
            "Results failed as lost: still undelivered after collection.max_attempts.",
            value=counters.lost,
        ),
        GaugeMetricFamily(
            "devicevault_devices_stale",
            "Devices the last staleness evaluation found stale (0 until one has run).",
            value=counters.devices_stale,
        ),
        sent,
    ]
