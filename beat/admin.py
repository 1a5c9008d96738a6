"""Django admin: the scheduler state, read-only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from beat.models import SchedulerState


@admin.register(SchedulerState)
class SchedulerStateAdmin(admin.ModelAdmin):
    list_display = ("is_running", "scheduler_pid", "scheduler_host", "last_tick", "last_restart_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
