"""The pure rules of alerts.conditions: what opens, what closes, what is said (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts import conditions as c
from alerts import messages

T = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
DAILY = c.Occurrence(schedule_id=7, schedule_name="Daily 2 AM", scheduled_for=T)


def device(pk: int, group: int | None = 1) -> c.DeviceRef:
    return c.DeviceRef(id=pk, name=f"Dev-{pk:03d}", group_id=group)


def outcome(status: str, n: int = 1) -> c.Outcome:
    return c.Outcome(result_id=n, status=status, occurrence=DAILY,
                     error="timeout" if status == "failed" else "")


def history(pk: int, *statuses: str, group: int | None = 1) -> c.DeviceHistory:
    return c.DeviceHistory(device=device(pk, group),
                           recent=tuple(outcome(s, i) for i, s in enumerate(statuses, 1)))


def rule(events: tuple[str, ...] = ("backup_failed", "recovered"), **kw: object) -> c.RuleScope:
    return c.RuleScope(rule_id=int(kw.pop("rule_id", 1)), events=frozenset(events), **kw)  # type: ignore[arg-type]


def opened(plan: c.Plan, rule_id: int = 1, kind: str = c.FAILING) -> c.OpenCondition:
    o = next(o for o in plan.opens if o.rule_id == rule_id and o.kind == kind)
    return c.OpenCondition(id=99, rule_id=o.rule_id, kind=o.kind, key=o.key, device=o.device)


def test_a_failure_opens_a_condition_with_one_message() -> None:
    plan = c.plan(c.Facts(rules=(rule(),), histories=(history(1, "failed"),)))
    assert [(o.kind, o.key) for o in plan.opens] == [("failing", "device:1")]
    [message] = plan.messages
    assert (message.event, message.result_id, message.detail) == ("backup_failed", 1, "timeout")
    assert messages.text(message) == (
        "Dev-001: backup failed (Daily 2 AM, 2026-12-03T02:00:00Z): timeout."
    )


def test_an_open_condition_is_not_reported_again() -> None:
    first = c.plan(c.Facts(rules=(rule(),), histories=(history(1, "failed"),)))
    again = c.plan(c.Facts(rules=(rule(),), histories=(history(1, "failed", "failed"),),
                           open=(opened(first),)))
    assert again.opens == [] and again.messages == [] and again.closes == []


def test_a_success_closes_the_condition_with_one_recovered() -> None:
    condition = opened(c.plan(c.Facts(rules=(rule(),), histories=(history(1, "failed"),))))
    plan = c.plan(c.Facts(rules=(rule(),), histories=(history(1, "success", "failed"),),
                          open=(condition,)))
    assert plan.closes == [condition]
    assert [(m.event, [d.id for d in m.devices]) for m in plan.messages] == [("recovered", [1])]


def test_recovered_is_silent_for_a_rule_that_does_not_ask_for_it() -> None:
    quiet = rule(("backup_failed",))
    condition = opened(c.plan(c.Facts(rules=(quiet,), histories=(history(1, "failed"),))))
    plan = c.plan(c.Facts(rules=(quiet,), histories=(history(1, "success"),), open=(condition,)))
    assert plan.closes == [condition] and plan.messages == []


def test_failures_in_a_row_waits_for_that_many_failures() -> None:
    three = rule(failures_in_a_row=3)
    assert c.plan(c.Facts(rules=(three,), histories=(history(1, "failed", "failed"),))).opens == []
    assert c.plan(c.Facts(rules=(three,), histories=(
        history(1, "failed", "failed", "success"),))).opens == []
    plan = c.plan(c.Facts(rules=(three,), histories=(history(1, "failed", "missed_window",
                                                             "failed"),)))
    assert len(plan.opens) == 1
    assert plan.messages[0].detail == "3 failures in a row; last: timeout"


def test_missed_window_is_its_own_event() -> None:
    assert c.plan(c.Facts(rules=(rule(),), histories=(history(1, "missed_window"),))).opens == []
    plan = c.plan(c.Facts(rules=(rule(("missed_window",)),),
                          histories=(history(1, "missed_window"),)))
    assert [m.event for m in plan.messages] == ["missed_window"]


def test_one_occurrence_failing_for_500_devices_is_one_message_per_rule() -> None:
    histories = tuple(history(i, "failed") for i in range(1, 501))
    plan = c.plan(c.Facts(rules=(rule(rule_id=1), rule(rule_id=2)), histories=histories))
    assert len(plan.opens) == 1000
    assert [(m.rule_id, len(m.devices)) for m in plan.messages] == [(1, 500), (2, 500)]
    text = messages.text(plan.messages[0])
    assert text.startswith("500 devices: backups failed: Dev-001, Dev-002,")
    assert "Dev-010 and 490 more (Daily 2 AM" in text
    body = messages.payload(plan.messages[0], fired_at=T)
    assert body["device"] is None and body["result_id"] is None
    assert body["schedule"] == {"id": 7, "name": "Daily 2 AM"}
    assert messages.subject(plan.messages[0]) == "[DeviceVault] backup_failed: 500 devices"


def test_a_rule_reports_only_devices_its_owner_may_see() -> None:
    narrow = rule(owner_groups=frozenset({1}))
    plan = c.plan(c.Facts(rules=(narrow,), histories=(
        history(1, "failed", group=1), history(2, "failed", group=2),
        history(3, "failed", group=None),
    )))
    assert [o.key for o in plan.opens] == ["device:1"]


def test_a_rule_narrowed_to_device_groups_reports_only_those() -> None:
    everything = rule(device_groups=frozenset({2}))  # a superuser's rule (owner_groups None)
    plan = c.plan(c.Facts(rules=(everything,), histories=(
        history(1, "failed", group=1), history(2, "failed", group=2),
    )))
    assert [o.key for o in plan.opens] == ["device:2"]
    assert not rule(owner_groups=frozenset()).covers(1)


def test_stale_devices_open_once_and_recover_when_no_longer_stale() -> None:
    stale_rule = rule(("stale", "recovered"))
    plan = c.plan(c.Facts(rules=(stale_rule,), stale={1: device(1), 2: device(2)}))
    assert [m.event for m in plan.messages] == ["stale"] and len(plan.opens) == 2
    open_ = tuple(c.OpenCondition(id=i, rule_id=1, kind="stale", key=o.key, device=o.device)
                  for i, o in enumerate(plan.opens))
    again = c.plan(c.Facts(rules=(stale_rule,), stale={1: device(1), 2: device(2)}, open=open_))
    assert again.messages == [] and again.opens == []
    later = c.plan(c.Facts(rules=(stale_rule,), stale={2: device(2)}, open=open_))
    assert [cond.key for cond in later.closes] == ["device:1"]
    assert [(m.event, len(m.devices)) for m in later.messages] == [("recovered", 1)]


def test_staleness_not_evaluated_leaves_stale_conditions_alone() -> None:
    condition = c.OpenCondition(id=1, rule_id=1, kind="stale", key="device:1", device=device(1))
    plan = c.plan(c.Facts(rules=(rule(("stale",)),), open=(condition,)))
    assert plan.closes == [] and plan.messages == []


def test_scheduler_down_opens_once_and_closes_once() -> None:
    watch = rule(("scheduler_down", "recovered"))
    plan = c.plan(c.Facts(rules=(watch,), scheduler_down=True))
    assert [(o.kind, o.key) for o in plan.opens] == [("scheduler_down", "scheduler")]
    assert messages.subject(plan.messages[0]) == "[DeviceVault] scheduler_down: scheduler"
    condition = opened(plan, kind="scheduler_down")
    assert c.plan(c.Facts(rules=(watch,), scheduler_down=True, open=(condition,))).messages == []
    up = c.plan(c.Facts(rules=(watch,), scheduler_down=False, open=(condition,)))
    assert up.closes == [condition]
    assert messages.text(up.messages[0]).startswith("The backup scheduler is up again")


def test_conditions_of_a_rule_gone_or_no_longer_interested_close_silently() -> None:
    condition = c.OpenCondition(id=1, rule_id=5, kind="failing", key="device:1",
                                device=device(1))
    plan = c.plan(c.Facts(rules=(rule(("stale",), rule_id=5),), open=(condition,)))
    assert plan.closes == [condition] and plan.messages == []


def test_a_configuration_change_is_reported_once() -> None:
    change = c.ConfigChange(device=device(1), result_id=42, occurrence=DAILY)
    changes_rule = rule(("config_changed",))
    plan = c.plan(c.Facts(rules=(changes_rule,), changes=(change,)))
    assert [(o.kind, o.key) for o in plan.opens] == [("config_changed", "result:42")]
    again = c.plan(c.Facts(rules=(changes_rule,), changes=(change,),
                           reported_changes=frozenset({(1, 42)})))
    assert again.opens == [] and again.messages == []


def test_presets_shape_the_webhook_body_for_slack_and_teams() -> None:
    body = {"message": "Dev-001: backup failed."}
    assert messages.shaped(body, preset="slack", subject_line="S") == {
        "text": "*S*\nDev-001: backup failed."
    }
    teams = messages.shaped(body, preset="teams", subject_line="S")
    assert teams["@type"] == "MessageCard" and teams["text"] == "Dev-001: backup failed."
    assert messages.shaped(body, preset="generic", subject_line="S") is body


def test_failures_in_many_occurrences_at_once_are_one_message_per_rule() -> None:
    def failed_in(pk: int, schedule: int) -> c.DeviceHistory:
        occurrence = c.Occurrence(schedule_id=schedule, schedule_name=f"S{schedule}",
                                  scheduled_for=T)
        return c.DeviceHistory(device=device(pk), recent=(
            c.Outcome(result_id=pk, status="failed", occurrence=occurrence),))

    few = c.plan(c.Facts(rules=(rule(),), histories=tuple(failed_in(i, i) for i in range(5))))
    assert len(few.messages) == 5
    many = c.plan(c.Facts(rules=(rule(),), histories=tuple(failed_in(i, i) for i in range(200))))
    [message] = many.messages
    assert len(message.devices) == 200 and message.occurrence is None
    assert messages.text(message).endswith("and 190 more: in 200 occurrences.")
