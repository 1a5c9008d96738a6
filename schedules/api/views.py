"""Views of the backup schedule API: everyone reads every schedule, staff write them."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from project.api import ApiViewMixin, WritePermission
from schedules.api.serializers import BackupScheduleSerializer
from schedules.models import BackupSchedule
from schedules.selectors import enrich_schedules, fleet_windows, schedules_for_user
from schedules.services import schedule_create, schedule_delete, schedule_update

logger = logging.getLogger(__name__)


class StaffWritesOnly(WritePermission):
    """Creating, changing and deleting schedules is for staff."""

    message = "Only staff may create, change or delete backup schedules."

    def allowed(self, user: Any) -> bool:
        return bool(user and user.is_authenticated and (user.is_staff or user.is_superuser))


@extend_schema_view(
    list=extend_schema(summary="List backup schedules"),
    retrieve=extend_schema(summary="One backup schedule"),
    create=extend_schema(summary="Create a backup schedule (staff)"),
    update=extend_schema(summary="Replace a backup schedule (staff)"),
    partial_update=extend_schema(summary="Change a backup schedule (staff)"),
    destroy=extend_schema(summary="Delete a backup schedule (staff)"),
)
class BackupScheduleViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Backup schedules: every user reads them all, staff create, change and delete them.

    Values are checked by the same rules as the admin (the model's validation, run by the
    services); `device_count` counts the schedule's enabled devices you may see.
    """

    serializer_class = BackupScheduleSerializer
    permission_classes = [IsAuthenticated, StaffWritesOnly]
    queryset = BackupSchedule.objects.none()  # for the schema; get_queryset() is per user

    def get_queryset(self) -> QuerySet[BackupSchedule]:
        return schedules_for_user(user=self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        # One `now` per response, so every schedule's next_runs start from the same instant,
        # and one read of the maintenance windows.
        return {**super().get_serializer_context(), "now": timezone.now(),
                "windows": fleet_windows()}

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        return enrich_schedules(page) if page is not None else None

    def get_object(self) -> BackupSchedule:
        schedule = super().get_object()
        enrich_schedules([schedule])
        return schedule

    def _respond(self, schedule_id: int, code: int) -> Response:
        schedule = self.get_queryset().get(pk=schedule_id)  # with the user's annotations
        enrich_schedules([schedule])
        return Response(self.get_serializer(schedule).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            schedule = schedule_create(**serializer.validated_data)
        except IntegrityError as exc:  # lost a race with another write of the same name
            raise ValidationError({"name": [_conflict_message(exc)]}) from None
        logger.info("schedule created: schedule=%s user=%s", schedule.pk, request.user.pk)
        return self._respond(schedule.pk, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        schedule = self.get_object()
        serializer = self.get_serializer(schedule, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        try:
            schedule_update(schedule=schedule, data=dict(serializer.validated_data))
        except IntegrityError as exc:
            raise ValidationError({"name": [_conflict_message(exc)]}) from None
        logger.info("schedule changed: schedule=%s user=%s", schedule.pk, request.user.pk)
        return self._respond(schedule.pk, status.HTTP_200_OK)

    def perform_destroy(self, instance: BackupSchedule) -> None:
        schedule_delete(schedule=instance)


def _conflict_message(exc: IntegrityError) -> str:
    logger.info("schedule write conflict: %s", exc)
    return "A backup schedule with this name already exists."
