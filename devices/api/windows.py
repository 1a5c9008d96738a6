"""`/api/maintenance-windows/`: everyone reads the windows, staff write them; and their
calendar, `GET /api/maintenance-windows/calendar/` (rules: schedules/policy.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.api.filtersets import CalendarQuery
from devices.choices import WindowPolicyChoices, WindowTypeChoices
from devices.models import CollectionGroup, DeviceGroup, MaintenanceWindow
from devices.selectors import display_today, display_zone, local_midnight
from devices.services import WINDOW_FIELDS, maintenance_window_save
from project.api import (
    ApiViewMixin,
    IdField,
    RejectUnknownFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    UtcDateTimeField,
)
from schedules.api.views import StaffWritesOnly
from schedules.recurrence import RecurrenceError

logger = logging.getLogger(__name__)

TAG = "maintenance windows"
NEXT_SPANS = 3


class GroupIdsField(serializers.ListField):
    """Ids of groups: written as a list, read from the relation."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=IdField(), **kwargs)

    def to_representation(self, data: Any) -> list[int]:
        return sorted(group.pk for group in data.all())


class MaintenanceWindowSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A maintenance window; the model checks the values (per-field messages)."""

    id = serializers.IntegerField(read_only=True)
    name = StrictCharField(max_length=200, allow_blank=True)
    enabled = StrictBooleanField(required=False)
    timezone = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=64,
                               help_text="IANA zone of its times (null: the display timezone)")
    schedule_type = serializers.ChoiceField(choices=WindowTypeChoices.choices)
    start = UtcDateTimeField(required=False, allow_null=True, help_text="`once`: its start")
    hour = StrictIntegerField(required=False)
    minute = StrictIntegerField(required=False)
    day_of_week = StrictIntegerField(required=False, allow_null=True)
    day_of_month = StrictIntegerField(required=False, allow_null=True)
    cron_expression = StrictCharField(required=False, allow_blank=True, max_length=120)
    duration_minutes = StrictIntegerField(required=False, help_text="1-10080")
    policy = serializers.ChoiceField(choices=WindowPolicyChoices.choices, required=False)
    device_groups = GroupIdsField(required=False, help_text="Device group ids")
    collection_groups = GroupIdsField(
        required=False, help_text="Collection group ids (both lists empty: every device)")
    next_spans = serializers.SerializerMethodField(
        help_text=f"The next {NEXT_SPANS} spans [start, end) in UTC, or the current one first")

    @extend_schema_field({"type": "array", "items": {
        "type": "object", "required": ["start", "end"],
        "properties": {"start": {"type": "string", "format": "date-time"},
                       "end": {"type": "string", "format": "date-time"}}}})
    def get_next_spans(self, obj: MaintenanceWindow) -> list[dict[str, str]]:
        now: datetime = self.context["now"]
        try:
            spec = obj.spec()
        except RecurrenceError:
            return []
        spans = spec.spans_between(now, now + timedelta(days=400))[:NEXT_SPANS]
        return [{"start": _utc(a), "end": _utc(b)} for a, b in spans]

    def validate_device_groups(self, value: list[int]) -> list[DeviceGroup]:
        return _existing(DeviceGroup, value)

    def validate_collection_groups(self, value: list[int]) -> list[CollectionGroup]:
        return _existing(CollectionGroup, value)


def _existing(model: Any, ids: list[int]) -> list[Any]:
    found = {obj.pk: obj for obj in model.objects.filter(pk__in=ids)}
    missing = sorted(set(ids) - set(found))
    if missing:
        raise serializers.ValidationError(f"No such group: {', '.join(map(str, missing))}.")
    return list(found.values())


def _utc(instant: datetime) -> str:
    from project.utc import utc_iso

    return utc_iso(instant)


@extend_schema_view(
    list=extend_schema(summary="List maintenance windows", tags=[TAG]),
    retrieve=extend_schema(summary="One maintenance window", tags=[TAG]),
    create=extend_schema(summary="Create a maintenance window (staff)", tags=[TAG]),
    update=extend_schema(summary="Replace a maintenance window (staff)", tags=[TAG]),
    partial_update=extend_schema(summary="Change a maintenance window (staff)", tags=[TAG]),
    destroy=extend_schema(summary="Delete a maintenance window (staff)", tags=[TAG]),
)
class MaintenanceWindowViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Maintenance windows: an occurrence inside one is skipped (`skipped`/`maintenance`) or
    deferred to its end for the devices of its groups (both lists empty: every device)."""

    serializer_class = MaintenanceWindowSerializer
    permission_classes = [IsAuthenticated, StaffWritesOnly]
    queryset = MaintenanceWindow.objects.prefetch_related("device_groups", "collection_groups")

    def get_serializer_context(self) -> dict[str, Any]:
        from django.utils import timezone

        return {**super().get_serializer_context(), "now": timezone.now()}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(MaintenanceWindow(), request, status.HTTP_201_CREATED, partial=False)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(self.get_object(), request, status.HTTP_200_OK,
                          partial=kwargs.pop("partial", False))

    def _save(self, window: MaintenanceWindow, request: Request, code: int, *,
              partial: bool) -> Response:
        serializer = self.get_serializer(window if window.pk else None, data=request.data,
                                         partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        scope = {key: data.pop(key) for key in ("device_groups", "collection_groups")
                 if key in data}
        if data.get("cron_expression") is None and "cron_expression" in data:
            data["cron_expression"] = ""
        try:
            maintenance_window_save(window=window, data={k: data[k] for k in WINDOW_FIELDS
                                                         if k in data}, **scope)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        except IntegrityError as exc:
            logger.info("maintenance window write conflict: %s", exc)
            raise ValidationError(
                {"name": ["A maintenance window with this name already exists."]}) from None
        fresh = self.get_queryset().get(pk=window.pk)
        return Response(self.get_serializer(fresh).data, status=code)


WINDOW_CALENDAR_SCHEMA = {
    "type": "object",
    "description": "Each date of the window (YYYY-MM-DD, display timezone), in order",
    "additionalProperties": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "window_id": {"type": "integer"},
                "name": {"type": "string"},
                "start": {"type": "string", "description": "local HH:MM"},
                "end": {"type": "string", "description": "local HH:MM, 24:00 at midnight"},
                "policy": {"type": "string", "enum": list(WindowPolicyChoices.values)},
            },
            "required": ["window_id", "name", "start", "end", "policy"],
        },
    },
}


