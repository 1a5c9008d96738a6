"""The counters in Redis that /metrics exports (devices.metrics), against the real Redis:
shared by every process, atomic, and never a failure for the caller."""

from __future__ import annotations

from typing import Any

import pytest

from devices import metrics
from devices.choices import TERMINAL_RESULT_STATUSES


def test_finished_results_are_counted_per_final_status(redis_db: Any) -> None:
    metrics.count_finished("success")
    metrics.count_finished("success", 4)
    metrics.count_finished("missed_window", 2)
    assert metrics.read_counters(redis_db).finished == {
        "success": 5, "failed": 0, "missed_window": 2, "skipped": 0,
    }


@pytest.mark.parametrize("status", ["queued", "running", "lost", ""])
def test_only_a_final_status_can_be_counted_as_finished(redis_db: Any, status: str) -> None:
    with pytest.raises(ValueError, match="not a final status"):
        metrics.count_finished(status)
    assert redis_db.keys("devicevault:metrics:*") == []


def test_a_lost_result_counts_as_lost_and_as_failed_in_one_step(redis_db: Any) -> None:
    metrics.count_results_lost()
    metrics.count_results_lost(2)
    figures = metrics.read_counters(redis_db)
    assert figures.lost == 3
    assert figures.finished["failed"] == 3


def test_stale_devices_and_notifications_are_recorded(redis_db: Any) -> None:
    assert metrics.read_counters(redis_db).devices_stale == 0
    metrics.record_devices_stale(7)
    metrics.record_devices_stale(4)  # a gauge: the last evaluation wins
    metrics.count_notification_sent("email")
    metrics.count_notification_sent("webhook", 3)
    figures = metrics.read_counters(redis_db)
    assert figures.devices_stale == 4
    assert figures.notifications_sent == {"email": 1, "webhook": 3}


def test_counting_with_redis_down_does_not_fail_the_caller(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from project import redis_client as shared_redis

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    monkeypatch.setattr(shared_redis, "_shared", None)
    for status in TERMINAL_RESULT_STATUSES:
        metrics.count_finished(status)
    metrics.count_results_lost()
    metrics.record_devices_stale(1)
    metrics.count_notification_sent("email")
