"""`GET /metrics`: Prometheus text format 0.0.4, read fresh from the database and Redis.

The kit serves what the apps register (`register_metrics` in their AppConfig.ready: the
devices' results, queues and counters in devices.metrics, the beat's lock and ticks in
beat.metrics). Every scrape builds its figures anew (a collector per request, no
process-global registry), so any web process answers the same, and the beat needs no HTTP
server: it leaves its figures in Redis, where workers and beats count too. Counts and ages only:
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
- `devicevault_queue_depth` counts the messages waiting (ready, not yet delivered to a worker)
  per collection queue: on Redis the LLEN of kombu's list per queue plus its priority lists,
  on RabbitMQ the `message_count` of a passive `queue.declare` (a queue not declared yet
  counts 0); with any other broker the series are absent. Messages a worker holds unacked
  are in neither figure: `devicevault_results{status="running"}` and the queued age tell those.
- The answer is always 200: a component that does not answer gets
  `devicevault_up{component="..."} 0` and its series are left out (absent, not zero).
"""

from __future__ import annotations

import hmac
import logging
import math
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from project.broker import is_amqp_url
from project.config import SentinelConfig
from project.redis_client import new_redis_client, redis_client

logger = logging.getLogger(__name__)

DB_STATEMENT_TIMEOUT = 5000  # milliseconds; a scrape must not queue up behind a slow database

COMPONENTS = ("database", "redis", "broker")
T = TypeVar("T")


class Scrape:
    """One scrape: its clock and which components answered (`devicevault_up`)."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now
        self._up: dict[str, int] = {}

    def read(self, component: str, read: Callable[[], T]) -> T | None:
        """`read()`, or None (and the component down) when it raises: a down component is a
        figure, never a 500. Database reads run under a statement timeout."""
        try:
            value = _with_statement_timeout(read) if component == "database" else read()
        except Exception as exc:
            logger.warning("metrics: %s unavailable: %s: %s", component, type(exc).__name__, exc)
            self._up[component] = 0
            return None
        self._up.setdefault(component, 1)
        return value

    def age(self, moment: datetime | None) -> float:
        """Seconds since `moment` (NaN for never)."""
        return math.nan if moment is None else max(0.0, self.now - moment.timestamp())

    def up(self) -> Metric:
        up = GaugeMetricFamily(
            "devicevault_up", "Whether this scrape could read the component (1) or not (0).",
            labels=["component"],
        )
        for component in COMPONENTS:
            if component in self._up:
                up.add_metric([component], self._up[component])
        return up


MetricsSource = Callable[[Scrape], Iterable[Metric]]
_sources: list[MetricsSource] = []


def register_metrics(source: MetricsSource) -> None:
    """Add an app's families to every scrape (call it from the app's AppConfig.ready)."""
    if source not in _sources:
        _sources.append(source)


def _with_statement_timeout(read: Callable[[], T]) -> T:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL statement_timeout = %s", [DB_STATEMENT_TIMEOUT])
        return read()


def text(value: bytes | str) -> str:
    """A Redis reply as text."""
    return value.decode() if isinstance(value, bytes) else value


_broker_clients: dict[str, redis.Redis] = {}


def broker_client() -> redis.Redis | None:
    """A client for the Celery broker when it is Redis (the application's when they match),
    also behind Sentinels (`sentinel://` URLs, the master named in the transport options)."""
    sentinel = getattr(settings, "REDIS_SENTINEL", None)
    full = str(settings.CELERY_BROKER_URL)
    if sentinel is not None and full == sentinel.broker_url(settings.REDIS_URL):
        return redis_client()
    url = full.split(";", 1)[0]  # first of a failover list
    if url == settings.REDIS_URL:
        return redis_client()
    if url.startswith("sentinel://"):
        return _sentinel_broker_client(full)
    if url.split("://", 1)[0] not in {"redis", "rediss"}:
        return None
    if url not in _broker_clients:
        _broker_clients[url] = new_redis_client(url)
    return _broker_clients[url]


def _sentinel_broker_client(url: str) -> redis.Redis | None:
    """A client of the broker's master behind the Sentinels of a `sentinel://` failover list."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    master = options.get("master_name")
    if not master:
        return None  # kombu refuses this broker too
    if url not in _broker_clients:
        sentinels, db = [], 0
        for part in url.split(";"):
            where = urlsplit(part)
            sentinels.append((where.hostname or "localhost", where.port or 26379))
            db = int(where.path.strip("/") or db)
        config = SentinelConfig(sentinels=tuple(sentinels), master_name=str(master), db=db)
        _broker_clients[url] = new_redis_client(url.split(";", 1)[0], sentinel=config)
    return _broker_clients[url]
AMQP_CONNECT_TIMEOUT = 2  # seconds; a scrape must not hang on an unreachable RabbitMQ


def read_amqp_queue_depths(url: str, queues: Iterable[str]) -> dict[str, int]:
    """Messages ready per queue on RabbitMQ: a passive queue.declare per queue (it creates
    nothing, and needs no management plugin); a queue that does not exist yet counts 0."""
    from amqp.exceptions import NotFound
    from kombu import Connection

    depths: dict[str, int] = {}
    with Connection(url, connect_timeout=AMQP_CONNECT_TIMEOUT) as conn:
        conn.connect()  # once: an unreachable broker fails the scrape's broker read at once
        channel = conn.connection.channel()
        for name in sorted(set(queues)):
            try:
                depths[name] = int(channel.queue_declare(name, passive=True).message_count)
            except NotFound:  # RabbitMQ closes the channel on a missing queue
                depths[name] = 0
                channel = conn.connection.channel()
    return depths


def queue_depth_reader() -> Callable[[Iterable[str]], dict[str, int]] | None:
    """How this broker's queue depths are read (Redis or RabbitMQ), or None for another."""
    url = str(settings.CELERY_BROKER_URL).split(";", 1)[0]
    if is_amqp_url(url):
        return lambda queues: read_amqp_queue_depths(url, queues)
    client = broker_client()
    if client is None:
        return None
    return lambda queues: read_queue_depths(client, queues)


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


class ScrapeCollector(Collector):
    """Every registered app's families for one scrape, after `devicevault_up`."""

    def __init__(self, now: float | None = None) -> None:
        self.scrape = Scrape(now)

    def collect(self) -> Iterable[Metric]:
        families = [family for source in _sources for family in source(self.scrape)]
        return [self.scrape.up(), *families]


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
