"""The fan-out's repair of stranded rows, against the real database and Redis broker."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.dispatch.fanout import Occurrence, create_results, repair_stranded, scheduled_devices
from devices.models import DeviceBackupResult
from tests.support.broker import queued_payloads
from tests.support.fleet import make_devices

pytestmark = pytest.mark.django_db


def test_one_occurrence_with_many_stranded_rows_is_republished_in_one_pass_and_one_log_line(
    make_schedule: Any, redis_db: Any, caplog: Any
) -> None:
    schedule = make_schedule(name="stranded")
    ids = make_devices(150, schedule=schedule)
    now = datetime.now(UTC)
    occurrence = Occurrence(schedule_id=schedule.pk, scheduled_for=now - timedelta(minutes=5))
    # Rows created by a leader that died before publishing any of them.
    assert create_results(occurrence, scheduled_devices(schedule.pk)) == 150
    DeviceBackupResult.objects.update(queued_at=now - timedelta(minutes=4))

    with caplog.at_level(logging.INFO, logger="devices.dispatch.fanout"):
        published = repair_stranded(now=now, window=timedelta(hours=2),
                                    older_than=now - timedelta(minutes=1))

    assert published == 150
    lines = [r.getMessage() for r in caplog.records
             if r.getMessage().startswith("republished stranded rows")]
    assert lines == [
        f"republished stranded rows: schedule={schedule.pk} "
        f"occurrence={occurrence.scheduled_for.isoformat()} published=150"
    ]
    assert sorted(p["device_id"] for p in queued_payloads(redis_db, "collect.default")) == ids
    assert not DeviceBackupResult.objects.filter(published_at__isnull=True).exists()
