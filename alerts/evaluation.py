"""Alert evaluation: read the facts in a bounded number of queries, plan, store, hand over.

One evaluation reads the rules, the results finished since the persisted watermark (and
the latest outcomes of those devices, in one windowed query), the stale devices, the
leader's last tick and the open conditions; `alerts.conditions.plan` decides; the new
conditions and notifications are written in one transaction that holds the EvaluatorState
row, and each notification's delivery task is sent once it commits.

Two evaluators never interleave (the row lock), and the open-condition unique constraint
stops anything that slips past it: a restart or a second evaluator cannot report a condition
twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber

from alerts import conditions as c
from alerts import messages
from alerts.choices import NotificationStatusChoices
from alerts.models import AlertCondition, EvaluatorState, Notification, NotificationRule
from devices.access import allowed_device_groups
from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.metrics import record_devices_stale
from devices.models import Device, DeviceBackup, DeviceBackupResult
from devices.outcomes import stale_periods, stale_threshold
from schedules.models import BackupSchedule

logger = logging.getLogger(__name__)

# Results are read from a little before the watermark: a row whose transaction committed
# after an evaluation, with an earlier finished_at, is still seen. Reading one twice is
# harmless: conditions are opened once, changes reported once.
OVERLAP = timedelta(minutes=10)
FIRST_LOOKBACK = timedelta(days=1)  # the first evaluation reads this far back
OUTCOME_STATUSES = (Status.SUCCESS, Status.FAILED, Status.MISSED_WINDOW)
# A pending notification whose delivery message is this late (lost with a broker restart,
# say) is sent again by the evaluation's sweep.
SWEEP_GRACE = timedelta(minutes=5)


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """What one evaluation did (for logs, tests and the benchmark)."""

    opened: int
    closed: int
    notifications: list[int]
    stale: int | None
    scheduler_down: bool | None
    resent: int = 0


Send = Callable[[list[int]], None]


def rule_scopes(rules: Iterable[NotificationRule]) -> list[c.RuleScope]:
    """The rules as `alerts.conditions` sees them: the owner's visible device groups come
    from the access rule (devices.access), one query per distinct owner."""
    owner_groups: dict[int, frozenset[int] | None] = {}
    scopes = []
    for rule in rules:
        owner = rule.owner
        if owner.pk not in owner_groups:
            if not owner.is_active:
                owner_groups[owner.pk] = frozenset()
            elif owner.is_superuser:
                owner_groups[owner.pk] = None  # also the devices of no group
            else:
                owner_groups[owner.pk] = frozenset(
                    allowed_device_groups(owner).values_list("pk", flat=True)
                )
        scopes.append(c.RuleScope(
            rule_id=rule.pk, events=frozenset(rule.events or ()),
            failures_in_a_row=rule.failures_in_a_row, owner_groups=owner_groups[owner.pk],
            device_groups=frozenset(g.pk for g in rule.device_groups.all()),
        ))
    return scopes


def scheduler_is_down(*, now: datetime) -> bool:
    """No leader has ticked for `alerts.scheduler_down_after_seconds` (or ever). A scheduler
    switched off in the configuration is not down.

    The beat's SchedulerState is read by name: no app imports the beat (DESIGN.md)."""
    config = settings.DEVICEVAULT
    if not config.scheduler.enabled:
        return False
    state = apps.get_model("beat", "SchedulerState")
    last_tick = state.objects.filter(pk=1).values_list("last_tick", flat=True).first()
    limit = timedelta(seconds=config.alerts.scheduler_down_after_seconds)
    return last_tick is None or now - last_tick > limit


def _device(device_id: int, name: str, group_id: int | None) -> c.DeviceRef:
    return c.DeviceRef(id=device_id, name=name, group_id=group_id)


def read_histories(*, since: datetime, now: datetime, depth: int) -> list[c.DeviceHistory]:
    """The devices with a result finished in (since, now], each with its `depth` latest
    outcomes, newest first: one query."""
    changed = DeviceBackupResult.objects.filter(
        finished_at__gt=since, finished_at__lte=now, status__in=OUTCOME_STATUSES,
    ).values("device_id")
    rows = (
        DeviceBackupResult.objects.filter(device_id__in=changed, status__in=OUTCOME_STATUSES)
        .annotate(position=Window(
            RowNumber(), partition_by=[F("device_id")],
            order_by=[F("scheduled_for").desc(), F("id").desc()],
        ))
        .filter(position__lte=depth)
        .order_by("device_id", "position")
        .values_list("device_id", "device__name", "device__device_group_id", "id", "status",
                     "schedule_id", "schedule__name", "schedule_name", "scheduled_for", "error")
    )
    histories: dict[int, tuple[c.DeviceRef, list[c.Outcome]]] = {}
    for (device_id, name, group_id, result_id, status, schedule_id, current_name, old_name,
         scheduled_for, error) in rows:
        entry = histories.setdefault(device_id, (_device(device_id, name, group_id), []))
        entry[1].append(c.Outcome(
            result_id=result_id, status=status, error=error or "",
            occurrence=c.Occurrence(schedule_id=schedule_id,
                                    schedule_name=current_name or old_name or "",
                                    scheduled_for=scheduled_for),
        ))
    return [c.DeviceHistory(device=d, recent=tuple(o)) for d, o in histories.values()]


