"""Catch-up planning: which missed occurrences run late and which are recorded as missed.

Pure: no Django, no Redis, no clock. The beat asks it once when it becomes leader, handles
the steps oldest first, and moves `last_tick` only past what it fully handled
(`handled_through`), so a catch-up cut short (lock lost, SIGTERM, crash) is resumed by the
next leader instead of being forgotten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schedules.recurrence import Recurrence

# At most this many occurrences of one schedule are handled in one catch-up; an absurd gap
# (a year of a per-minute cron) must not hang the beat or write millions of rows.
MAX_CATCHUP_OCCURRENCES = 500


@dataclass(frozen=True)
class CatchupPlan:
    """The decisions for one schedule: run late (`catchup`), record as `missed`, or skip."""

    catchup: list[datetime] = field(default_factory=list)
    missed: list[datetime] = field(default_factory=list)
    skipped: int = 0


def plan_catchup(
    recurrence: Recurrence,
    *,
    last_tick: datetime | None,
    active_since: datetime | None,
    now: datetime,
    window: timedelta,
    limit: int = MAX_CATCHUP_OCCURRENCES,
) -> CatchupPlan:
    """Plan the occurrences in (since, now], since = the later of last_tick and active_since.

    An occurrence whose age at `now` is at most `window` (inclusive) is caught up; an older
    one is missed. Nothing before the schedule was active counts as missed; with no
    `last_tick` (the very first start) nothing was missed at all. When more than `limit`
    occurrences fall in the gap, the most recent `limit` are handled and the rest skipped.
    """
    if last_tick is None:
        return CatchupPlan()
    since = max(last_tick, active_since) if active_since else last_tick
    if since >= now:
        return CatchupPlan()
    # between() is half-open [start, end): shift by a microsecond for (since, now].
    tiny = timedelta(microseconds=1)
    occurrences = recurrence.between(since + tiny, now + tiny)
    skipped = max(0, len(occurrences) - limit)
    occurrences = occurrences[skipped:]
    oldest_allowed = now - window
    return CatchupPlan(
        catchup=[t for t in occurrences if t >= oldest_allowed],
        missed=[t for t in occurrences if t < oldest_allowed],
        skipped=skipped,
    )


_TINY = timedelta(microseconds=1)


@dataclass(frozen=True, order=True)
class CatchupStep:
    """One occurrence of one schedule to handle: enqueue it late, or record it `missed`."""

    at: datetime
    schedule_id: int
    missed: bool


def catchup_steps(plans: Mapping[int, CatchupPlan]) -> list[CatchupStep]:
    """Every planned occurrence of every schedule (plans by schedule id), oldest first; ties
    by schedule id. Handled in this order, everything before a step is done when it starts."""
    steps = [
        CatchupStep(at=at, schedule_id=schedule_id, missed=missed)
        for schedule_id, plan in plans.items()
        for missed, instants in ((True, plan.missed), (False, plan.catchup))
        for at in instants
    ]
    steps.sort()
    return steps


def handled_through(
    steps: Sequence[CatchupStep], handled: int, *, last_tick: datetime | None, now: datetime
) -> datetime | None:
    """Where `last_tick` may move once the first `handled` steps are fully handled.

    All of them: to `now`, the instant the catch-up was planned for. Otherwise to just before
    the first unhandled occurrence, so the next leader's plan starts with it; never back
    before `last_tick`. With nothing handled, `last_tick` stays.
    """
    if handled >= len(steps):
        return now
    if handled <= 0:
        return last_tick
    resume = steps[handled].at - _TINY
    return resume if last_tick is None else max(last_tick, resume)
