"""Django admin: the scheduler state, read-only; django-celery-beat's periodic tasks, for
superusers only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

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


class SuperuserOnlyAdmin:
    """django-celery-beat's pages for superusers only, whatever permissions a staff user was
    given: a periodic task sends any Celery task with any arguments (a `device.collect` for a
    device of another group, say), past every group scope of the product."""

    def _superuser(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._superuser(request)

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return self._superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._superuser(request)


for _model in (PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
    _theirs = type(admin.site._registry[_model])
    admin.site.unregister(_model)
    admin.site.register(_model, type(_theirs.__name__, (SuperuserOnlyAdmin, _theirs), {}))
