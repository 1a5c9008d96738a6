"""Recurrence maths for backup schedules: pure, no Django, time is always an argument.

A `Recurrence` is a small frozen value object, validated on construction. It never reads
the clock: every question ("what is the next occurrence after t?", "which occurrences fall
in [start, end)?") takes the time as an argument, and naive datetimes are refused.

Time rules (the contract, see DESIGN.md "Time rules"):

- A schedule is read in its IANA `timezone`; every instant it returns is an aware UTC
  datetime (tzinfo=datetime.timezone.utc).
- Daily: fires exactly once on every local calendar day, at hour:minute local time.
- Weekly: fires on `day_of_week`, counted with Monday = 0 ... Sunday = 6.
- Monthly: fires on `day_of_month`; a day 29-31 that a month does not have fires on that
  month's last day instead (day 31 fires on 28 February 2027 and 29 February 2028).
- A local time that does not exist because the clocks spring forward (a DST gap) fires at
  the same distance after the gap: 02:30 on a 02:00->03:00 gap fires at 03:30, 02:15 on
  Lord Howe's 02:00->02:30 gap fires at 02:45, and 00:30 on a day whose midnight is skipped
  (America/Santiago) fires at 01:30. It still belongs to, and fires once on, that day.
- A local time that happens twice because the clocks fall back fires once, the first time
  (the earlier instant, Python's fold=0).
- Cron: the five fields are matched the way croniter matches them, but against local
  wall-clock times in `timezone`; each matching wall time becomes an instant by the two
  rules above. Wall times that land on the same instant after a gap shift fire once.
  (croniter's own handling of aware datetimes is deliberately not used: it moves gap times
  to the end of the gap instead of shifting them, collapses several gap times into one, and
  fires repeated fall-back times twice.)
- Results are strictly increasing, and `next_after(t)` is the first element of
  `between(t + 1 microsecond, ...)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import product
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

__all__ = [
    "SCHEDULE_TYPES",
    "Recurrence",
    "RecurrenceError",
    "validate_cron",
]

SCHEDULE_TYPES = ("daily", "weekly", "monthly", "cron")

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_ONE_MICROSECOND = timedelta(microseconds=1)
# How far around a window edge to look for UTC offset changes (see _wall_bounds).
_OFFSET_PROBE_STEP = timedelta(hours=3)
_OFFSET_PROBE_COUNT = 10  # probes on each side: +-30 hours
# First window next_after searches, per schedule type; it doubles until something fires.
_FIRST_SEARCH_WINDOW = {
    "daily": timedelta(days=2),
    "weekly": timedelta(days=8),
    "monthly": timedelta(days=32),
    "cron": timedelta(hours=1),
}
# Give up searching after this long. Validation guarantees every cron expression fires at
# least once every 8 years (29 February across a skipped leap year), so this is a backstop.
_MAX_SEARCH_WINDOW = timedelta(days=366 * 30)
# Searches stop here rather than overflow datetime.max.
_LATEST = datetime(9999, 12, 1, tzinfo=UTC)
# croniter's hash ("H") and random ("R") tokens: not standard cron, and not deterministic.
_HASH_OR_RANDOM_RE = re.compile(r"[hr](\(\d+-\d+\))?(/\d+)?", re.IGNORECASE)


class RecurrenceError(ValueError):
    """Invalid recurrence definition.

    `.field` names the offending field ('hour', 'minute', 'day_of_week', 'day_of_month',
    'cron_expression', 'schedule_type', 'timezone') and str() is a human message.
    """

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return self.message


def validate_cron(expression: str) -> None:
    """Raise RecurrenceError('cron_expression', msg) unless `expression` is a valid cron.

    Valid means exactly five fields (minute hour day-of-month month day-of-week) in the
    syntax croniter understands, that can match at least one date. Six or seven fields
    (seconds, years), @aliases, croniter's hash/random (H, R) tokens, garbage and the empty
    string are rejected.
    """
    _cron_parts(expression)


@lru_cache(maxsize=512)
def _cron_parts_cached(expression: str) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    field = "cron_expression"
    if not expression.strip():
        raise RecurrenceError(field, "A cron expression is required.")
    if not expression.isascii():
        raise RecurrenceError(field, "A cron expression may only contain ASCII characters.")
    fields = expression.split()
    if len(fields) != 5:
        raise RecurrenceError(
            field,
            f"A cron expression needs exactly 5 fields (minute hour day month weekday), "
            f"got {len(fields)}.",
        )
    for part in fields:
        for element in part.split(","):
            if _HASH_OR_RANDOM_RE.fullmatch(element):
                raise RecurrenceError(
                    field, f"Hash and random cron values are not supported: {element!r}."
                )
    normalised = " ".join(fields)
    try:
        expanded, _ = croniter.expand(normalised)
    except (CroniterError, ValueError, TypeError) as exc:
        raise RecurrenceError(field, f"Invalid cron expression {normalised!r}.") from exc
    minutes = tuple(range(60)) if expanded[0] == ["*"] else tuple(sorted(set(expanded[0])))
    hours = tuple(range(24)) if expanded[1] == ["*"] else tuple(sorted(set(expanded[1])))
    if not all(isinstance(v, int) for v in minutes + hours):
        raise RecurrenceError(field, f"Invalid cron expression {normalised!r}.")
    day_expression = "0 0 " + " ".join(fields[2:])
    # The Gregorian calendar repeats every 28 years between 1901 and 2099, so an expression
    # that matches no day in 2001-2030 (say, 30 February) never matches at all.
    try:
        croniter(day_expression, datetime(2001, 1, 1), max_years_between_matches=30).get_next(
            datetime
        )
    except CroniterBadDateError as exc:
        raise RecurrenceError(
            field, f"The cron expression {normalised!r} never matches any date."
        ) from exc
    except (CroniterError, ValueError, TypeError) as exc:
        raise RecurrenceError(field, f"Invalid cron expression {normalised!r}.") from exc
    return minutes, hours, day_expression


def _cron_parts(expression: object) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """(minutes, hours, 'day-only' croniter expression) of a valid 5-field expression."""
    if not isinstance(expression, str):
        raise RecurrenceError("cron_expression", "A cron expression must be a string.")
    return _cron_parts_cached(expression)


# (field, lowest, highest, label) of the numeric fields, and what a schedule type needs:
# one wording for the model, the admin, the API and the importer.
RANGES = (
    ("hour", 0, 23, "Hour"),
    ("minute", 0, 59, "Minute"),
    ("day_of_week", 0, 6, "Day of week (Monday = 0)"),
    ("day_of_month", 1, 31, "Day of month"),
)
_NEEDED = {
    "day_of_week": ("weekly", "A weekly schedule needs a day of the week (0-6, Monday = 0)."),
    "day_of_month": ("monthly", "A monthly schedule needs a day of the month (1-31)."),
}


def field_errors(
    *, schedule_type: object, hour: object, minute: object, day_of_week: object,
    day_of_month: object, cron_expression: object,
) -> dict[str, str]:
    """Every problem of a schedule's fields at once, by field name (empty when valid; the
    timezone and "no occurrence at all" are the Recurrence's to say)."""
    if not isinstance(schedule_type, str) or schedule_type not in SCHEDULE_TYPES:
        return {"schedule_type": f"Unknown schedule type {schedule_type!r}; "
                                 f"expected one of {', '.join(SCHEDULE_TYPES)}."}
    values = {"hour": hour, "minute": minute, "day_of_week": day_of_week,
              "day_of_month": day_of_month}
    errors: dict[str, str] = {}
    for field, low, high, label in RANGES:
        value = values[field]
        if value is None and field in _NEEDED:
            needed_by, message = _NEEDED[field]
            if schedule_type == needed_by:
                errors[field] = message
        elif isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[field] = f"{label} must be a whole number from {low} to {high}."
    try:
        if schedule_type == "cron":
            _cron_parts(cron_expression)
        elif not isinstance(cron_expression, str):
            raise RecurrenceError("cron_expression", "A cron expression must be a string.")
    except RecurrenceError as exc:
        errors["cron_expression"] = exc.message
    return errors


