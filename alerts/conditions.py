"""Which conditions open and close, and which messages go: a pure function of the facts.

A *condition* is something wrong that lasts: a device failing (`backup_failed` after
`failures_in_a_row` failures in a row, or `missed_window`), a device stale, the scheduler
down. For each rule it opens once (one message), and closes once (one `recovered` message,
when the rule asks for `recovered`). The caller stores the open conditions under a unique
constraint, so the plan below is only ever applied once per condition, whoever evaluates.

Storm control: the openings (and closings) of one evaluation are grouped per rule, event and
occurrence (the schedule and `scheduled_for` of the results that caused them; stale devices
per evaluation); a group of more than one device is one summary message. When one rule has
more than MAX_OCCURRENCE_MESSAGES occurrences of one event in an evaluation, they are one
message too.

Access: a rule sees only the devices its owner may see (`RuleScope.covers`), narrowed to its
device groups when it names any. `scheduler_down` concerns no device.

No Django, no clock: the caller passes the facts and `now`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

BACKUP_FAILED = "backup_failed"
MISSED_WINDOW = "missed_window"
STALE = "stale"
CONFIG_CHANGED = "config_changed"
SCHEDULER_DOWN = "scheduler_down"
RECOVERED = "recovered"

# Condition kinds (alerts.choices.AlertConditionKindChoices).
FAILING = "failing"
STALE_KIND = "stale"
SCHEDULER_KIND = "scheduler_down"
CONFIG_KIND = "config_changed"

SCHEDULER_KEY = "scheduler"
# A rule whose devices fail in more occurrences than this in one evaluation (a network outage
# across many schedules) gets one message for the event, not one per occurrence.
MAX_OCCURRENCE_MESSAGES = 5

FAILED = "failed"
SUCCESS = "success"


@dataclass(frozen=True, kw_only=True)
class RuleScope:
    """A rule as evaluation needs it. `owner_groups` None: the owner sees every device
    (superuser); an empty set: none (inactive owner). `device_groups` empty: every group."""

    rule_id: int
    events: frozenset[str]
    failures_in_a_row: int = 1
    owner_groups: frozenset[int] | None = None
    device_groups: frozenset[int] = frozenset()

    def covers(self, device_group_id: int | None) -> bool:
        """Whether the rule may report a device of `device_group_id` (None: no group)."""
        if self.owner_groups is not None and device_group_id not in self.owner_groups:
            return False
        return not self.device_groups or device_group_id in self.device_groups


@dataclass(frozen=True, kw_only=True)
class DeviceRef:
    id: int
    name: str
    group_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class Occurrence:
    """The occurrence a message is about (schedule None: a run-now or a deleted schedule)."""

    schedule_id: int | None
    schedule_name: str
    scheduled_for: datetime


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """One final result (not `skipped`) of a device."""

    result_id: int
    status: str
    occurrence: Occurrence
    error: str = ""


@dataclass(frozen=True, kw_only=True)
class DeviceHistory:
    """A device with results finished since the last evaluation: its latest outcomes, newest
    first (at least as many as the largest `failures_in_a_row` of the rules, when it has)."""

    device: DeviceRef
    recent: tuple[Outcome, ...]


@dataclass(frozen=True, kw_only=True)
class ConfigChange:
    device: DeviceRef
    result_id: int
    occurrence: Occurrence


@dataclass(frozen=True, kw_only=True)
class OpenCondition:
    id: int
    rule_id: int
    kind: str
    key: str
    device: DeviceRef | None = None


@dataclass(frozen=True, kw_only=True)
class Facts:
    """What evaluation read. `stale` None: staleness not evaluated this time (kept as is);
    `scheduler_down` None: not evaluated. `reported_changes`: (rule id, result id) pairs of
    configuration changes already reported."""

    rules: tuple[RuleScope, ...]
    open: tuple[OpenCondition, ...] = ()
    histories: tuple[DeviceHistory, ...] = ()
    stale: Mapping[int, DeviceRef] | None = None
    scheduler_down: bool | None = None
    changes: tuple[ConfigChange, ...] = ()
    reported_changes: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True, kw_only=True)
class Opening:
    rule_id: int
    kind: str
    key: str
    device: DeviceRef | None


@dataclass(kw_only=True)
class Message:
    """One notification: `devices` empty for the scheduler; more than one: a summary."""

    rule_id: int
    event: str
    devices: list[DeviceRef] = field(default_factory=list)
    occurrence: Occurrence | None = None
    result_id: int | None = None
    detail: str = ""  # the error of a single failure, the outage's length, ...


@dataclass(kw_only=True)
class Plan:
    opens: list[Opening] = field(default_factory=list)
    closes: list[OpenCondition] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)


class _Closer(Protocol):
    def __call__(self, condition: OpenCondition, occurrence: Occurrence | None = None) -> None:
        ...


def device_key(device_id: int) -> str:
    return f"device:{device_id}"


def change_key(result_id: int) -> str:
    return f"result:{result_id}"


class _Grouper:
    """Collects messages per (rule, event, occurrence), in the order they first appear."""

    def __init__(self) -> None:
        self._messages: dict[tuple[object, ...], Message] = {}

    def add(self, *, rule_id: int, event: str, device: DeviceRef | None,
            occurrence: Occurrence | None = None, result_id: int | None = None,
            detail: str = "") -> None:
        key = (rule_id, event, None if occurrence is None else
               (occurrence.schedule_id, occurrence.scheduled_for))
        message = self._messages.get(key)
        if message is None:
            message = self._messages[key] = Message(
                rule_id=rule_id, event=event, occurrence=occurrence, result_id=result_id,
                detail=detail,
            )
        if device is not None:
            message.devices.append(device)
        if len(message.devices) > 1:
            message.result_id, message.detail = None, ""

    def messages(self) -> list[Message]:
        per_event: dict[tuple[int, str], list[Message]] = {}
        for message in self._messages.values():
            per_event.setdefault((message.rule_id, message.event), []).append(message)
        found: list[Message] = []
        for (rule_id, event), group in per_event.items():
            if len(group) <= MAX_OCCURRENCE_MESSAGES:
                found += group
                continue
            merged = Message(rule_id=rule_id, event=event,
                             devices=[d for m in group for d in m.devices])
            merged.detail = f"in {len(group)} occurrences"
            found.append(merged)
        return found


def failing_event(rule: RuleScope, recent: tuple[Outcome, ...]) -> str | None:
    """The event that makes `rule` see the device as failing, or None.

    `missed_window`: the latest outcome is a missed window. `backup_failed`: the latest is
    `failed`, and so are the `failures_in_a_row` latest (a missed window counts as a failure
    in the row)."""
    if not recent:
        return None
    latest = recent[0].status
    if latest == MISSED_WINDOW and MISSED_WINDOW in rule.events:
        return MISSED_WINDOW
    if latest == FAILED and BACKUP_FAILED in rule.events:
        row = recent[: rule.failures_in_a_row]
        if len(row) == rule.failures_in_a_row and all(
            o.status in (FAILED, MISSED_WINDOW) for o in row
        ):
            return BACKUP_FAILED
    return None


def plan(facts: Facts) -> Plan:
    """The conditions to open and close and the messages to send, given `facts`."""
    result = Plan()
    opened = _Grouper()
    recovered = _Grouper()
    open_by: dict[tuple[int, str, str], OpenCondition] = {
        (c.rule_id, c.kind, c.key): c for c in facts.open
    }

    def close(condition: OpenCondition, occurrence: Occurrence | None = None) -> None:
        result.closes.append(condition)
        rule = rules.get(condition.rule_id)
        if rule is not None and RECOVERED in rule.events:
            recovered.add(rule_id=rule.rule_id, event=RECOVERED, device=condition.device,
                          occurrence=occurrence, detail=_recovered_from(condition.kind))

    rules = {r.rule_id: r for r in facts.rules}
    for rule in facts.rules:
        _plan_failing(rule, facts.histories, open_by, result, opened, close)
        if facts.stale is not None:
            _plan_stale(rule, facts.stale, open_by, result, opened, close)
        if facts.scheduler_down is not None:
            _plan_scheduler(rule, facts.scheduler_down, open_by, result, opened, close)
        _plan_changes(rule, facts.changes, facts.reported_changes, result, opened)
    # Conditions of rules that no longer exist or no longer ask for the event: closed
    # silently (nobody asked to hear about them any more).
    result.closes += [
        c for c in facts.open
        if c not in result.closes and not _still_wanted(rules.get(c.rule_id), c)
    ]
    result.messages = opened.messages() + recovered.messages()
    return result


def _recovered_from(kind: str) -> str:
    return {FAILING: "backup succeeded", STALE_KIND: "no longer stale",
            SCHEDULER_KIND: "the scheduler ticks again"}.get(kind, "")


def _still_wanted(rule: RuleScope | None, condition: OpenCondition) -> bool:
    if rule is None:
        return False
    if condition.kind == FAILING:
        wanted = bool(rule.events & {BACKUP_FAILED, MISSED_WINDOW})
    elif condition.kind == STALE_KIND:
        wanted = STALE in rule.events
    elif condition.kind == SCHEDULER_KIND:
        return SCHEDULER_DOWN in rule.events
    else:
        return False
    return wanted and condition.device is not None and rule.covers(condition.device.group_id)


def _plan_failing(rule: RuleScope, histories: Iterable[DeviceHistory],
                  open_by: Mapping[tuple[int, str, str], OpenCondition], result: Plan,
                  opened: _Grouper, close: _Closer) -> None:
    if not rule.events & {BACKUP_FAILED, MISSED_WINDOW}:
        return
    for history in histories:
        device = history.device
        if not rule.covers(device.group_id) or not history.recent:
            continue
        key = device_key(device.id)
        current = open_by.get((rule.rule_id, FAILING, key))
        latest = history.recent[0]
        if current is not None:
            if latest.status == SUCCESS:
                close(current, latest.occurrence)
            continue
        event = failing_event(rule, history.recent)
        if event is None:
            continue
        result.opens.append(Opening(rule_id=rule.rule_id, kind=FAILING, key=key, device=device))
        detail = latest.error.splitlines()[0][:300] if latest.error else ""
        if event == BACKUP_FAILED and rule.failures_in_a_row > 1:
            detail = f"{rule.failures_in_a_row} failures in a row" + (
                f"; last: {detail}" if detail else ""
            )
        opened.add(rule_id=rule.rule_id, event=event, device=device,
                   occurrence=latest.occurrence, result_id=latest.result_id, detail=detail)


def _plan_stale(rule: RuleScope, stale: Mapping[int, DeviceRef],
                open_by: Mapping[tuple[int, str, str], OpenCondition], result: Plan,
                opened: _Grouper, close: _Closer) -> None:
    if STALE not in rule.events:
        return
    for device in stale.values():
        key = device_key(device.id)
        if rule.covers(device.group_id) and (rule.rule_id, STALE_KIND, key) not in open_by:
            result.opens.append(
                Opening(rule_id=rule.rule_id, kind=STALE_KIND, key=key, device=device)
            )
            opened.add(rule_id=rule.rule_id, event=STALE, device=device)
    for (rule_id, kind, _key), condition in open_by.items():
        if rule_id == rule.rule_id and kind == STALE_KIND and condition.device is not None \
                and condition.device.id not in stale:
            close(condition)


def _plan_scheduler(rule: RuleScope, down: bool,
                    open_by: Mapping[tuple[int, str, str], OpenCondition], result: Plan,
                    opened: _Grouper, close: _Closer) -> None:
    if SCHEDULER_DOWN not in rule.events:
        return
    current = open_by.get((rule.rule_id, SCHEDULER_KIND, SCHEDULER_KEY))
    if down and current is None:
        result.opens.append(Opening(rule_id=rule.rule_id, kind=SCHEDULER_KIND,
                                    key=SCHEDULER_KEY, device=None))
        opened.add(rule_id=rule.rule_id, event=SCHEDULER_DOWN, device=None)
    elif not down and current is not None:
        close(current)


def _plan_changes(rule: RuleScope, changes: Iterable[ConfigChange],
                  reported: frozenset[tuple[int, int]], result: Plan,
                  opened: _Grouper) -> None:
    if CONFIG_CHANGED not in rule.events:
        return
    for change in changes:
        if not rule.covers(change.device.group_id) or (rule.rule_id, change.result_id) in reported:
            continue
        result.opens.append(Opening(rule_id=rule.rule_id, kind=CONFIG_KIND,
                                    key=change_key(change.result_id), device=change.device))
        opened.add(rule_id=rule.rule_id, event=CONFIG_CHANGED, device=change.device,
                   occurrence=change.occurrence, result_id=change.result_id)
