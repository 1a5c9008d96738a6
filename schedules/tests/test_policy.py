"""The scheduling policy's pure rules (schedules/policy.py): window containment across DST,
defer across midnight, spread offsets stable and uniform, and exactly one fate per device."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from schedules.policy import (
    DEFAULT_PRIORITY,
    DEFER,
    MAX_PRIORITY,
    SKIP,
    WindowSpec,
    device_fate,
    fleet_firings,
    message_priority,
    spread_offset,
    windows_at,
)
from schedules.recurrence import Recurrence

SYDNEY = ZoneInfo("Australia/Sydney")


def daily(hour: int, minute: int = 0, *, minutes: int, policy: str = SKIP, wid: int = 1,
          tz: str = "Australia/Sydney", **scope: frozenset[int]) -> WindowSpec:
    return WindowSpec(id=wid, name=f"w{wid}", policy=policy, duration=timedelta(minutes=minutes),
                      recurrence=Recurrence(schedule_type="daily", hour=hour, minute=minute,
                                            timezone=tz), **scope)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SYDNEY).astimezone(UTC)


def test_an_instant_is_inside_from_the_start_up_to_but_not_at_the_end() -> None:
    window = daily(1, minutes=120)
    assert window.span_at(local(2027, 6, 1, 0, 59)) is None
    assert window.span_at(local(2027, 6, 1, 1, 0)) == (local(2027, 6, 1, 1), local(2027, 6, 1, 3))
    assert window.span_at(local(2027, 6, 1, 2, 59)) is not None
    assert window.span_at(local(2027, 6, 1, 3, 0)) is None


def test_a_window_across_midnight_holds_the_next_days_occurrence_and_defers_it() -> None:
    window = daily(23, minutes=180, policy=DEFER)  # 23:00-02:00
    hold = windows_at([window], local(2027, 6, 2, 1, 30))  # a 01:30 occurrence
    assert not hold.skip and hold.defer == ((window, local(2027, 6, 2, 2, 0)),)
    assert device_fate(hold, device_group=None, collection_group=None,
                       at=local(2027, 6, 2, 1, 30)) == (DEFER, local(2027, 6, 2, 2, 0))


def test_a_window_on_the_spring_forward_day_lasts_its_duration_in_real_time() -> None:
    """Sydney 2027-10-03: 02:00 AEST becomes 03:00 AEDT. A 01:30 window of 60 minutes ends
    at 03:30 local (one real hour later), and 02:30 does not exist: 03:30 is outside."""
    window = daily(1, 30, minutes=60)
    start, end = window.span_at(local(2027, 10, 3, 1, 45)) or (None, None)
    assert start == local(2027, 10, 3, 1, 30)
    assert end is not None and end - start == timedelta(hours=1)
    assert end.astimezone(SYDNEY).hour == 3 and end.astimezone(SYDNEY).minute == 30
    assert window.span_at(end) is None


def test_a_window_in_its_own_zone_follows_that_zones_dst() -> None:
    """02:00-04:00 New York: in January 18:00-20:00 Sydney, in July 16:00-18:00."""
    window = daily(2, minutes=120, tz="America/New_York")
    assert window.span_at(local(2027, 1, 10, 19, 0)) is not None
    assert window.span_at(local(2027, 7, 10, 19, 0)) is None
    assert window.span_at(local(2027, 7, 10, 17, 0)) is not None


def test_a_one_off_window() -> None:
    start = local(2027, 6, 5, 22)
    window = WindowSpec(id=1, name="freeze", policy=SKIP, duration=timedelta(hours=4),
                        start=start)
    assert window.span_at(local(2027, 6, 6, 1)) == (start, start + timedelta(hours=4))
    assert window.span_at(local(2027, 6, 6, 2)) is None
    assert window.span_at(local(2027, 6, 7, 1)) is None


def test_scope_skip_wins_over_defer_and_the_latest_defer_end_wins() -> None:
    at = local(2027, 6, 2, 1, 30)
    skip_core = daily(1, minutes=60, wid=1, device_groups=frozenset({10}))
    defer_dc = daily(1, minutes=60, policy=DEFER, wid=2, collection_groups=frozenset({20}))
    defer_all = daily(0, minutes=150, policy=DEFER, wid=3)  # 00:00-02:30
    hold = windows_at([skip_core, defer_dc, defer_all], at)
    assert device_fate(hold, device_group=10, collection_group=20, at=at) == (SKIP, at)
    assert device_fate(hold, device_group=11, collection_group=20, at=at) == (
        DEFER, local(2027, 6, 2, 2, 30))
    assert device_fate(hold, device_group=None, collection_group=None, at=at) == (
        DEFER, local(2027, 6, 2, 2, 30))
    only_scoped = windows_at([skip_core, defer_dc], at)
    assert device_fate(only_scoped, device_group=None, collection_group=None, at=at) == ("run", at)


def test_spread_offsets_are_stable_inside_the_window_and_uniform() -> None:
    minutes = 120
    offsets = [spread_offset(device, 7, minutes) for device in range(1, 2001)]
    assert offsets == [spread_offset(device, 7, minutes) for device in range(1, 2001)]
    assert all(timedelta(0) <= o < timedelta(minutes=minutes) for o in offsets)
    per_minute = Counter(int(o.total_seconds() // 60) for o in offsets)
    assert len(per_minute) == minutes
    average = 2000 / minutes
    assert max(per_minute.values()) <= 2 * average, per_minute.most_common(3)
    assert spread_offset(5, 7, 0) == timedelta(0)


window_strategy = st.builds(
    lambda hour, minute, minutes, policy, wid, dgs, cgs: daily(
        hour, minute, minutes=minutes, policy=policy, wid=wid,
        device_groups=frozenset(dgs), collection_groups=frozenset(cgs)),
    st.integers(0, 23), st.sampled_from([0, 15, 30, 45]), st.integers(1, 24 * 60),
    st.sampled_from([SKIP, DEFER]), st.integers(1, 1000),
    st.sets(st.integers(1, 4), max_size=2), st.sets(st.integers(1, 4), max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(windows=st.lists(window_strategy, max_size=4),
       minute_of_year=st.integers(0, 365 * 24 * 60 - 1),
       device_group=st.one_of(st.none(), st.integers(1, 4)),
       collection_group=st.one_of(st.none(), st.integers(1, 4)),
       spread=st.integers(0, 720), device=st.integers(1, 10**7))
def test_every_device_gets_exactly_one_firing_no_earlier_than_its_occurrence(
    windows: list[WindowSpec], minute_of_year: int, device_group: int | None,
    collection_group: int | None, spread: int, device: int,
) -> None:
    at = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=minute_of_year)
    hold = windows_at(windows, at)
    fate, fires = device_fate(hold, device_group=device_group,
                              collection_group=collection_group, at=at)
    holding = [w for w in windows if w.span_at(at) and w.applies_to(device_group,
                                                                     collection_group)]
    if any(w.policy == SKIP for w in holding):
        assert fate == SKIP
    elif holding:
        assert fate == DEFER and fires > at
        assert all(w.span_at(fires) is None or w.span_at(fires) != w.span_at(at)
                   for w in holding), "a deferred occurrence fires after its windows end"
    else:
        assert (fate, fires) == ("run", at)
    start = fires + spread_offset(device, 1, spread)
    assert fires <= start < fires + timedelta(minutes=max(spread, 1))


def test_the_estimate_is_the_spread_plus_the_slowest_group_collecting_limit_at_a_time() -> None:
    from schedules.policy import occurrence_estimate

    # 100 devices 4 at a time at 30 s: 25 rounds; 3 devices 1 at a time at 200 s: 600 s
    assert occurrence_estimate([(100, 4, 30.0), (3, 1, 200.0)], spread_minutes=10) == 600 + 750
    assert occurrence_estimate([], spread_minutes=0) == 0


def test_a_capacity_warning_names_the_nearest_limit() -> None:
    from schedules.policy import capacity_warning

    at = datetime(2027, 6, 1, 2, tzinfo=UTC)
    hourly = at + timedelta(hours=1)
    assert capacity_warning(estimate=3000, occurrence=at, next_occurrence=hourly,
                            next_window=None) is None
    late = capacity_warning(estimate=4000, occurrence=at, next_occurrence=hourly,
                            next_window=None)
    assert late is not None and (late.limited_by, late.available_seconds) == (
        "next_occurrence", 3600)
    window = capacity_warning(estimate=3000, occurrence=at, next_occurrence=hourly,
                              next_window=("freeze", at + timedelta(minutes=30)))
    assert window is not None and window.limited_by == "maintenance_window"
    assert "freeze" in window.message and "50 min" in window.message


def test_a_message_carries_its_schedules_priority_a_run_now_the_highest() -> None:
    assert [message_priority(p, manual=False) for p in (0, 5, 9)] == [0, 5, 9]
    assert message_priority(None, manual=False) == DEFAULT_PRIORITY  # schedule deleted since
    assert message_priority(0, manual=True) == message_priority(None, manual=True) == MAX_PRIORITY


DAILY_2AM = Recurrence(schedule_type="daily", hour=2, timezone="Australia/Sydney")


def test_next_runs_without_windows_are_the_recurrences() -> None:
    after = local(2027, 6, 1, 12)
    assert fleet_firings(DAILY_2AM, [], after, 5) == DAILY_2AM.next_n(after, 5)


def test_a_whole_fleet_skip_window_drops_the_occurrences_inside_it() -> None:
    freeze = WindowSpec(id=1, name="freeze", policy=SKIP, duration=timedelta(days=2),
                        start=local(2027, 6, 2, 0))  # holds the 2nd and the 3rd
    assert fleet_firings(DAILY_2AM, [freeze], local(2027, 6, 1, 12), 3) == [
        local(2027, 6, 4, 2), local(2027, 6, 5, 2), local(2027, 6, 6, 2)]


def test_a_whole_fleet_defer_window_moves_the_firing_to_its_end_even_once_it_began() -> None:
    change = daily(1, 30, minutes=90, policy=DEFER)  # 01:30-03:00 every night
    assert fleet_firings(DAILY_2AM, [change], local(2027, 6, 1, 12), 2) == [
        local(2027, 6, 2, 3), local(2027, 6, 3, 3)]
    # 02:30: the 02:00 occurrence is held until 03:00, the next firing
    assert fleet_firings(DAILY_2AM, [change], local(2027, 6, 2, 2, 30), 1) == [
        local(2027, 6, 2, 3)]
    # ... unless the schedule became active after it: nothing of it was held
    assert fleet_firings(DAILY_2AM, [change], local(2027, 6, 2, 2, 30), 1,
                         since=local(2027, 6, 2, 2, 10)) == [local(2027, 6, 3, 3)]


def test_a_window_scoped_to_groups_leaves_the_time_and_skip_wins_over_defer() -> None:
    scoped = daily(1, minutes=120, wid=1, device_groups=frozenset({3}))
    assert fleet_firings(DAILY_2AM, [scoped], local(2027, 6, 1, 12), 1) == [local(2027, 6, 2, 2)]
    both = [daily(1, minutes=120, policy=DEFER, wid=2),
            WindowSpec(id=3, name="freeze", policy=SKIP, duration=timedelta(hours=1),
                       start=local(2027, 6, 2, 1, 30))]
    assert fleet_firings(DAILY_2AM, both, local(2027, 6, 1, 12), 2) == [
        local(2027, 6, 3, 3), local(2027, 6, 4, 3)]


def test_a_schedule_always_inside_a_whole_fleet_skip_window_never_fires() -> None:
    # In UTC: a Sydney week that ends DST lasts 169 hours, which would leave one free hour.
    always = WindowSpec(id=1, name="always", policy=SKIP, duration=timedelta(days=7),
                        recurrence=Recurrence(schedule_type="weekly", day_of_week=0))
    every_minute = Recurrence(schedule_type="cron", cron_expression="* * * * *")
    assert fleet_firings(every_minute, [always], local(2027, 6, 1, 12), 1) == []
    sydney_weeks = WindowSpec(id=1, name="weeks", policy=SKIP, duration=timedelta(days=7),
                              recurrence=Recurrence(schedule_type="weekly", day_of_week=0,
                                                    timezone="Australia/Sydney"))
    assert fleet_firings(every_minute, [sydney_weeks], local(2027, 6, 1, 12), 1) == [
        local(2028, 4, 2, 23)]  # the hour between two windows on the day DST ends


@settings(max_examples=100, deadline=None)
@given(windows=st.lists(window_strategy, max_size=4),
       minute_of_year=st.integers(0, 365 * 24 * 60 - 1), hour=st.integers(0, 23))
def test_the_next_runs_are_what_each_occurrence_does_to_a_device_in_no_group(
    windows: list[WindowSpec], minute_of_year: int, hour: int,
) -> None:
    """One rule: the firings shown are the fates device_fate gives a device every window
    holds, occurrence by occurrence, from a day back (the longest window here), as far as
    the oracle looks (40 days: a day that ends DST can free an occurrence months later)."""
    schedule = Recurrence(schedule_type="daily", hour=hour, timezone="Australia/Sydney")
    after = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(minutes=minute_of_year)
    horizon = after + timedelta(days=40)
    expected = []
    for at in schedule.between(after - timedelta(days=1), horizon):
        fate, fires = device_fate(windows_at(windows, at), device_group=None,
                                  collection_group=None, at=at)
        if fate != SKIP and after < fires < horizon:
            expected.append(fires)
    got = fleet_firings(schedule, windows, after, 5)
    assert [f for f in got if f < horizon] == expected[:5]
