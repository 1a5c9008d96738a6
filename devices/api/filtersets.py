"""Query parameters of the devices and scheduled-backups endpoints: validated, then applied.

Each filter set is a serializer of the query string (so a bad value is a 400 naming the
parameter, and drf-spectacular documents every parameter) plus the code that applies it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from devices.analytics import GROUP_BY as ANALYTICS_GROUP_BY
from devices.choices import DeviceBackupResultStatusChoices
from devices.models import Device
from devices.outcomes import BACKUP_STATUS_FILTERS, filter_backup_status, stale_periods
from devices.selectors import HistoryFilters, display_today, display_zone, local_midnight
from project.api import MAX_ID, QueryBooleanField, QueryIdField, QueryIntegerField

NONE = "none"

_ID_OR_NONE_SCHEMA = {
    "oneOf": [
        {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        {"type": "string", "enum": [NONE]},
    ]
}


@extend_schema_field(_ID_OR_NONE_SCHEMA)
class IdOrNoneField(QueryIdField):
    """An id, or `none` for "not set"."""

    default_error_messages = {"invalid": "Must be an id (a whole number) or 'none'."}

    def to_internal_value(self, data: Any) -> int | str:  # type: ignore[override]
        if data == NONE:
            return NONE
        return super().to_internal_value(data)

    def run_validators(self, value: Any) -> None:
        if value != NONE:
            super().run_validators(value)


# -- devices -------------------------------------------------------------------------------

DEVICE_ORDERINGS = {
    "name": (F("name").asc(), F("id").asc()),
    "-name": (F("name").desc(), F("id").desc()),
    "ip_address": (F("ip_address").asc(), F("name").asc(), F("id").asc()),
    "-ip_address": (F("ip_address").desc(), F("name").desc(), F("id").desc()),
    # Devices that will not be backed up (no schedule, a disabled schedule or a disabled
    # device) come last either way.
    # The next backup (DeviceQuerySet.with_next_backup): devices that will not be backed up
    # come last either way.
    "next_run_at": (F("next_backup").asc(nulls_last=True), F("name").asc(), F("id").asc()),
    "-next_run_at": (F("next_backup").desc(nulls_last=True), F("name").asc(), F("id").asc()),
    # The occurrence of the last backup (devices.outcomes.with_outcomes); never backed up last.
    "last_backup": (
        F("last_scheduled_for").asc(nulls_last=True), F("name").asc(), F("id").asc()
    ),
    "-last_backup": (
        F("last_scheduled_for").desc(nulls_last=True), F("name").asc(), F("id").asc()
    ),
}


class DeviceFilterSet(serializers.Serializer):
    """Filters and ordering of `GET /api/devices/`."""

    backup_schedule = IdOrNoneField(
        required=False, help_text="Devices on this schedule id, or `none` for unscheduled ones"
    )
    device_group = IdOrNoneField(required=False, help_text="Device group id, or `none`")
    collection_group = IdOrNoneField(required=False, help_text="Collection group id, or `none`")
    enabled = QueryBooleanField(required=False, help_text="`true` or `false`")
    search = serializers.CharField(
        required=False, max_length=200, help_text="Part of the name or IP address (any case)"
    )
    backup_status = serializers.ChoiceField(
        choices=list(BACKUP_STATUS_FILTERS), required=False,
        help_text="Status of the last backup, `stale` (no success for "
        "`alerts.stale_after_periods` periods of its schedule) or `never` (no backup yet)",
    )
    ordering = serializers.ChoiceField(
        choices=list(DEVICE_ORDERINGS), required=False, default="name",
        help_text="Sort key; `next_run_at` is the schedule's next run, unscheduled last; "
        "`last_backup` the occurrence of the last backup, never backed up last",
    )

    @staticmethod
    def apply(queryset: QuerySet[Device], params: dict[str, Any]) -> QuerySet[Device]:
        """The devices of `queryset` (annotated by `with_outcomes`) matching the validated
        `params`, in their order."""
        for name in ("backup_schedule", "device_group", "collection_group"):
            if name in params:
                value = params[name]
                queryset = queryset.filter(
                    **({f"{name}__isnull": True} if value == NONE else {f"{name}_id": value})
                )
        if "enabled" in params:
            queryset = queryset.filter(enabled=params["enabled"])
        if params.get("search"):
            term = params["search"]
            queryset = queryset.filter(Q(name__icontains=term) | Q(ip_address__icontains=term))
        if params.get("backup_status"):
            queryset = filter_backup_status(
                queryset, params["backup_status"], now=timezone.now(), periods=stale_periods()
            )
        return queryset.order_by(*DEVICE_ORDERINGS[params.get("ordering") or "name"])


# -- calendar ------------------------------------------------------------------------------

CALENDAR_MAX_DAYS = 366
CALENDAR_DEFAULT_DAYS = 30
# Recurrence maths works on real calendar dates; keep the window well inside them.
CALENDAR_FIRST_START = date(1900, 1, 1)
CALENDAR_LAST_START = date(9997, 12, 31)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@extend_schema_field({"type": "string", "format": "date"})
class IsoDateField(serializers.CharField):
    """A `YYYY-MM-DD` date that exists (no 2027-02-30)."""

    default_error_messages = {
        "invalid": "Must be a date written YYYY-MM-DD.",
        "no_such_date": "No such date: {value}.",
    }

    def to_internal_value(self, data: Any) -> date:
        text = str(data)
        if not _ISO_DATE.fullmatch(text):
            self.fail("invalid")
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.fail("no_such_date", value=text)
        raise AssertionError("unreachable")


class CalendarQuery(serializers.Serializer):
    """Query parameters of `GET /api/scheduled-backups/calendar/`."""

    start = IsoDateField(
        required=False, help_text="First day, YYYY-MM-DD (default: today, display timezone)"
    )
    days = QueryIntegerField(
        required=False, min_value=1, max_value=CALENDAR_MAX_DAYS, default=CALENDAR_DEFAULT_DAYS,
        help_text=f"How many days, 1-{CALENDAR_MAX_DAYS}",
    )

    def validate_start(self, value: date) -> date:
        if not CALENDAR_FIRST_START <= value <= CALENDAR_LAST_START:
            raise serializers.ValidationError(
                f"Must be from {CALENDAR_FIRST_START.isoformat()} "
                f"to {CALENDAR_LAST_START.isoformat()}."
            )
        return value


# -- history -------------------------------------------------------------------------------


class DateOrDateTimeField(serializers.CharField):
    """An ISO date (`YYYY-MM-DD`) or datetime; a datetime without offset is display-local."""

    default_error_messages = {
        "invalid": (
            "Must be an ISO date (YYYY-MM-DD) or date and time (YYYY-MM-DDTHH:MM[:SS][+HH:MM])."
        ),
    }

    def to_internal_value(self, data: Any) -> date | datetime:
        text = str(data).strip()
        # An unencoded '+' in a query string arrives as a space: 2027-01-01T00:00 10:00.
        text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)
        if _ISO_DATE.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                self.fail("invalid")
        if len(text) < 11 or text[10] not in "Tt ":
            self.fail("invalid")
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            self.fail("invalid")
        if value.tzinfo is None:
            value = value.replace(tzinfo=display_zone())
        return value


@extend_schema_field(
    {"oneOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}
)
class HistoryBoundField(DateOrDateTimeField):
    """`start` or `end` of the history."""


class HistoryFilterSet(serializers.Serializer):
    """Query parameters of `GET /api/scheduled-backups/history/`."""

    start = HistoryBoundField(
        required=False,
        help_text="From this date (its local midnight, display timezone) or instant, inclusive",
    )
    end = HistoryBoundField(
        required=False,
        help_text="Up to this date (the whole local day) or instant, inclusive",
    )
    status = serializers.ChoiceField(
        choices=DeviceBackupResultStatusChoices.choices, required=False
    )
    device = QueryIdField(required=False, help_text="Device id")
    schedule = QueryIdField(required=False, help_text="Backup schedule id")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        bounds: dict[str, datetime | None] = {"start": None, "end": None}
        for name in ("start", "end"):
            if name in attrs:
                try:
                    bounds[name] = self._instant(attrs[name], end=name == "end")
                except OverflowError:
                    errors[name] = "Out of range."
        if errors:
            raise serializers.ValidationError(errors)
        start, end = bounds["start"], bounds["end"]
        if start is not None and end is not None and start >= end:
            raise serializers.ValidationError({"end": "Must not be before start."})
        attrs["filters"] = HistoryFilters(
            start=start,
            end=end,
            status=attrs.get("status"),
            device_id=attrs.get("device"),
            schedule_id=attrs.get("schedule"),
        )
        return attrs

    @staticmethod
    def _instant(value: date | datetime, *, end: bool) -> datetime:
        """The lower bound (inclusive) or upper bound (exclusive) instant of `value`."""
        if isinstance(value, datetime):
            # An end instant is inclusive; stored times have microsecond resolution.
            instant = value + timedelta(microseconds=1) if end else value
        else:
            instant = local_midnight(value + timedelta(days=1) if end else value, display_zone())
        return instant.astimezone(UTC)


# -- analytics -----------------------------------------------------------------------------

ANALYTICS_DEFAULT_DAYS = 30
ANALYTICS_MAX_DAYS = 366


class AnalyticsQuery(serializers.Serializer):
    """Query parameters of `GET /api/scheduled-backups/analytics/`."""

    start = IsoDateField(
        required=False, help_text="First local day (display timezone); default: 29 days "
        "before `end`",
    )
    end = IsoDateField(required=False, help_text="Last local day, inclusive; default: today")
    group_by = serializers.ChoiceField(
        choices=list(ANALYTICS_GROUP_BY), required=False, default="schedule",
        help_text="What each entry of `groups` is; `day`: each local day of the window, in "
        "order (`id` its index, `name` its date), days without results included",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("end") or display_today()
        start = attrs.get("start") or end - timedelta(days=ANALYTICS_DEFAULT_DAYS - 1)
        for name, day in (("start", start), ("end", end)):
            if not CALENDAR_FIRST_START <= day <= CALENDAR_LAST_START:
                raise serializers.ValidationError({name: "Out of range."})
        if start > end:
            raise serializers.ValidationError({"end": "Must not be before start."})
        if (end - start).days + 1 > ANALYTICS_MAX_DAYS:
            raise serializers.ValidationError(
                {"start": f"At most {ANALYTICS_MAX_DAYS} days from start to end."}
            )
        attrs["start"], attrs["end"] = start, end
        zone = display_zone()
        days = [start + timedelta(days=i) for i in range((end - start).days + 2)]
        bounds = [local_midnight(day, zone).astimezone(UTC) for day in days]
        attrs["from"], attrs["until"] = bounds[0], bounds[-1]
        attrs["days"] = list(zip(days[:-1], bounds[:-1], strict=True))
        return attrs
