"""Reads of backup schedules, with the per-user annotations other apps contribute."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet

from schedules.models import BackupSchedule
from schedules.policy import WindowSpec

ScheduleAnnotator = Callable[[QuerySet[BackupSchedule], Any], QuerySet[BackupSchedule]]
ScheduleEnricher = Callable[[Sequence[BackupSchedule]], None]
WindowSource = Callable[[], Sequence[WindowSpec]]

# Every user sees every schedule, but what a schedule is *used by* (say, how many devices the
# user may see on it) belongs to other apps. Dependencies run devices -> schedules, so those
# apps register an annotator here from their AppConfig.ready() instead of schedules importing
# them.
_annotators: list[ScheduleAnnotator] = []
# Figures that are not a column but need the whole page at once (a capacity estimate): each
# enricher sets attributes on the schedules of a page, in a fixed number of queries.
_enrichers: list[ScheduleEnricher] = []
# The maintenance windows (a devices model): when a schedule fires for its whole fleet
# (`next_run_at`, `next_runs`) depends on those that hold every device.
_window_sources: list[WindowSource] = []


def register_window_source(source: WindowSource) -> WindowSource:
    """Add `source() -> [WindowSpec]`, the enabled maintenance windows, to `fleet_windows`."""
    if source not in _window_sources:
        _window_sources.append(source)
    return source


def fleet_windows() -> list[WindowSpec]:
    """The enabled maintenance windows that hold every device (schedules/policy.py,
    `fleet_firings`): the only ones that move a whole occurrence."""
    return [w for source in _window_sources for w in source() if w.everything]


def register_schedule_annotator(annotator: ScheduleAnnotator) -> ScheduleAnnotator:
    """Add `annotator(queryset, user) -> queryset` to every `schedules_for_user` query."""
    if annotator not in _annotators:
        _annotators.append(annotator)
    return annotator


def schedules_for_user(*, user: Any) -> QuerySet[BackupSchedule]:
    """Every schedule, by name, annotated for `user` by the registered annotators (one query)."""
    queryset = BackupSchedule.objects.order_by("name", "id")
    for annotator in _annotators:
        queryset = annotator(queryset, user)
    return queryset


def register_schedule_enricher(enricher: ScheduleEnricher) -> ScheduleEnricher:
    """Add `enricher(schedules)` to every page of schedules the API returns."""
    if enricher not in _enrichers:
        _enrichers.append(enricher)
    return enricher


def enrich_schedules(schedules: Sequence[BackupSchedule]) -> Sequence[BackupSchedule]:
    """Run the registered enrichers on a page of schedules; returns it."""
    for enricher in _enrichers:
        enricher(schedules)
    return schedules