def read_stale(*, now: datetime) -> dict[int, c.DeviceRef]:
    """Every stale device, by devices.outcomes' rule (its thresholds, `stale_threshold`), in
    one query plus one for the schedules.

    devices.outcomes.filter_backup_status ORs one NOT EXISTS per distinct threshold, which
    PostgreSQL runs as that many subplans per device (18 s for 2,000 devices over 200
    schedules); here each device's threshold is a CASE on its schedule, and one correlated
    NOT EXISTS per device probes the results' (device, schedule, scheduled_for) index.
    """
    by_threshold: dict[datetime, list[int]] = {}
    for schedule in BackupSchedule.objects.filter(enabled=True):
        threshold = stale_threshold(schedule, now=now, periods=stale_periods())
        if threshold is not None:
            by_threshold.setdefault(threshold, []).append(schedule.pk)
    if not by_threshold:
        return {}
    threshold_of = Case(
        *(When(backup_schedule_id__in=ids, then=Value(threshold))
          for threshold, ids in by_threshold.items()),
        default=Value(None), output_field=DateTimeField(),
    )
    rows = (
        Device.objects.order_by()
        .filter(enabled=True, backup_schedule_id__isnull=False)
        .annotate(stale_threshold=threshold_of)
        .filter(stale_threshold__isnull=False, created_at__lte=F("stale_threshold"))
        .filter(~Exists(DeviceBackupResult.objects.filter(
            device=OuterRef("pk"), status=Status.SUCCESS,
            scheduled_for__gte=OuterRef("stale_threshold"),
        )))
        .values_list("id", "name", "device_group_id")
    )
    return {pk: _device(pk, name, group) for pk, name, group in rows}


def read_changes(*, since: datetime, now: datetime) -> list[c.ConfigChange]:
    """Configurations stored in (since, now] that differ from the device's previous one."""
    rows = DeviceBackup.objects.filter(
        collected_at__gt=since, collected_at__lte=now, changed=True, previous__isnull=False,
    ).order_by("id").values_list(
        "device_id", "device__name", "device__device_group_id", "result_id",
        "result__schedule_id", "result__schedule__name", "result__schedule_name",
        "result__scheduled_for",
    )
    return [
        c.ConfigChange(
            device=_device(device_id, name, group), result_id=result_id,
            occurrence=c.Occurrence(schedule_id=schedule_id,
                                    schedule_name=current_name or old_name or "",
                                    scheduled_for=scheduled_for),
        )
        for device_id, name, group, result_id, schedule_id, current_name, old_name, scheduled_for
        in rows if result_id is not None
    ]


def read_open(*, kinds: Iterable[str] | None = None) -> list[c.OpenCondition]:
    query = AlertCondition.objects.filter(closed_at__isnull=True).exclude(
        kind=c.CONFIG_KIND
    )
    if kinds is not None:
        query = query.filter(kind__in=list(kinds))
    rows = query.order_by().values_list(
        "id", "rule_id", "kind", "key", "device_id", "device__name", "device__device_group_id"
    )
    return [
        c.OpenCondition(
            id=pk, rule_id=rule_id, kind=kind, key=key,
            device=None if device_id is None else _device(device_id, name, group),
        )
        for pk, rule_id, kind, key, device_id, name, group in rows
    ]


