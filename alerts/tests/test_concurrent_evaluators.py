"""Two evaluators at once (the periodic task and a worker's scheduler watch, or two beats'
tasks after a failover) report a condition once: the evaluator's row lock serialises them
and the open-condition unique constraint backs it up."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from alerts.evaluation import evaluate
from alerts.models import AlertCondition, Notification


@pytest.mark.django_db(transaction=True)
def test_evaluators_running_together_report_each_condition_once(
    fleet: dict[str, Any], make_channel: Any, make_rule: Any, finish: Any,
) -> None:
    make_rule(owner=fleet["users"]["superuser"], channel=make_channel(),
              events=["backup_failed", "scheduler_down"])
    now = timezone.now()
    finish(list(fleet["devices"].values()), "failed", schedule=fleet["schedules"]["daily"],
           scheduled_for=now - timedelta(minutes=2))
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def run(full: bool) -> None:
        try:
            start.wait()
            evaluate(now=now, send=lambda ids: None, full=full)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(full,)) for full in (True, True, False, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(Notification.objects.values_list("event", "device_count")) == [
        ("backup_failed", 4), ("scheduler_down", 0),
    ]
    assert AlertCondition.objects.filter(closed_at__isnull=True).count() == 5
