"""Serializers of the backup schedule API.

Writes only check JSON types (and the name's length) here; every rule about values (ranges,
what each schedule type needs, a valid cron expression, a unique name) is the model's
`full_clean()`, run by the services, so the API answers with the admin's per-field messages.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from project.api import (
    RejectUnknownFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    UtcDateTimeField,
)
from project.utc import utc_iso
from schedules.choices import BackupScheduleTypeChoices, OverlapPolicyChoices
from schedules.models import BackupSchedule
from schedules.selectors import fleet_windows

NEXT_RUNS = 5  # occurrences listed in `next_runs`


class ModelCheckedIntegerField(StrictIntegerField):
    """A JSON integer whose range the model checks; the range is kept for the schema only."""

    def __init__(self, *, min_value: int, max_value: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min_value, self.max_value = min_value, max_value  # read by drf-spectacular


@extend_schema_field(serializers.ChoiceField(choices=BackupScheduleTypeChoices.choices))
class ScheduleTypeField(StrictCharField):
    """One of the schedule types; an unknown one is reported by the model."""


@extend_schema_field(serializers.ChoiceField(choices=OverlapPolicyChoices.choices))
class OverlapPolicyField(StrictCharField):
    """`skip` or `queue`; an unknown one is reported by the model."""


class NullableTextField(StrictCharField):
    """A string where null means "" (no cron expression)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is None:
            return True, ""
        return super().validate_empty_values(data)


class BackupScheduleSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A backup schedule with its description, upcoming runs and visible device count."""

    id = serializers.IntegerField(read_only=True)
    name = StrictCharField(allow_blank=True, max_length=200, trim_whitespace=True)
    schedule_type = ScheduleTypeField()
    hour = ModelCheckedIntegerField(
        required=False, min_value=0, max_value=23, help_text="0-23, display timezone"
    )
    minute = ModelCheckedIntegerField(required=False, min_value=0, max_value=59)
    day_of_week = ModelCheckedIntegerField(
        required=False, allow_null=True, min_value=0, max_value=6,
        help_text="Weekly schedules: 0 = Monday ... 6 = Sunday",
    )
    day_of_month = ModelCheckedIntegerField(
        required=False, allow_null=True, min_value=1, max_value=31,
        help_text="Monthly schedules: 1-31; 29-31 fire on the last day of shorter months",
    )
    cron_expression = NullableTextField(
        required=False, max_length=120,
        help_text="Cron schedules: minute hour day month weekday, in the display timezone",
    )
    enabled = StrictBooleanField(required=False)
    timezone = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=64,
        help_text="IANA time zone the schedule's times are read in (null: the display timezone)",
    )
    priority = ModelCheckedIntegerField(
        required=False, min_value=0, max_value=9,
        help_text="0-9 (default 5): occurrences at the same instant fan out highest first",
    )
    spread_minutes = ModelCheckedIntegerField(
        required=False, min_value=0, max_value=720,
        help_text="0-720 (default 0): each device starts at a stable offset inside the window",
    )
    overlap_policy = OverlapPolicyField(required=False)
    next_run_at = UtcDateTimeField(read_only=True, allow_null=True)
    last_run_at = UtcDateTimeField(read_only=True, allow_null=True)
    device_count = serializers.SerializerMethodField(
        help_text="Enabled devices on this schedule that the requesting user may see"
    )
    description = serializers.SerializerMethodField(help_text="e.g. 'Daily at 02:00'")
    next_runs = serializers.SerializerMethodField(
        help_text=f"When it fires next, {NEXT_RUNS} instants (UTC): maintenance windows that "
                  "hold every device applied (one that skips drops an occurrence, one that "
                  "defers moves it to the window's end); empty when disabled"
    )
    capacity_warning = serializers.SerializerMethodField(
        help_text="Null, or: the next occurrence cannot collect every device (measured p95 "
                  "collection times, the groups' concurrency limits, the spread) before the "
                  "next occurrence or a maintenance window starts"
    )

    @extend_schema_field(OpenApiTypes.INT)
    def get_device_count(self, obj: BackupSchedule) -> int:
        return int(getattr(obj, "device_count", 0) or 0)

    @extend_schema_field(OpenApiTypes.STR)
    def get_description(self, obj: BackupSchedule) -> str:
        return obj.describe()

    @extend_schema_field({"type": "array", "items": {"type": "string", "format": "date-time"}})
    def get_next_runs(self, obj: BackupSchedule) -> list[str]:
        if not obj.enabled:
            return []
        now = self.context.get("now") or timezone.now()
        windows = self.context.get("windows")
        if windows is None:
            windows = fleet_windows()
        return [utc_iso(run) for run in obj.next_runs_after(now, NEXT_RUNS, windows)]

    @extend_schema_field({
        "type": "object", "nullable": True,
        "properties": {
            "estimated_seconds": {"type": "integer"},
            "available_seconds": {"type": "integer"},
            "limited_by": {"type": "string", "enum": ["next_occurrence", "maintenance_window"]},
            "message": {"type": "string"},
        },
        "required": ["estimated_seconds", "available_seconds", "limited_by", "message"],
    })
    def get_capacity_warning(self, obj: BackupSchedule) -> dict[str, Any] | None:
        warning = getattr(obj, "capacity_warning", None)
        return dataclasses.asdict(warning) if warning is not None else None