class WindowCalendarView(ApiViewMixin, APIView):
    """`GET /api/maintenance-windows/calendar/`."""

    permission_classes = [IsAuthenticated]
    query_serializer_class = CalendarQuery

    @extend_schema(
        tags=[TAG], operation_id="maintenance_windows_calendar",
        summary="Maintenance windows per local day",
        description=(
            "Every date of the window (display timezone) is a key, in order, with the spans "
            "of every enabled maintenance window on that day, by start: `start` and `end` are "
            "local HH:MM (a span across midnight is split: `24:00` ends the first day's part)."
        ),
        responses={200: OpenApiResponse(response=WINDOW_CALENDAR_SCHEMA,
                                        description="Date -> spans")},
    )
    def get(self, request: Request) -> Response:
        zone = display_zone()
        first = self.params.get("start") or display_today()
        days = self.params["days"]
        begin, end = local_midnight(first, zone), local_midnight(first + timedelta(days=days), zone)
        calendar: dict[str, list[dict[str, Any]]] = {
            (first + timedelta(days=n)).isoformat(): [] for n in range(days)}
        for window in MaintenanceWindow.objects.filter(enabled=True):
            try:
                spans = window.spec().spans_between(begin, end)
            except RecurrenceError:
                continue
            for span_start, span_end in spans:
                _add_span(calendar, window, max(span_start, begin), min(span_end, end), zone)
        for day in calendar.values():
            day.sort(key=lambda s: (s["start"], s["name"]))
        return Response(calendar)


def _add_span(calendar: dict[str, list[dict[str, Any]]], window: MaintenanceWindow,
              start: datetime, end: datetime, zone: Any) -> None:
    """Add [start, end) to each local day it touches."""
    at = start
    while at < end:
        local = at.astimezone(zone)
        next_midnight = local_midnight(local.date() + timedelta(days=1), zone)
        until = min(end, next_midnight)
        last = until.astimezone(zone)
        calendar.setdefault(local.date().isoformat(), []).append({
            "window_id": window.pk, "name": window.name, "policy": window.policy,
            "start": f"{local.hour:02d}:{local.minute:02d}",
            "end": "24:00" if until == next_midnight else f"{last.hour:02d}:{last.minute:02d}",
        })
        at = until
