"""Evaluation against the database, and e-mail through a real SMTP server (aiosmtpd on a
free loopback port): one message per condition, one `recovered`, only visible devices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts import delivery
from alerts.evaluation import evaluate
from alerts.models import AlertCondition, EvaluatorState, Notification

pytestmark = pytest.mark.django_db


def _nothing(ids: list[int]) -> None:
    return None


def run(now: Any) -> list[Notification]:
    done = evaluate(now=now, send=_nothing)
    return list(Notification.objects.filter(pk__in=done.notifications).order_by("id"))


def deliver_all(now: Any) -> None:
    for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
        delivery.deliver(pk, now=now)


def test_email_one_message_per_condition_and_one_recovered(
    fleet: dict[str, Any], make_channel: Any, make_rule: Any, finish: Any, smtp_server: Any,
) -> None:
    now = timezone.now()
    channel = make_channel(kind="email", target="noc@example.com, oncall@example.com")
    make_rule(owner=fleet["users"]["superuser"], channel=channel,
              events=["backup_failed", "recovered"])
    core1, daily = fleet["devices"]["core1"], fleet["schedules"]["daily"]
    finish([core1], "failed", schedule=daily, scheduled_for=now - timedelta(minutes=30),
           error="ssh: connection refused\ntraceback...")
    assert len(run(now)) == 1
    deliver_all(now)
    [(rcpt, mail)] = smtp_server.messages
    assert sorted(rcpt) == ["noc@example.com", "oncall@example.com"]
    assert mail["Subject"] == "[DeviceVault] backup_failed: Core-Router-01"
    assert mail["To"] == "noc@example.com, oncall@example.com"
    body = mail.get_payload(decode=True).decode()
    assert "Core-Router-01: backup failed (Daily 2 AM," in body
    assert "ssh: connection refused" in body and "traceback" not in body

    # The same failure read again, a second failure, a restart (a new evaluation): nothing.
    finish([core1], "failed", schedule=daily, scheduled_for=now - timedelta(minutes=10))
    later = now + timedelta(minutes=1)
    assert run(later) == [] and run(later + timedelta(seconds=1)) == []
    deliver_all(later)
    assert len(smtp_server.messages) == 1

    finish([core1], "success", schedule=daily, scheduled_for=now + timedelta(minutes=1),
           finished_at=now + timedelta(minutes=2))
    after = now + timedelta(minutes=3)
    [recovered] = run(after)
    assert run(after + timedelta(seconds=1)) == []
    deliver_all(after)
    assert len(smtp_server.messages) == 2
    assert smtp_server.messages[1][1]["Subject"] == "[DeviceVault] recovered: Core-Router-01"
    assert Notification.objects.get(pk=recovered.pk).status == "sent"


def test_rule_of_a_group_a_user_never_mentions_group_b_devices(
    fleet: dict[str, Any], make_channel: Any, make_rule: Any, finish: Any,
) -> None:
    now = timezone.now()
    channel = make_channel()
    make_rule(owner=fleet["users"]["branch"], channel=channel,
              events=["backup_failed", "stale", "recovered"])
    devices = fleet["devices"]
    finish(list(devices.values()), "failed", schedule=fleet["schedules"]["daily"],
           scheduled_for=now - timedelta(minutes=5))
    [sent] = run(now)
    assert sent.payload["device"] == {"id": devices["branch1"].pk, "name": "Branch-Switch-01"}
    everything = " ".join(str(n.payload) + n.subject for n in Notification.objects.all())
    for name in ("Core-Router-01", "Core-Router-02", "Lab-01"):
        assert name not in everything
    assert set(AlertCondition.objects.values_list("device_id", flat=True)) == {
        devices["branch1"].pk
    }


def test_a_rule_narrowed_to_a_group_the_owner_may_not_see_reports_nothing(
    fleet: dict[str, Any], make_channel: Any, make_rule: Any, finish: Any,
) -> None:
    now = timezone.now()
    rule = make_rule(owner=fleet["users"]["viewer"], channel=make_channel(),
                     events=["backup_failed"])
    rule.device_groups.set([fleet["device_groups"]["branch"]])  # written around the API
    finish(list(fleet["devices"].values()), "failed", scheduled_for=now - timedelta(minutes=5))
    assert run(now) == []


def test_storm_500_devices_failing_in_one_occurrence_is_one_message_per_rule(
    fleet: dict[str, Any], make_channel: Any, make_rule: Any, finish: Any, add_devices: Any,
) -> None:
    now = timezone.now()
    core = fleet["device_groups"]["core"]
    devices = add_devices(500, prefix="Storm", device_group=core)
    daily = fleet["schedules"]["daily"]
    finish(devices, "failed", schedule=daily, scheduled_for=now - timedelta(minutes=20))
    make_rule(owner=fleet["users"]["superuser"], channel=make_channel(), events=["backup_failed"])
    make_rule(owner=fleet["users"]["viewer"], channel=make_channel(), events=["backup_failed"])
    make_rule(owner=fleet["users"]["branch"], channel=make_channel(), events=["backup_failed"])
    with CaptureQueriesContext(connection) as queries:
        sent = run(now)
    assert [n.device_count for n in sent] == [500, 500]  # the branch user sees none of them
    assert sent[0].subject == "[DeviceVault] backup_failed: 500 devices"
    assert "500 devices: backups failed: Storm-000004" in sent[0].payload["message"]
    assert "and 490 more" in sent[0].payload["message"]
    assert AlertCondition.objects.filter(closed_at__isnull=True).count() == 1000
    assert len(queries) < 30, [q["sql"][:120] for q in queries.captured_queries]
    assert run(now + timedelta(seconds=5)) == []


def test_stale_devices_are_reported_and_counted(
    fleet: dict[str, Any], make_channel: Any, make_rule: Any, redis_db: Any,
) -> None:
    from devices.metrics import DEVICES_STALE_KEY
    from devices.models import Device

    now = timezone.now()
    old = now - timedelta(days=10)
    Device.objects.update(created_at=old)
    fleet["schedules"]["daily"].__class__.objects.update(active_since=old)
    make_rule(owner=fleet["users"]["viewer"], channel=make_channel(), events=["stale"])
    [sent] = run(now)
    # The viewer (netops) sees core1 (daily) and core2 (weekly, created 10 days ago: stale
    # after two weeks only when two Mondays passed); branch1 and the orphan are not theirs.
    names = sent.payload["message"]
    assert "Core-Router-01" in names and "Branch-Switch-01" not in names
    assert int(redis_db.get(DEVICES_STALE_KEY)) >= 2  # the gauge counts every stale device
    assert run(now + timedelta(seconds=1)) == []


def test_scheduler_down_opens_without_any_tick_and_recovers_when_the_leader_ticks(
    fleet: dict[str, Any], make_channel: Any, make_rule: Any,
) -> None:
    from beat.models import SchedulerState  # the test may read the beat's table

    now = timezone.now()
    make_rule(owner=fleet["users"]["viewer"], channel=make_channel(),
              events=["scheduler_down", "recovered"])
    [down] = run(now)
    assert down.event == "scheduler_down" and down.payload["device"] is None
    assert "no leader beat has ticked since it started" in down.payload["message"]
    assert evaluate(now=now, send=_nothing, full=False).notifications == []  # the workers' watch
    state = SchedulerState.load()
    state.last_tick = now
    state.save()
    [up] = run(now + timedelta(seconds=5))
    assert up.event == "recovered" and "scheduler is up again" in up.payload["message"]


def test_the_open_condition_is_unique_whoever_writes_it(
    fleet: dict[str, Any], make_channel: Any, make_rule: Any,
) -> None:
    rule = make_rule(owner=fleet["users"]["viewer"], channel=make_channel(),
                     events=["scheduler_down"])
    now = timezone.now()
    AlertCondition.objects.create(rule=rule, kind="scheduler_down", key="scheduler",
                                  opened_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertCondition.objects.create(rule=rule, kind="scheduler_down", key="scheduler",
                                      opened_at=now)
    AlertCondition.objects.update(closed_at=now)
    AlertCondition.objects.create(rule=rule, kind="scheduler_down", key="scheduler",
                                  opened_at=now)  # a new condition after the first closed


def test_the_watermark_moves_and_a_config_change_is_reported_once(
    fleet: dict[str, Any], make_channel: Any, make_rule: Any, finish: Any,
) -> None:
    from devices.models import ConfigBlob, DeviceBackup

    now = timezone.now()
    make_rule(owner=fleet["users"]["superuser"], channel=make_channel(),
              events=["config_changed"])
    core1 = fleet["devices"]["core1"]
    first, second = (
        finish([core1], "success", scheduled_for=now - timedelta(hours=h))[0] for h in (2, 1)
    )
    a = ConfigBlob.objects.create(sha256="a" * 64, size=1, text="a")
    b = ConfigBlob.objects.create(sha256="b" * 64, size=1, text="b")
    previous = DeviceBackup.objects.create(device=core1, result=first, blob=a, changed=True)
    DeviceBackup.objects.create(device=core1, result=second, blob=b, changed=True,
                                previous=previous)
    [changed] = run(now + timedelta(seconds=1))
    assert changed.event == "config_changed" and changed.payload["result_id"] == second.pk
    assert EvaluatorState.objects.get().results_until == now + timedelta(seconds=1)
    assert run(now + timedelta(seconds=2)) == []  # read again inside the overlap: once


def test_a_failed_delivery_is_retried_then_given_up_after_a_day(
    fleet: dict[str, Any], make_channel: Any, make_rule: Any, finish: Any, settings: Any,
    redis_db: Any, client: Any,
) -> None:
    settings.ALERTS_RETRY_BASE_SECONDS = 60
    now = timezone.now()
    make_rule(owner=fleet["users"]["superuser"], channel=make_channel(
        target="http://127.0.0.1:9/nothing-listens"), events=["backup_failed"])
    finish([fleet["devices"]["core1"]], "failed", scheduled_for=now - timedelta(minutes=1))
    [sent] = run(now)
    first = delivery.deliver(sent.pk, now=now)
    assert first.status == "pending" and first.retry_in == 60
    assert delivery.deliver(sent.pk, now=now).status == "pending"  # second attempt, 120 s
    sent.refresh_from_db()
    assert sent.attempts == 2 and "webhook:" in sent.last_error
    assert delivery.deliver(sent.pk, now=now + timedelta(hours=23, minutes=59)).status == "failed"
    sent.refresh_from_db()
    assert sent.status == "failed"
    assert delivery.deliver(sent.pk, now=now).status == "skipped"  # never sent again
    metrics = client.get("/metrics").content.decode()
    assert 'devicevault_notifications_failed_total{kind="webhook"} 1.0' in metrics
    assert 'devicevault_notifications_sent_total{kind="webhook"} 0.0' in metrics


def test_the_stale_read_agrees_with_the_devices_rule(
    fleet: dict[str, Any], finish: Any, make_schedule: Any, add_devices: Any,
) -> None:
    from alerts.evaluation import read_stale
    from devices.models import Device
    from devices.outcomes import filter_backup_status, stale_periods

    now = timezone.now()
    old = now - timedelta(days=20)
    hourly = make_schedule(name="Hourly", schedule_type="cron", cron_expression="0 * * * *")
    add_devices(6, prefix="Hourly", backup_schedule=hourly)
    Device.objects.update(created_at=old)
    hourly.__class__.objects.update(active_since=old)
    devices = list(Device.objects.order_by("id"))
    finish(devices[:2], "success", scheduled_for=now - timedelta(minutes=30))
    finish(devices[2:4], "success", scheduled_for=now - timedelta(days=3))
    finish(devices[4:5], "failed", scheduled_for=now - timedelta(minutes=30))
    Device.objects.filter(pk=devices[5].pk).update(enabled=False)
    expected = set(filter_backup_status(Device.objects.all(), "stale", now=now,
                                        periods=stale_periods()).values_list("id", flat=True))
    assert set(read_stale(now=now)) == expected
    assert len(expected) >= 4