def _utc(value: datetime, name: str) -> datetime:
    """`value` as an aware UTC datetime; naive datetimes (and non-datetimes) are refused."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _window_end(start: datetime, window: timedelta) -> datetime:
    try:
        return min(start + window, _LATEST)
    except OverflowError:
        return _LATEST


# Pure, and asked again with the same arguments for every schedule of a zone over the same
# window (the calendar, 1,000 schedules: 48,000 conversions a request without it).
@lru_cache(maxsize=4096)
def _offset_spread(zone: ZoneInfo, at: datetime) -> timedelta:
    """Largest change of the zone's UTC offset within about a day of `at` (UTC)."""
    offsets = []
    for k in range(-_OFFSET_PROBE_COUNT, _OFFSET_PROBE_COUNT + 1):
        try:
            probe = at + k * _OFFSET_PROBE_STEP
        except OverflowError:
            continue
        offset = probe.astimezone(zone).utcoffset()
        if offset is not None:
            offsets.append(offset)
    return max(offsets) - min(offsets) if offsets else timedelta(0)


def _wall_bounds(zone: ZoneInfo, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Naive local wall-clock range that holds every wall time mapping into [start, end).

    A wall time maps to an instant at most one gap earlier than that instant's own wall
    time, and around a fall-back the wall clock runs back by the repeated span, so widening
    each edge by twice the nearby offset change is enough (zero when nothing changes).
    """
    low = start.astimezone(zone).replace(tzinfo=None) - 2 * _offset_spread(zone, start)
    high = end.astimezone(zone).replace(tzinfo=None) + 2 * _offset_spread(zone, end)
    return low, high


def _last_day_of_month(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


@dataclass(frozen=True, kw_only=True)
class Recurrence:
    """When a backup schedule fires, read in an IANA timezone (rules: module docstring)."""

    schedule_type: str
    hour: int = 0
    minute: int = 0
    day_of_week: int | None = None
    day_of_month: int | None = None
    cron_expression: str = ""
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        errors = field_errors(
            schedule_type=self.schedule_type, hour=self.hour, minute=self.minute,
            day_of_week=self.day_of_week, day_of_month=self.day_of_month,
            cron_expression=self.cron_expression,
        )
        if errors:
            field, message = next(iter(errors.items()))
            raise RecurrenceError(field, message)
        self._zone()  # validates the timezone

    # -- public API -------------------------------------------------------------------

    def next_after(self, after: datetime) -> datetime:
        """First occurrence strictly after `after` (aware), as an aware UTC datetime."""
        start = _utc(after, "after") + _ONE_MICROSECOND
        window = _FIRST_SEARCH_WINDOW[self.schedule_type]
        while True:
            end = _window_end(start, window)
            found = self._between_utc(start, end)
            if found:
                return found[0]
            if window > _MAX_SEARCH_WINDOW or end == _LATEST:
                raise RecurrenceError(
                    "cron_expression" if self.schedule_type == "cron" else "schedule_type",
                    f"No occurrence found after {after.isoformat()}.",
                )
            window *= 2

    def between(self, start: datetime, end: datetime) -> list[datetime]:
        """All occurrences t with start <= t < end, ascending, as aware UTC datetimes."""
        return self._between_utc(_utc(start, "start"), _utc(end, "end"))

    def next_n(self, after: datetime, n: int) -> list[datetime]:
        """The first `n` occurrences strictly after `after`, ascending, in UTC."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        start = _utc(after, "after") + _ONE_MICROSECOND
        if n == 0:
            return []
        window = _FIRST_SEARCH_WINDOW[self.schedule_type] * n
        while True:
            end = _window_end(start, window)
            found = self._between_utc(start, end)
            if len(found) >= n or window > _MAX_SEARCH_WINDOW * n or end == _LATEST:
                return found[:n]
            window *= 2

    def describe(self) -> str:
        """Human text such as 'Daily at 02:00'; times are local to `timezone`."""
        at = f"{self.hour:02d}:{self.minute:02d}"
        if self.schedule_type == "daily":
            return f"Daily at {at}"
        if self.schedule_type == "weekly":
            assert self.day_of_week is not None
            return f"Weekly on {WEEKDAY_NAMES[self.day_of_week]} at {at}"
        if self.schedule_type == "monthly":
            assert self.day_of_month is not None
            text = f"Monthly on day {self.day_of_month} at {at}"
            if self.day_of_month >= 29:
                text += " (last day in shorter months)"
            return text
        return f"Cron: {' '.join(self.cron_expression.split())}"

    # -- internals --------------------------------------------------------------------

    def _zone(self) -> ZoneInfo:
        name = self.timezone
        if not isinstance(name, str) or not name or name != name.strip():
            raise RecurrenceError("timezone", f"Unknown timezone {name!r}.")
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError, TypeError) as exc:
            raise RecurrenceError("timezone", f"Unknown timezone {name!r}.") from exc

    def _times(self) -> list[time]:
        """Local wall-clock times of day at which a matching day fires, ascending."""
        if self.schedule_type == "cron":
            minutes, hours, _ = _cron_parts(self.cron_expression)
            return [time(h, m) for h, m in product(hours, minutes)]
        return [time(self.hour, self.minute)]

    def _dates(self, first: date, last: date) -> Iterator[date]:
        """Local calendar dates in [first, last] on which the schedule fires."""
        if self.schedule_type == "daily":
            for ordinal in range(first.toordinal(), last.toordinal() + 1):
                yield date.fromordinal(ordinal)
        elif self.schedule_type == "weekly":
            assert self.day_of_week is not None
            offset = (self.day_of_week - first.weekday()) % 7
            for ordinal in range(first.toordinal() + offset, last.toordinal() + 1, 7):
                yield date.fromordinal(ordinal)
        elif self.schedule_type == "monthly":
            assert self.day_of_month is not None
            year, month = first.year, first.month
            while (year, month) <= (last.year, last.month):
                day = date(year, month, min(self.day_of_month, _last_day_of_month(year, month)))
                if first <= day <= last:
                    yield day
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        else:
            # croniter walks naive local dates: no timezone, so no DST surprises.
            _, _, day_expression = _cron_parts(self.cron_expression)
            it = croniter(day_expression, datetime.combine(first, time()) - timedelta(minutes=1))
            while True:
                try:
                    day = it.get_next(datetime).date()
                except (CroniterError, OverflowError, ValueError):
                    return
                if day > last:
                    return
                yield day

    def _between_utc(self, start: datetime, end: datetime) -> list[datetime]:
        if end <= start:
            return []
        zone = self._zone()
        low, high = _wall_bounds(zone, start, end)
        times = self._times()
        instants: set[datetime] = set()
        for day in self._dates(low.date(), high.date()):
            for at in times:
                wall = datetime.combine(day, at)
                if wall < low or wall > high:
                    continue
                # fold=0: a gap time uses the offset before the gap (so it lands the gap's
                # length later on the wall clock), a repeated time its first occurrence.
                instant = wall.replace(tzinfo=zone).astimezone(UTC)
                if start <= instant < end:
                    instants.add(instant)
        return sorted(instants)

