"""`GET /metrics`: Prometheus text format 0.0.4, read fresh from the database and Redis.

Every scrape builds its figures anew (a collector per request, no process-global registry),
so any web process answers the same, and the beat needs no HTTP server: it leaves its
figures in Redis (devices.metrics), where workers and beats count too. Counts and ages only:
no device names or addresses. With `METRICS_TOKEN` set, a scrape must send
`Authorization: Bearer <token>`.

Choices a dashboard needs to know:

- `schedule` labels carry the schedule id, never its name: names are free text typed by
  users (and could name devices); ids leak nothing and never change on rename.
- `devicevault_lock_ttl_seconds` is 0 when no lock is held, -1 if the key somehow has no
  expiry (the beat never writes one like that).
- `devicevault_last_tick_age_seconds` is NaN until the beat has ticked once.
- `devicevault_results{status}` is a gauge of result rows by status (rows move from status
  to status). A scrape never counts the whole table: see devices.metrics.result_rows_by_status.
  `devicevault_results_finished_total{status}` counts results reaching a final status; its
  rate is what alerts should use.
- `devicevault_queue_depth` needs a Redis broker (the LLEN of kombu's list per queue, plus its
  priority lists); with any other broker the series are absent.
- The answer is always 200: a component that does not answer gets
  `devicevault_up{component="..."} 0` and its series are left out (absent, not zero).
"""

from __future__ import annotations

import hmac
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from beat.lock import LOCK_KEY, LockOwner
from beat.models import SchedulerState
from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.metrics import (
    BEAT_METRICS_KEY,
    TASKS_PUBLISHED_KEY,
    Counters,
    read_counters,
    result_rows_by_status,
)
from devices.models import DeviceBackupResult
from devices.queues import DEFAULT_QUEUE
from devices.worker import collection_queue_names
from project.redis_client import new_redis_client, redis_client

logger = logging.getLogger(__name__)

DB_STATEMENT_TIMEOUT = 5000  # milliseconds; a scrape must not queue up behind a slow database

# Fields of the beat's hash (devices.metrics.record_fanout) exported as gauges.
_FANOUT_GAUGES = (
    ("lateness_seconds", "devicevault_last_fanout_lateness_seconds",
     "Seconds between the last fan-out's occurrence and the moment it was published."),
    ("duration_seconds", "devicevault_last_fanout_duration_seconds",
     "Seconds the last fan-out took (rows and publishing)."),
    ("devices", "devicevault_last_fanout_devices",
     "Tasks published by the last fan-out."),
    ("at", "devicevault_last_fanout_timestamp_seconds",
     "Unix time of the last fan-out."),
)


@dataclass(frozen=True, kw_only=True)
class DatabaseFigures:
    """What one scrape reads from the database."""

    results: dict[str, int]
    oldest_queued_at: datetime | None
    last_tick: datetime | None
    scheduler_running: bool | None
    queues: list[str]


@dataclass(frozen=True, kw_only=True)
class RedisFigures:
    """What one scrape reads from the application Redis (the lock and the beat's hashes)."""

    lock_raw: str | None
    lock_pttl_ms: int
    fanout: dict[str, str]
    published: dict[str, int]
    counters: Counters


def read_database() -> DatabaseFigures:
    """Result rows by status (cheap reads only), the oldest queued result, the beat's state."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = %s", [DB_STATEMENT_TIMEOUT])
        counts = result_rows_by_status()
        oldest = DeviceBackupResult.objects.filter(status=Status.QUEUED).aggregate(
            oldest=Min("queued_at")
        )["oldest"]
        state = SchedulerState.objects.filter(pk=1).values("last_tick", "is_running").first()
        queues = collection_queue_names()
    return DatabaseFigures(
        results=counts,
        oldest_queued_at=oldest,
        last_tick=state["last_tick"] if state else None,
        scheduler_running=bool(state["is_running"]) if state else None,
        queues=queues,
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def read_redis(client: redis.Redis) -> RedisFigures:
    """The lock, its TTL, the beat's figures and the shared counters, in two round trips."""
    pipe = client.pipeline(transaction=False)
    pipe.get(LOCK_KEY)
    pipe.pttl(LOCK_KEY)
    pipe.hgetall(BEAT_METRICS_KEY)
    pipe.hgetall(TASKS_PUBLISHED_KEY)
    raw, pttl, fanout, published = pipe.execute()
    counts: dict[str, int] = {}
    for key, value in published.items():
        try:
            counts[_text(key)] = int(value)
        except ValueError:
            logger.warning("metrics: ignoring %s field %r", TASKS_PUBLISHED_KEY, key)
    return RedisFigures(
        lock_raw=_text(raw) if raw is not None else None,
        lock_pttl_ms=int(pttl),
        fanout={_text(k): _text(v) for k, v in fanout.items()},
        published=counts,
        counters=read_counters(client),
    )


_broker_clients: dict[str, redis.Redis] = {}


def broker_client() -> redis.Redis | None:
    """A client for the Celery broker when it is Redis (the application's when they match)."""
    url = str(settings.CELERY_BROKER_URL).split(";", 1)[0]  # first of a failover list
    if url == settings.REDIS_URL:
        return redis_client()
    if url.split("://", 1)[0] not in {"redis", "rediss"}:
        return None
    if url not in _broker_clients:
        _broker_clients[url] = new_redis_client(url)
    return _broker_clients[url]


