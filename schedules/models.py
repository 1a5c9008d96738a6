"""The backup schedule model: when a set of devices is backed up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from schedules.choices import BackupScheduleTypeChoices, DayOfWeekChoices, OverlapPolicyChoices
from schedules.policy import DEFAULT_PRIORITY, MAX_PRIORITY, WindowSpec, fleet_firings
from schedules.recurrence import Recurrence, RecurrenceError, field_errors


class BackupSchedule(models.Model):
    """A recurrence (daily, weekly, monthly at a local time, or cron) read in the display timezone.

    `next_run_at` is a cache for display, recomputed by the services whenever the schedule
    changes and by the beat after each occurrence; the beat itself always asks the recurrence.
    `active_since` is when the schedule was created or last enabled: catch-up never treats an
    occurrence before it as missed.
    """

    name = models.CharField(max_length=200, unique=True)
    schedule_type = models.CharField(
        max_length=10,
        choices=BackupScheduleTypeChoices.choices,
        default=BackupScheduleTypeChoices.DAILY,
    )
    hour = models.PositiveSmallIntegerField(default=2, help_text="0-23, display timezone")
    minute = models.PositiveSmallIntegerField(default=0, help_text="0-59")
    day_of_week = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=DayOfWeekChoices.choices, help_text="Weekly: Monday = 0"
    )
    day_of_month = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Monthly: 1-31; 29-31 fire on the last day of shorter months",
    )
    cron_expression = models.CharField(
        max_length=120, blank=True, default="", help_text="Cron: minute hour day month weekday"
    )
    timezone = models.CharField(
        max_length=64, null=True, blank=True,
        help_text="IANA time zone the schedule's times are read in; empty: the display timezone",
    )
    priority = models.PositiveSmallIntegerField(
        default=DEFAULT_PRIORITY,
        help_text="0-9; occurrences at the same instant fan out highest first",
        validators=[MaxValueValidator(
            MAX_PRIORITY, "Priority must be a whole number from 0 to 9.")],
    )
    spread_minutes = models.PositiveSmallIntegerField(
        default=0, help_text="0-720; each device starts at a stable offset inside this window",
        validators=[MaxValueValidator(
            720, "Spread must be a whole number of minutes from 0 to 720 (12 hours).")],
    )
    overlap_policy = models.CharField(
        max_length=10, choices=OverlapPolicyChoices.choices, default=OverlapPolicyChoices.SKIP,
        help_text="A device whose earlier occurrence is still queued or running: skip (its "
                  "result is skipped/overlap) or queue",
    )
    enabled = models.BooleanField(default=True)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    active_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hour__gte=0, hour__lte=23), name="schedule_hour_range"
            ),
            models.CheckConstraint(
                condition=Q(minute__gte=0, minute__lte=59), name="schedule_minute_range"
            ),
            models.CheckConstraint(
                condition=Q(day_of_week__isnull=True) | Q(day_of_week__gte=0, day_of_week__lte=6),
                name="schedule_day_of_week_range",
            ),
            models.CheckConstraint(
                condition=Q(day_of_month__isnull=True)
                | Q(day_of_month__gte=1, day_of_month__lte=31),
                name="schedule_day_of_month_range",
            ),
            models.CheckConstraint(
                condition=Q(schedule_type__in=BackupScheduleTypeChoices.values),
                name="schedule_type_known",
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=0, priority__lte=9), name="schedule_priority_range"
            ),
            models.CheckConstraint(
                condition=Q(spread_minutes__gte=0, spread_minutes__lte=720),
                name="schedule_spread_minutes_range",
            ),
            models.CheckConstraint(
                condition=Q(overlap_policy__in=OverlapPolicyChoices.values),
                name="schedule_overlap_policy_known",
            ),
            models.CheckConstraint(
                condition=~Q(schedule_type="weekly") | Q(day_of_week__isnull=False),
                name="schedule_weekly_needs_day_of_week",
            ),
            models.CheckConstraint(
                condition=~Q(schedule_type="monthly") | Q(day_of_month__isnull=False),
                name="schedule_monthly_needs_day_of_month",
            ),
            models.CheckConstraint(
                condition=~Q(schedule_type="cron") | ~Q(cron_expression=""),
                name="schedule_cron_needs_expression",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def recurrence(self, timezone: str | None = None) -> Recurrence:
        """The pure recurrence for this row, read in its own time zone, else in `timezone`
        (default: the display timezone)."""
        return Recurrence(
            schedule_type=self.schedule_type,
            hour=self.hour,
            minute=self.minute,
            day_of_week=self.day_of_week if self.schedule_type == "weekly" else None,
            day_of_month=self.day_of_month if self.schedule_type == "monthly" else None,
            cron_expression=self.cron_expression if self.schedule_type == "cron" else "",
            timezone=self.timezone or timezone or settings.DEVICEVAULT.display_timezone,
        )

    def describe(self) -> str:
        """Human-readable recurrence, e.g. 'Daily at 02:00'."""
        try:
            return self.recurrence().describe()
        except RecurrenceError:
            return "Invalid schedule"

    def next_runs_after(self, after: datetime, n: int,
                        windows: Sequence[WindowSpec] = ()) -> list[datetime]:
        """When it fires next (up to `n` instants strictly after `after`), the whole-fleet
        maintenance `windows` applied (schedules/policy.py, `fleet_firings`); empty when
        disabled or invalid."""
        if not self.enabled:
            return []
        try:
            recurrence = self.recurrence()
        except RecurrenceError:
            return []
        return fleet_firings(recurrence, windows, after, n, since=self.active_since)

    def next_run_after(self, after: datetime,
                       windows: Sequence[WindowSpec] = ()) -> datetime | None:
        """The value of `next_run_at`: the first of `next_runs_after`, or None."""
        runs = self.next_runs_after(after, 1, windows)
        return runs[0] if runs else None

    def clean(self) -> None:
        """Validate the recurrence with the same code the beat runs; errors name the field."""
        super().clean()
        errors = {
            field: [message] for field, message in field_errors(
                schedule_type=self.schedule_type, hour=self.hour, minute=self.minute,
                day_of_week=self.day_of_week, day_of_month=self.day_of_month,
                cron_expression=self.cron_expression or "",
            ).items()
        }
        self.timezone = self.timezone or None
        if not errors:
            try:
                self.recurrence()
            except RecurrenceError as exc:
                # An unknown zone of the schedule's own is its field's; the display
                # timezone's is the configuration's.
                own = exc.field != "timezone" or self.timezone
                errors[exc.field if own else "__all__"] = [str(exc)]
        if errors:
            raise ValidationError(errors)
