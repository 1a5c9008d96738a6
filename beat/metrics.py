"""The beat's figures on /metrics: the leader lock, the last tick, the last fan-out."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from beat.lock import LOCK_KEY, LockOwner
from beat.models import SchedulerState
from devices.metrics import BEAT_METRICS_KEY
from project.metrics import Scrape, text
from project.redis_client import redis_client

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


def _read_redis() -> tuple[str | None, int, dict[str, str]]:
    pipe = redis_client().pipeline(transaction=False)
    pipe.get(LOCK_KEY)
    pipe.pttl(LOCK_KEY)
    pipe.hgetall(BEAT_METRICS_KEY)
    raw, pttl, fanout = pipe.execute()
    return (
        text(raw) if raw is not None else None,
        int(pttl),
        {text(k): text(v) for k, v in fanout.items()},
    )


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def collect_metrics(scrape: Scrape) -> Iterable[Metric]:
    """Leader and lock TTL, last tick age and running flag, the last fan-out's figures.

    `devicevault_lock_ttl_seconds` is 0 when no lock is held, -1 if the key somehow has no
    expiry (the beat never writes one like that); `devicevault_last_tick_age_seconds` is NaN
    until the beat has ticked once.
    """
    families: list[Metric] = []
    read = scrape.read(  # a tuple, so that "no row yet" is not "the database is down"
        "database",
        lambda: (SchedulerState.objects.filter(pk=1).values("last_tick", "is_running").first(),),
    )
    if read is not None:
        (state,) = read
        families.append(GaugeMetricFamily(
            "devicevault_last_tick_age_seconds",
            "Seconds since the leading beat last ticked (NaN: it never has).",
            value=scrape.age(state["last_tick"] if state else None),
        ))
        if state is not None:
            families.append(GaugeMetricFamily(
                "devicevault_scheduler_running",
                "SchedulerState.is_running: a leader said it runs and has not said it stopped.",
                value=int(bool(state["is_running"])),
            ))
    figures = scrape.read("redis", _read_redis)
    if figures is None:
        return families
    raw, pttl, fanout = figures
    owner = LockOwner.parse(raw, None) if raw else None
    families.append(GaugeMetricFamily(
        "devicevault_scheduler_leader",
        "1 when a beat holds the scheduler lock (its value names a host and PID), else 0.",
        value=int(owner is not None and owner.pid > 0),
    ))
    families.append(GaugeMetricFamily(
        "devicevault_lock_ttl_seconds",
        "Seconds left on the scheduler lock: 0 when none is held, -1 when it has no expiry.",
        value=0.0 if pttl == -2 else (-1.0 if pttl == -1 else pttl / 1000),
    ))
    for field, name, documentation in _FANOUT_GAUGES:
        value = _float(fanout.get(field))
        if value is not None:
            families.append(GaugeMetricFamily(name, documentation, value=value))
    return families
