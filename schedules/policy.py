"""Scheduling policy, pure: maintenance windows and the spread of an occurrence's devices.

No Django, no I/O; time is always an argument. The fan-out (devices/dispatch/fanout.py), the
calendar and the API ask these rules; the fan-out's SQL computes the spread offset with the
same formula (`SPREAD_SQL`), which a test holds against `spread_offset`.

Maintenance windows (DESIGN.md, "Scheduling policy"):
- A window starts at each occurrence of its recurrence (read in its time zone, with the
  schedules' DST rules; `once`: at `start`) and lasts `duration_minutes`: an instant t is
  inside when start <= t < start + duration.
- It applies to the devices of its device groups and of its collection groups; with neither,
  to every device.
- An occurrence inside a `skip` window is `skipped`/`maintenance` for the devices it applies
  to. Inside a `defer` window it is fired at the window's end (the latest end, when several
  defer windows hold it), with the same `scheduled_for`. Skip wins over defer.

Priority: a schedule's `priority` 0-9 (9 first) orders the occurrences that fall on one
instant (the beat fans out the highest first) and travels in each device's message, so a
worker takes the waiting messages of higher priority first. A run-now carries the highest:
an operator is waiting for it.

Spread: a schedule with `spread_minutes` > 0 starts each device at a stable offset in
[0, spread_minutes) minutes after the occurrence (after the window's end, when deferred):
a multiplicative hash of the device and the schedule, so the same device always starts at
the same point of the window, and consecutive ids land far apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schedules.recurrence import Recurrence, RecurrenceError

SKIP = "skip"
DEFER = "defer"

MAX_PRIORITY = 9
DEFAULT_PRIORITY = 5


def message_priority(schedule_priority: int | None, *, manual: bool) -> int:
    """The priority 0-9 (9 first) of a device's message: its schedule's; the highest for a
    run-now; the default for a row whose schedule has been deleted since it was queued."""
    if manual:
        return MAX_PRIORITY
    return DEFAULT_PRIORITY if schedule_priority is None else schedule_priority

_KNUTH = 2654435761  # 2^32 / golden ratio: consecutive ids spread over the whole range
_SALT = 40503
_MOD = 2 ** 32


def spread_offset(device_id: int, schedule_id: int, spread_minutes: int) -> timedelta:
    """The device's stable start offset inside a spread of `spread_minutes`."""
    if spread_minutes <= 0:
        return timedelta(0)
    seconds = ((device_id * _KNUTH + schedule_id * _SALT) % _MOD) % (spread_minutes * 60)
    return timedelta(seconds=seconds)


# The same, in SQL over the device id column `d.id`, a schedule id and a spread (both bound
# parameters, in that order): integer arithmetic both PostgreSQL (bigint) and SQLite agree on.
# `%%` is the modulo operator once the driver has put the parameters in.
SPREAD_SQL = f"(((d.id * {_KNUTH} + %s * {_SALT}) %% {_MOD}) %% (%s * 60))"