def read_queue_depths(client: redis.Redis, queues: Iterable[str]) -> dict[str, int]:
    """Messages waiting per queue: kombu keeps a list per queue and per priority step."""
    from kombu.transport.redis import PRIORITY_STEPS, Channel

    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    prefix = options.get("global_keyprefix", "")
    steps = options.get("priority_steps", PRIORITY_STEPS)
    sep = options.get("sep", Channel.sep)
    names = sorted(set(queues))
    pipe = client.pipeline(transaction=False)
    for name in names:
        for step in steps:
            pipe.llen(f"{prefix}{name}{sep}{step}" if step else f"{prefix}{name}")
    sizes = iter(pipe.execute())
    return {name: sum(int(next(sizes)) for _ in steps) for name in names}


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class ScrapeCollector(Collector):
    """Builds every DeviceVault metric family for one scrape."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "devicevault_up", "Whether this scrape could read the component (1) or not (0).",
            labels=["component"],
        )
        families: list[Metric] = [up]

        db = self._attempt("database", read_database)
        up.add_metric(["database"], 0 if db is None else 1)
        if db is not None:
            families += self._database_families(db)

        app_redis = self._attempt("redis", lambda: read_redis(redis_client()))
        up.add_metric(["redis"], 0 if app_redis is None else 1)
        if app_redis is not None:
            families += self._redis_families(app_redis)

        client = broker_client()
        if client is not None:  # a non-Redis broker: no queue depths (see the module doc)
            queues = db.queues if db is not None else [DEFAULT_QUEUE]
            depths = self._attempt("broker", lambda: read_queue_depths(client, queues))
            up.add_metric(["broker"], 0 if depths is None else 1)
            if depths is not None:
                depth = GaugeMetricFamily(
                    "devicevault_queue_depth", "Messages waiting in a collection queue.",
                    labels=["queue"],
                )
                for name, size in depths.items():
                    depth.add_metric([name], size)
                families.append(depth)
        return families

    @staticmethod
    def _attempt(component: str, read: Any) -> Any:
        try:
            return read()
        except Exception as exc:  # a down component is a figure (up=0), never a 500
            logger.warning("metrics: %s unavailable: %s: %s", component, type(exc).__name__, exc)
            return None

    def _age(self, moment: datetime | None) -> float:
        return math.nan if moment is None else max(0.0, self.now - moment.timestamp())

    def _database_families(self, db: DatabaseFigures) -> list[Metric]:
        results = GaugeMetricFamily(
            "devicevault_results",
            "Backup result rows by status (final statuses estimated on large PostgreSQL tables).",
            labels=["status"],
        )
        for status, count in db.results.items():
            results.add_metric([status], count)
        oldest = GaugeMetricFamily(
            "devicevault_oldest_queued_result_age_seconds",
            "Age of the oldest result still queued (0 when none is).",
            value=0.0 if db.oldest_queued_at is None else self._age(db.oldest_queued_at),
        )
        tick = GaugeMetricFamily(
            "devicevault_last_tick_age_seconds",
            "Seconds since the leading beat last ticked (NaN: it never has).",
            value=self._age(db.last_tick),
        )
        families: list[Metric] = [results, oldest, tick]
        if db.scheduler_running is not None:
            families.append(GaugeMetricFamily(
                "devicevault_scheduler_running",
                "SchedulerState.is_running: a leader said it runs and has not said it stopped.",
                value=int(db.scheduler_running),
            ))
        return families

    def _redis_families(self, figures: RedisFigures) -> list[Metric]:
        owner = LockOwner.parse(figures.lock_raw, None) if figures.lock_raw else None
        leader = GaugeMetricFamily(
            "devicevault_scheduler_leader",
            "1 when a beat holds the scheduler lock (its value names a host and PID), else 0.",
            value=int(owner is not None and owner.pid > 0),
        )
        pttl = figures.lock_pttl_ms
        ttl = GaugeMetricFamily(
            "devicevault_lock_ttl_seconds",
            "Seconds left on the scheduler lock: 0 when none is held, -1 when it has no expiry.",
            value=0.0 if pttl == -2 else (-1.0 if pttl == -1 else pttl / 1000),
        )
        published = CounterMetricFamily(
            "devicevault_tasks_published",
            "device.collect tasks the beat and run-now published, by schedule id.",
            labels=["schedule"],
        )
        for schedule_id in sorted(figures.published, key=lambda s: (len(s), s)):
            published.add_metric([schedule_id], figures.published[schedule_id])
        families: list[Metric] = [leader, ttl, published, *self._counter_families(figures)]
        for field, name, documentation in _FANOUT_GAUGES:
            value = _float(figures.fanout.get(field))
            if value is not None:
                families.append(GaugeMetricFamily(name, documentation, value=value))
        return families

    @staticmethod
    def _counter_families(figures: RedisFigures) -> list[Metric]:
        counters = figures.counters
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


def _authorized(request: HttpRequest) -> bool:
    """True without METRICS_TOKEN, else only for `Authorization: Bearer <that token>`."""
    token = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    # compare_digest: the time taken does not tell how much of the token was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        offered.strip().encode(), token.encode()
    )


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition (format 0.0.4). No login; counts only; with METRICS_TOKEN,
    a bearer token."""
    if not _authorized(request):
        response = HttpResponse(
            "401 Unauthorized: send Authorization: Bearer <METRICS_TOKEN>\n",
            status=401, content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(ScrapeCollector()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
