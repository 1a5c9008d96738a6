"""Alerts through real processes: webhooks delivered by a Celery worker to a local HTTP
receiver (retried with backoff, never twice across a restart), and `scheduler_down` when
every beat stops, found by the workers' watch, and `recovered` when a beat ticks again."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.utils import timezone

from alerts.evaluation import evaluate
from alerts.models import Notification
from alerts.signing import SIGNATURE_HEADER, verify
from alerts.tasks import enqueue_deliveries

pytestmark = [pytest.mark.processes, pytest.mark.timeout(180)]


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout} s")


def test_webhook_retried_until_the_fourth_try_and_never_sent_twice_across_a_restart(
    procs: Any, fleet: dict[str, Any], make_channel: Any, make_rule: Any, finish: Any,
    receiver: Any,
) -> None:
    receiver.statuses = [500, 500, 500]
    channel = make_channel(target=receiver.url, secret="hook-secret")
    make_rule(owner=fleet["users"]["superuser"], channel=channel,
              events=["backup_failed", "recovered"])
    key = ",".join(settings.CREDENTIALS_KEYS)  # the worker decrypts the channel's secret
    worker = procs.worker("celery", all_queues=False, concurrency=1,
                          DEVICEVAULT_ALERTS_RETRY_BASE_SECONDS="0.2",
                          DEVICEVAULT_CREDENTIALS_KEY=key)
    worker.wait_for(r"ready")
    now = timezone.now()
    finish([fleet["devices"]["core1"]], "failed", schedule=fleet["schedules"]["daily"],
           scheduled_for=now - timedelta(minutes=3))
    [notification_id] = evaluate(now=now, send=enqueue_deliveries).notifications

    [body] = wait_until(receiver.delivered, 30, "delivered webhook")
    assert [r["status"] for r in receiver.requests] == [500, 500, 500, 200]
    for request in receiver.requests:  # every try signed, the same body each time
        signature = request["headers"][SIGNATURE_HEADER.lower()]
        assert verify(request["body"], "hook-secret", signature)
        assert request["headers"]["x-devicevault-delivery"] == str(notification_id)
    assert body["event"] == "backup_failed"
    assert body["device"] == {"id": fleet["devices"]["core1"].pk, "name": "Core-Router-01"}
    # the worker records the outcome just after the receiver answered
    sent = wait_until(lambda: Notification.objects.filter(pk=notification_id, status="sent")
                      .first(), 10, "notification marked sent")
    assert sent.attempts == 4

    # A restart: a new worker, the delivery message handed out again, a new evaluation.
    worker.stop()
    procs.worker("celery", all_queues=False, concurrency=1,
                 DEVICEVAULT_CREDENTIALS_KEY=key).wait_for(r"ready")
    enqueue_deliveries([notification_id])
    assert evaluate(now=timezone.now(), send=enqueue_deliveries).notifications == []
    time.sleep(2)
    assert len(receiver.delivered()) == 1
    assert Notification.objects.get(pk=notification_id).attempts == 4


def test_a_retry_waiting_in_a_worker_that_stops_is_delivered_once_by_the_next(
    procs: Any, fleet: dict[str, Any], make_channel: Any, make_rule: Any, finish: Any,
    receiver: Any,
) -> None:
    receiver.statuses = [500]
    key = ",".join(settings.CREDENTIALS_KEYS)
    make_rule(owner=fleet["users"]["superuser"], channel=make_channel(target=receiver.url),
              events=["backup_failed"])
    first = procs.worker("celery", all_queues=False, concurrency=1,
                         DEVICEVAULT_ALERTS_RETRY_BASE_SECONDS="3",
                         DEVICEVAULT_CREDENTIALS_KEY=key)
    first.wait_for(r"ready")
    now = timezone.now()
    finish([fleet["devices"]["core1"]], "failed", scheduled_for=now - timedelta(minutes=3))
    [notification_id] = evaluate(now=now, send=enqueue_deliveries).notifications
    wait_until(lambda: receiver.requests, 20, "first try")
    first.stop()  # the retry (due in 3 s) is given back to the broker, not run
    assert "Restoring 1 unacknowledged message" in first.log()
    procs.worker("celery", all_queues=False, concurrency=1,
                 DEVICEVAULT_CREDENTIALS_KEY=key).wait_for(r"ready")
    wait_until(receiver.delivered, 30, "delivery after the restart")
    time.sleep(2)
    assert [r["status"] for r in receiver.requests] == [500, 200]
    sent = Notification.objects.get(pk=notification_id)
    assert (sent.status, sent.attempts) == ("sent", 2)


def test_scheduler_down_when_every_beat_stops_and_recovered_when_one_ticks(
    procs: Any, fleet: dict[str, Any], make_channel: Any, make_rule: Any, receiver: Any,
    tmp_path: Path,
) -> None:
    from beat.models import SchedulerState

    threshold, watch = 10, 1  # seconds
    config = tmp_path / "config.yaml"
    data = yaml.safe_load(config.read_text())
    data["alerts"] = {"scheduler_down_after_seconds": threshold}
    config.write_text(yaml.safe_dump(data))

    beat = procs.beat()
    beat.wait_for(r"leading: pid=", timeout=60)
    started = timezone.now()
    wait_until(lambda: (SchedulerState.objects.filter(last_tick__gte=started).exists()), 30,
               "tick")
    make_rule(owner=fleet["users"]["viewer"], channel=make_channel(target=receiver.url),
              events=["scheduler_down", "recovered"])
    procs.worker("celery", all_queues=False, concurrency=1,
                 DEVICEVAULT_ALERTS_WATCH_SECONDS=str(watch)).wait_for(r"ready")
    time.sleep(2)
    assert receiver.delivered() == []  # the leader ticks: nothing to say

    beat.stop()
    stopped = time.monotonic()
    [down] = wait_until(receiver.delivered, threshold + watch + 15, "scheduler_down")
    took = time.monotonic() - stopped
    assert down["event"] == "scheduler_down" and down["device"] is None
    # The margin: the last tick's age when the beat stopped (under a second), the delivery.
    assert took <= threshold + watch + 5, took

    procs.beat().wait_for(r"leading: pid=", timeout=60)
    bodies = wait_until(lambda: len(receiver.delivered()) >= 2 and receiver.delivered(), 20,
                        "recovered")
    assert [b["event"] for b in bodies] == ["scheduler_down", "recovered"]
    time.sleep(watch * 2)
    assert len(receiver.delivered()) == 2  # once per condition
