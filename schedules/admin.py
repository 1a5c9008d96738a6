"""Django admin for backup schedules: local time, description, next run, enable/disable."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from schedules.models import BackupSchedule
from schedules.services import (
    SCHEDULE_FIELDS,
    schedule_create,
    schedule_update,
    schedules_set_enabled,
)


@admin.register(BackupSchedule)
class BackupScheduleAdmin(admin.ModelAdmin):
    list_display = (
        "name", "schedule_type", "local_time", "description", "next_run_local", "last_run_at",
        "enabled",
    )
    list_filter = ("schedule_type", "enabled")
    search_fields = ("name", "cron_expression")
    readonly_fields = ("description", "next_run_local", "last_run_at", "active_since",
                       "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "enabled", "schedule_type")}),
        ("When (the schedule's time zone, else the display timezone)", {
            "fields": ("hour", "minute", "day_of_week", "day_of_month", "cron_expression",
                       "timezone"),
            "description": "Weekly needs a day of the week (Monday = 0); monthly a day of the "
                           "month (29-31 fire on the last day of shorter months); cron a "
                           "5-field expression.",
        }),
        ("Policy", {"fields": ("priority", "spread_minutes", "overlap_policy")}),
        ("Status", {"fields": readonly_fields}),
    )
    actions = ("enable_schedules", "disable_schedules")

    def save_model(
        self, request: HttpRequest, obj: BackupSchedule, form: Any, change: bool
    ) -> None:
        """Through the services, like the API and the importer (derived fields, the beat)."""
        data = {name: getattr(obj, name) for name in SCHEDULE_FIELDS}
        if change:
            schedule_update(schedule=obj, data=data)
        else:
            obj.pk = schedule_create(**data).pk  # the admin logs and redirects by it
            obj.refresh_from_db()

    @admin.display(description="Local time")
    def local_time(self, obj: BackupSchedule) -> str:
        return "—" if obj.schedule_type == "cron" else f"{obj.hour:02d}:{obj.minute:02d}"

    @admin.display(description="Recurrence")
    def description(self, obj: BackupSchedule) -> str:
        return obj.describe()

    @admin.display(description="Next run", ordering="next_run_at")
    def next_run_local(self, obj: BackupSchedule) -> str:
        if obj.next_run_at is None:
            return "—"
        return timezone.localtime(obj.next_run_at).strftime("%Y-%m-%d %H:%M %Z")

    @admin.action(description="Enable selected schedules")
    def enable_schedules(self, request: HttpRequest, queryset: QuerySet[BackupSchedule]) -> None:
        n = schedules_set_enabled(schedules=queryset, enabled=True)
        self.message_user(request, f"{n} schedule(s) enabled.", messages.SUCCESS)

    @admin.action(description="Disable selected schedules")
    def disable_schedules(self, request: HttpRequest, queryset: QuerySet[BackupSchedule]) -> None:
        n = schedules_set_enabled(schedules=queryset, enabled=False)
        self.message_user(request, f"{n} schedule(s) disabled.", messages.SUCCESS)
