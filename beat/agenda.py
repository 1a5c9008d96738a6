"""The agenda: each schedule's next due instant, in a heap, so an idle tick is one peek.

Pure: no Django, no Redis, no clock; time is always an argument.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta

from schedules.recurrence import Recurrence, RecurrenceError

_TINY = timedelta(microseconds=1)
# A running leader that falls behind (a long pause) fires at most this many overdue
# occurrences of one schedule per tick; the rest follow on the next ticks.
MAX_DUE_PER_TICK = 100


@dataclass(frozen=True)
class ScheduleSpec:
    """What the beat needs of a schedule: its id, name, recurrence and priority."""

    id: int
    name: str
    recurrence: Recurrence
    active_since: datetime | None
    priority: int = 5  # 0-9: of occurrences at one instant, the highest fans out first
    spread_minutes: int = 0  # devices start at stable offsets inside this many minutes


class Agenda:
    """Next due occurrence per schedule, ordered by time."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int]] = []
        self._due: dict[int, datetime] = {}
        self.specs: dict[int, ScheduleSpec] = {}

    def load(self, specs: list[ScheduleSpec], *, cursor: datetime) -> None:
        """Replace the schedules; each fires next at its first occurrence after `cursor`
        (or after it became active, if later)."""
        self.specs = {s.id: s for s in specs}
        self._due = {}
        for spec in specs:
            start = max(cursor, spec.active_since) if spec.active_since else cursor
            try:
                self._due[spec.id] = spec.recurrence.next_after(start)
            except (RecurrenceError, OverflowError):
                continue
        self._heap = [(due, sid) for sid, due in self._due.items()]
        heapq.heapify(self._heap)

    def next_due(self) -> datetime | None:
        """The earliest pending occurrence, or None when nothing is scheduled."""
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # superseded entry
        return self._heap[0][0] if self._heap else None

    def due(self, now: datetime) -> list[tuple[ScheduleSpec, datetime]]:
        """Every (schedule, occurrence) due at `now`, oldest first (at one instant, highest
        priority first), without consuming them."""
        first_due = self.next_due()
        if first_due is None or first_due > now:
            return []  # the idle tick: one look at the heap
        out: list[tuple[ScheduleSpec, datetime]] = []
        for sid, first in self._due.items():
            if first > now:
                continue
            spec = self.specs[sid]
            occurrence = first
            for _ in range(MAX_DUE_PER_TICK):
                out.append((spec, occurrence))
                occurrence = spec.recurrence.next_after(occurrence)
                if occurrence > now:
                    break
        out.sort(key=lambda item: (item[1], -item[0].priority, item[0].id))
        return out

    def done(self, schedule_id: int, occurrence: datetime) -> None:
        """Mark `occurrence` of the schedule handled; its next one becomes due."""
        if schedule_id not in self.specs or self._due.get(schedule_id, occurrence) > occurrence:
            return
        nxt = self.specs[schedule_id].recurrence.next_after(occurrence)
        self._due[schedule_id] = nxt
        heapq.heappush(self._heap, (nxt, schedule_id))