@dataclass(frozen=True, kw_only=True)
class WindowSpec:
    """What the rules need of a maintenance window."""

    id: int
    name: str
    policy: str  # skip | defer
    duration: timedelta
    recurrence: Recurrence | None = None  # None: a one-off window at `start`
    start: datetime | None = None
    device_groups: frozenset[int] = field(default_factory=frozenset)
    collection_groups: frozenset[int] = field(default_factory=frozenset)

    def starts_between(self, start: datetime, end: datetime) -> list[datetime]:
        """The window's starts s with start <= s < end."""
        if self.recurrence is None:
            return [self.start] if self.start is not None and start <= self.start < end else []
        return self.recurrence.between(start, end)

    def span_at(self, instant: datetime) -> tuple[datetime, datetime] | None:
        """The (start, end) of the window instance containing `instant`, if any."""
        starts = self.starts_between(instant - self.duration + timedelta(microseconds=1),
                                     instant + timedelta(microseconds=1))
        if not starts:
            return None
        begin = starts[-1]
        return begin, begin + self.duration

    def spans_between(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Every instance overlapping [start, end), in order."""
        starts = self.starts_between(start - self.duration + timedelta(microseconds=1), end)
        return [(s, s + self.duration) for s in starts]

    @property
    def everything(self) -> bool:
        return not self.device_groups and not self.collection_groups

    def applies_to(self, device_group: int | None, collection_group: int | None) -> bool:
        return (self.everything or device_group in self.device_groups
                or collection_group in self.collection_groups)


@dataclass(frozen=True)
class Hold:
    """What the windows do to one occurrence: the windows that skip it, and those that defer
    it with the instant it is deferred to."""

    skip: tuple[WindowSpec, ...]
    defer: tuple[tuple[WindowSpec, datetime], ...]

    def __bool__(self) -> bool:
        return bool(self.skip or self.defer)


def windows_at(windows: Iterable[WindowSpec], instant: datetime) -> Hold:
    """The windows holding an occurrence at `instant`."""
    skip: list[WindowSpec] = []
    defer: list[tuple[WindowSpec, datetime]] = []
    for window in windows:
        span = window.span_at(instant)
        if span is None:
            continue
        if window.policy == SKIP:
            skip.append(window)
        else:
            defer.append((window, span[1]))
    return Hold(skip=tuple(skip), defer=tuple(defer))


def deferral_spans(windows: Iterable[WindowSpec], start: datetime,
                   end: datetime) -> list[tuple[datetime, datetime]]:
    """The spans of the `defer` windows that hold every device, overlapping [start, end):
    what the calendar can say of a whole occurrence."""
    return sorted(span for w in windows if w.policy == DEFER and w.everything
                  for span in w.spans_between(start, end))


def deferred_until(
    spans: Iterable[tuple[datetime, datetime]], instant: datetime
) -> datetime | None:
    """When an occurrence at `instant` fires, if `spans` (deferral_spans) hold it."""
    ends = [end for begin, end in spans if begin <= instant < end]
    return max(ends) if ends else None


_TICK = timedelta(microseconds=1)
MAX_FIRINGS_SEARCH = 1000  # occurrences looked at before a schedule is said never to fire


def fleet_firings(
    recurrence: Recurrence, windows: Iterable[WindowSpec], after: datetime, n: int, *,
    since: datetime | None = None,
) -> list[datetime]:
    """The next `n` instants after `after` at which the schedule fires, with the windows that
    hold every device applied (what `next_run_at` and `next_runs` show): an occurrence inside
    such a `skip` window does not fire; one inside such `defer` windows fires at their latest
    end, which may be after `after` for an occurrence before it (not before `since`, when
    the schedule became active). A window scoped to groups leaves the time as it is: the rest
    of the fleet fires then. Deferring never reorders: an occurrence between another and its
    deferred firing lies in the same window. Empty when it never fires (or not within
    MAX_FIRINGS_SEARCH occurrences)."""
    fleet = [w for w in windows if w.everything]
    lookback = max((w.duration for w in fleet if w.policy == DEFER), default=timedelta(0))
    start = after - lookback if since is None else max(after - lookback, since)
    pending = recurrence.between(start, after + _TICK) if lookback else []
    out: list[datetime] = []
    cursor = after
    for _ in range(MAX_FIRINGS_SEARCH):
        if len(out) >= n:
            break
        if pending:
            occurrence = pending.pop(0)
        else:
            try:
                occurrence = recurrence.next_after(cursor)
            except (RecurrenceError, OverflowError):
                break
            cursor = occurrence
        skips = _ends_at(fleet, SKIP, occurrence)
        if skips:  # nothing fires before the window ends
            cursor = max(cursor, max(skips) - _TICK)
            continue
        fires = max(_ends_at(fleet, DEFER, occurrence), default=occurrence)
        if fires > after:
            out.append(fires)
    return out


def next_firing(recurrence: Recurrence, windows: Iterable[WindowSpec], after: datetime, *,
                since: datetime | None = None) -> datetime | None:
    """The first of `fleet_firings`: a schedule's `next_run_at`, wherever it is written."""
    runs = fleet_firings(recurrence, windows, after, 1, since=since)
    return runs[0] if runs else None


def _ends_at(windows: Iterable[WindowSpec], policy: str, instant: datetime) -> list[datetime]:
    """The ends of the instances of `policy` windows that contain `instant`."""
    return [span[1] for w in windows if w.policy == policy
            for span in [w.span_at(instant)] if span is not None]


def device_fate(
    hold: Hold, *, device_group: int | None, collection_group: int | None, at: datetime
) -> tuple[str, datetime]:
    """(`skip` | `defer` | `run`, the instant it fires) for one device of an occurrence at
    `at`: skip wins over defer; of several defer windows, the latest end."""
    if any(w.applies_to(device_group, collection_group) for w in hold.skip):
        return SKIP, at
    ends = [end for w, end in hold.defer if w.applies_to(device_group, collection_group)]
    if ends:
        return DEFER, max(ends)
    return "run", at


def occurrence_estimate(groups: Iterable[tuple[int, int, float]], spread_minutes: int) -> float:
    """Seconds from an occurrence until its last device is collected, from each collection
    group's (devices, concurrency limit, p95 seconds of one collection): the spread, then
    the slowest group collecting its devices `limit` at a time."""
    slowest = max((-(-devices // max(1, limit)) * p95 for devices, limit, p95 in groups),
                  default=0.0)
    return spread_minutes * 60 + slowest


@dataclass(frozen=True)
class CapacityWarning:
    """An occurrence whose devices cannot all be collected in the time it has."""

    estimated_seconds: int
    available_seconds: int
    limited_by: str  # "next_occurrence" | "maintenance_window"
    message: str


def capacity_warning(
    *, estimate: float, occurrence: datetime, next_occurrence: datetime | None,
    next_window: tuple[str, datetime] | None,
) -> CapacityWarning | None:
    """A warning when `estimate` seconds from `occurrence` run past the next occurrence of the
    schedule or the start of the next maintenance window (name, start), whichever comes first."""
    limits = []
    if next_occurrence is not None:
        limits.append(((next_occurrence - occurrence).total_seconds(), "next_occurrence",
                       "the next occurrence"))
    if next_window is not None and next_window[1] > occurrence:
        limits.append(((next_window[1] - occurrence).total_seconds(), "maintenance_window",
                       f"maintenance window \u201c{next_window[0]}\u201d starts"))
    if not limits:
        return None
    available, kind, what = min(limits)
    if estimate <= available:
        return None
    return CapacityWarning(
        estimated_seconds=round(estimate), available_seconds=round(available), limited_by=kind,
        message=f"About {_duration(estimate)} to collect every device, but {what} in "
                f"{_duration(available)}: raise the groups' concurrency limits, spread less, "
                "or space the occurrences out.")


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return f"{round(seconds)} s"
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes / 60:.1f} h"