def evaluate(*, now: datetime, send: Send, full: bool = True) -> Evaluation:
    """Evaluate every enabled rule and record what it reports.

    `full` False evaluates `scheduler_down` only (the workers' watch, which runs when no
    beat does): no results, no staleness, the watermark untouched. `send(ids)` hands the
    new notifications to delivery once the transaction commits (tasks.enqueue_deliveries).
    """
    rules = list(
        NotificationRule.objects.filter(enabled=True, channel__enabled=True)
        .select_related("owner", "channel").prefetch_related("device_groups")
    )
    scopes = rule_scopes(rules)
    events = set().union(*(s.events for s in scopes)) if scopes else set()
    wants_scheduler = c.SCHEDULER_DOWN in events
    if not full and not wants_scheduler:
        return Evaluation(opened=0, closed=0, notifications=[], stale=None, scheduler_down=None)
    created: list[int] = []
    stale: dict[int, c.DeviceRef] | None = None
    down: bool | None = None
    try:
        with transaction.atomic():
            state, _ = EvaluatorState.objects.select_for_update().get_or_create(pk=1)
            # Read under the lock: an evaluator that waited for it must not act on what it
            # saw before the one ahead of it changed the conditions (a scheduler_down
            # reopened by a stale reading, say).
            stale = read_stale(now=now) if full else None
            if stale is not None:
                record_devices_stale(len(stale))
            down = scheduler_is_down(now=now) if wants_scheduler or not full else None
            since = (state.results_until or now - FIRST_LOOKBACK) - OVERLAP
            wants_results = full and bool(
                events & {c.BACKUP_FAILED, c.MISSED_WINDOW, c.RECOVERED}
            )
            depth = max((s.failures_in_a_row for s in scopes), default=1)
            facts = c.Facts(
                rules=tuple(scopes),
                open=tuple(read_open(kinds=None if full else [c.SCHEDULER_KIND])),
                histories=tuple(read_histories(since=since, now=now, depth=depth))
                if wants_results else (),
                stale=stale if c.STALE in events else None,
                scheduler_down=down,
                **(_changes(since=since, now=now)
                   if full and c.CONFIG_CHANGED in events else {}),
            )
            result = c.plan(facts)
            created = _apply(result, rules={r.pk: r for r in rules}, now=now)
            if full:
                EvaluatorState.objects.filter(pk=1).update(results_until=now, evaluated_at=now)
            transaction.on_commit(lambda: send(created))
    except IntegrityError as exc:  # another evaluator got there first: it reported them
        logger.warning("alert evaluation skipped: %s", exc)
        return Evaluation(opened=0, closed=0, notifications=[], stale=None, scheduler_down=down)
    resent = _sweep(now=now, send=send) if full else 0
    if created:
        logger.info("alert evaluation: opened=%d closed=%d notifications=%d",
                    len(result.opens), len(result.closes), len(created))
    return Evaluation(
        opened=len(result.opens), closed=len(result.closes), notifications=created,
        stale=None if stale is None else len(stale), scheduler_down=down, resent=resent,
    )


def _changes(*, since: datetime, now: datetime) -> dict[str, Any]:
    changes = read_changes(since=since, now=now)
    keys = [c.change_key(change.result_id) for change in changes]
    reported = AlertCondition.objects.filter(kind=c.CONFIG_KIND, key__in=keys).values_list(
        "rule_id", "key"
    ) if keys else []
    return {
        "changes": tuple(changes),
        "reported_changes": frozenset(
            (rule_id, int(key.split(":", 1)[1])) for rule_id, key in reported
        ),
    }


def _down_since(now: datetime) -> str:
    state = apps.get_model("beat", "SchedulerState")
    last_tick = state.objects.filter(pk=1).values_list("last_tick", flat=True).first()
    if last_tick is None:
        return "since it started (no tick recorded)"
    return f"for {int((now - last_tick).total_seconds())} s (last tick {messages.iso(last_tick)})"


def _apply(plan: c.Plan, *, rules: dict[int, NotificationRule], now: datetime) -> list[int]:
    """Store the plan's conditions and notifications; the notification ids, in order."""
    AlertCondition.objects.bulk_create([
        AlertCondition(
            rule_id=o.rule_id, kind=o.kind, key=o.key,
            device_id=None if o.device is None else o.device.id, opened_at=now,
            closed_at=now if o.kind == c.CONFIG_KIND else None,
        )
        for o in plan.opens
    ], batch_size=5000)
    closing = [condition.id for condition in plan.closes]
    for start in range(0, len(closing), 1000):
        AlertCondition.objects.filter(
            pk__in=closing[start:start + 1000], closed_at__isnull=True
        ).update(closed_at=now)
    notifications = []
    for message in plan.messages:
        rule = rules.get(message.rule_id)
        if rule is None:
            continue
        if message.event == c.SCHEDULER_DOWN:
            message.detail = _down_since(now)
        notifications.append(Notification(
            rule=rule, channel_id=rule.channel_id, event=message.event,
            subject=messages.subject(message)[:300],
            payload=messages.payload(message, fired_at=now),
            device_count=len(message.devices), created_at=now, next_attempt_at=now,
        ))
    created = Notification.objects.bulk_create(notifications)
    return [n.pk for n in created]


def _sweep(*, now: datetime, send: Send) -> int:
    """Send again the notifications whose delivery is overdue: a message lost in the broker
    (or a worker killed in the middle of a send, once its claim has expired)."""
    overdue = list(Notification.objects.filter(
        Q(status=NotificationStatusChoices.PENDING, next_attempt_at__lt=now - SWEEP_GRACE)
        | Q(status=NotificationStatusChoices.SENDING, claimed_until__lt=now)
    ).order_by("id").values_list("pk", flat=True)[:1000])
    if overdue:
        logger.warning("alert delivery overdue, sending again: notifications=%s", overdue[:20])
        Notification.objects.filter(pk__in=overdue).update(next_attempt_at=now)
        send(overdue)
    return len(overdue)
