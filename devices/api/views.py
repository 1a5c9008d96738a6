"""Views of the devices and scheduled-backups API.

Every view that touches devices gets them from `DeviceAccessMixin.visible_devices()` (or a
selector taking the user), i.e. from `Device.objects.restrict(user)`: a device the user may
not see is a 404 exactly like a missing one, and only then may a write be a 403.
"""

from __future__ import annotations

import logging
from typing import Any

import kombu.exceptions
import redis
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.access import can_change_devices
from devices.analytics import analytics_for_user
from devices.api.filtersets import (
    AnalyticsQuery,
    CalendarQuery,
    DeviceFilterSet,
    HistoryFilterSet,
)
from devices.api.renderers import CalendarData, CalendarJSONRenderer
from devices.api.serializers import (
    AnalyticsSerializer,
    BackupDiffQuery,
    BackupDiffSerializer,
    BackupResultSerializer,
    BulkAssignResultSerializer,
    BulkAssignSerializer,
    DeviceBackupDetailSerializer,
    DeviceBackupSerializer,
    DeviceScheduleAssignSerializer,
    DeviceSerializer,
    RunNowResultSerializer,
)
from devices.collection.backups import backup_diff, backups_of
from devices.models import Device, DeviceBackup, DeviceBackupResult, DeviceQuerySet
from devices.outcomes import with_outcomes
from devices.selectors import (
    Calendar,
    CalendarTooLarge,
    calendar_for_user,
    display_today,
    history_for_user,
)
from devices.services import (
    device_assign_credential_set,
    device_assign_schedule,
    device_backup_now,
    devices_bulk_assign,
    schedule_run_now,
)
from project.api import MAX_ID, ApiViewMixin, NoQueryParams, WritePermission
from schedules.models import BackupSchedule

logger = logging.getLogger(__name__)

TAG = "scheduled-backups"


class CanChangeDevices(WritePermission):
    """Changing devices (PATCH, bulk-assign, run-now) needs staff or devices.change_device."""

    message = "You may not change devices (staff or the devices.change_device permission)."

    def allowed(self, user: Any) -> bool:
        return can_change_devices(user)


class BrokerUnavailable(APIException):
    """Run-now could not reach the broker. Its result rows are committed, so the beat's
    repair of stranded rows publishes them once the broker answers (within the window)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = (
        "The message broker cannot be reached. The run is recorded; the scheduler publishes "
        "what is left once the broker answers again."
    )
    default_code = "broker_unavailable"


class DeviceAccessMixin:
    """The one place API views get devices from: those the requesting user may see."""

    request: Request

    def visible_devices(self) -> DeviceQuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no real user
            return Device.objects.none()
        return Device.objects.restrict(self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List the devices you may see"),
    retrieve=extend_schema(summary="One device"),
)
class DeviceViewSet(
    ApiViewMixin,
    DeviceAccessMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """`/api/devices/`: read devices; PATCH assigns a device's backup schedule."""

    serializer_class = DeviceSerializer
    permission_classes = [IsAuthenticated, CanChangeDevices]
    queryset = Device.objects.none()  # for the schema; get_queryset() is per user
    http_method_names = ["get", "post", "patch", "head", "options"]  # POST: backup-now

    def get_query_serializer_class(self) -> type[Any]:
        return DeviceFilterSet if self.action == "list" else NoQueryParams

    def get_queryset(self) -> QuerySet[Device]:
        queryset: QuerySet[Device] = with_outcomes(
            self.visible_devices().with_next_backup()
        ).select_related(
            "backup_schedule", "device_group", "collection_group"
        )
        if self.action == "list":
            queryset = DeviceFilterSet.apply(queryset, getattr(self, "params", {}))
        return queryset

    @extend_schema(
        summary="Assign or clear a device's backup schedule or credential set",
        request=DeviceScheduleAssignSerializer,
        responses={200: DeviceSerializer},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        device = self.get_object()  # 404 for a device the user may not see, then 403
        serializer = DeviceScheduleAssignSerializer(
            data=request.data, context={"user": request.user, "device": device}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            if "backup_schedule_id" in data:
                device_assign_schedule(device=device, schedule=data["backup_schedule_id"])
            if "credential_set_id" in data:
                try:
                    device_assign_credential_set(
                        device=device, credential_set=data["credential_set_id"]
                    )
                except DjangoValidationError as exc:
                    raise ValidationError({"credential_set_id": exc.messages}) from None
        return Response(self.get_serializer(device).data)

    @extend_schema(
        summary="Back up one device now",
        description=(
            "Publishes one `device.collect` for the device: a `manual` result whose schedule "
            "is null. Answers once the message is in the broker. A disabled device is a 400."
        ),
        request=None,
        responses={202: RunNowResultSerializer},
    )
    @action(detail=True, methods=["post"], url_path="backup-now")
    def backup_now(self, request: Request, pk: str) -> Response:
        device = self.get_object()  # 404 for a device the user may not see, then 403
        try:
            enqueued = device_backup_now(device=device)
        except (kombu.exceptions.OperationalError, redis.RedisError, ConnectionError) as exc:
            logger.error("backup now failed: device=%s broker error: %s", device.pk, exc)
            raise BrokerUnavailable() from exc
        return Response({"enqueued": enqueued}, status=status.HTTP_202_ACCEPTED)


class CalendarView(ApiViewMixin, APIView):
    """`GET /api/scheduled-backups/calendar/`."""

    permission_classes = [IsAuthenticated]
    query_serializer_class = CalendarQuery
    renderer_classes = [CalendarJSONRenderer, BrowsableAPIRenderer]

    @extend_schema(
        tags=[TAG],
        operation_id="scheduled_backups_calendar",
        summary="Upcoming backups per local day",
        description=(
            "Every date of the window (display timezone) is a key, in order, with the "
            "occurrences of every enabled schedule on that day, sorted by local time then "
            "name. `time` is the local wall-clock time it fires at (03:30 for a 02:30 "
            "schedule on a spring-forward day); `devices` are the enabled devices you may "
            "see, at most 50 per entry (the first by name: `device_count` counts them all, "
            "`devices_truncated` says whether some are left out). A window of more than "
            "5,000 entries is a 400: ask for fewer days."
        ),
        responses={200: OpenApiResponse(response=Calendar, description="Date -> entries")},
    )
    def get(self, request: Request) -> Response:
        start = self.params.get("start") or display_today()
        try:
            calendar = calendar_for_user(
                user=request.user, start=start, days=self.params["days"]
            )
        except CalendarTooLarge as exc:
            raise ValidationError({"days": [str(exc)]}) from None
        return Response(CalendarData(calendar))


class BulkAssignView(ApiViewMixin, DeviceAccessMixin, APIView):
    """`POST /api/scheduled-backups/bulk-assign/`: one schedule onto many devices."""

    permission_classes = [IsAuthenticated, CanChangeDevices]

    @extend_schema(
        tags=[TAG],
        operation_id="scheduled_backups_bulk_assign",
        summary="Assign a schedule to many devices, all or nothing",
        description=(
            "Puts every device of `device_ids` on `schedule_id` (null: on no schedule). An id "
            "that does not exist or that you may not see fails the whole request with a 400 "
            "naming the ids, and nothing changes. Repeated ids count once."
        ),
        request=BulkAssignSerializer,
        responses={200: BulkAssignResultSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = BulkAssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        updated = devices_bulk_assign(
            devices=self.visible_devices(),
            device_ids=serializer.validated_data["device_ids"],
            schedule=serializer.validated_data["schedule_id"],
        )
        return Response({"updated": updated})


class RunNowView(ApiViewMixin, DeviceAccessMixin, generics.GenericAPIView):
    """`POST /api/scheduled-backups/{id}/test/`: back up a schedule's devices now."""

    permission_classes = [IsAuthenticated, CanChangeDevices]
    queryset = BackupSchedule.objects.all()
    serializer_class = RunNowResultSerializer
    pagination_class = None
    error_responses = {503: "The message broker cannot be reached (the run is recorded)"}

    @extend_schema(
        tags=[TAG],
        operation_id="scheduled_backups_run_now",
        summary="Run a schedule now for the enabled devices you may see",
        description=(
            "Also for a disabled schedule (it is a test). Answers once the messages are in "
            "the broker; `scheduled_for` of the results is the request's instant."
        ),
        request=None,
        responses={202: RunNowResultSerializer},
    )
    def post(self, request: Request, pk: str) -> Response:
        schedule = self.get_object()  # 404 for an unknown schedule, then 403
        try:
            enqueued = schedule_run_now(schedule=schedule, devices=self.visible_devices())
        except (kombu.exceptions.OperationalError, redis.RedisError, ConnectionError) as exc:
            logger.error("run now failed: schedule=%s broker error: %s", schedule.pk, exc)
            raise BrokerUnavailable() from exc
        return Response({"enqueued": enqueued}, status=status.HTTP_202_ACCEPTED)


class AnalyticsView(ApiViewMixin, APIView):
    """`GET /api/scheduled-backups/analytics/`."""

    permission_classes = [IsAuthenticated]
    query_serializer_class = AnalyticsQuery

    @extend_schema(
        tags=[TAG],
        operation_id="scheduled_backups_analytics",
        summary="Success rate, durations and top errors per schedule or group",
        description=(
            "Over the results of the devices you may see whose occurrence falls in "
            "`start`..`end` (local days, display timezone, both included; default the last "
            "30 days). Durations are nearest-rank percentiles of the results that ran."
        ),
        responses={200: AnalyticsSerializer},
    )
    def get(self, request: Request) -> Response:
        groups = analytics_for_user(
            user=request.user, start=self.params["from"], end=self.params["until"],
            group_by=self.params["group_by"], days=self.params["days"],
        )
        return Response(AnalyticsSerializer({
            "start": self.params["start"], "end": self.params["end"],
            "group_by": self.params["group_by"], "groups": groups,
        }).data)


class HistoryView(ApiViewMixin, generics.ListAPIView):
    """`GET /api/scheduled-backups/history/`."""

    permission_classes = [IsAuthenticated]
    serializer_class = BackupResultSerializer
    query_serializer_class = HistoryFilterSet
    queryset = DeviceBackupResult.objects.none()  # for the schema

    @extend_schema(
        tags=[TAG],
        operation_id="scheduled_backups_history",
        summary="Results of scheduled and manual backups of the devices you may see",
        description=(
            "Newest `scheduled_for` first. `start` and `end` are ISO dates (whole local days "
            "in the display timezone, `end` included) or ISO date-times (without an offset: "
            "display-local), both inclusive. History outlives its schedule: once the "
            "schedule is deleted, `schedule` is `{\"id\": null, \"name\": <its name then>}`."
        ),
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[DeviceBackupResult]:
        if getattr(self, "swagger_fake_view", False):
            return DeviceBackupResult.objects.none()
        return history_for_user(user=self.request.user, filters=self.params.get("filters"))



# -- stored configurations -----------------------------------------------------------------

BACKUPS_TAG = "devices"
_ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_DEVICE_ID = OpenApiParameter(
    "device_id", _ID_SCHEMA, OpenApiParameter.PATH, description="Device id"
)
_BACKUP_ID = OpenApiParameter(
    "backup_id", _ID_SCHEMA, OpenApiParameter.PATH, description="Backup id (one of this device's)"
)


class DeviceBackupsMixin(DeviceAccessMixin):
    """The device of the URL, from the devices the user may see: else 404, like a missing one."""

    kwargs: dict[str, Any]

    def device(self) -> Device:
        return generics.get_object_or_404(self.visible_devices(), pk=self.kwargs["device_id"])


class DeviceBackupListView(ApiViewMixin, DeviceBackupsMixin, generics.ListAPIView):
    """`GET /api/devices/{device_id}/backups/`."""

    permission_classes = [IsAuthenticated]
    serializer_class = DeviceBackupSerializer
    queryset = DeviceBackup.objects.none()  # for the schema

    @extend_schema(
        tags=[BACKUPS_TAG],
        operation_id="devices_backups_list",
        summary="Stored configurations of a device, newest first",
        description=(
            "One per successful collection: its result, occurrence, when it was collected, "
            "the SHA-256 and size of the configuration and whether it `changed` since the "
            "device's previous backup. A device you may not see is a 404."
        ),
        parameters=[_DEVICE_ID],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[DeviceBackup]:
        if getattr(self, "swagger_fake_view", False):
            return DeviceBackup.objects.none()
        return backups_of(self.device())


class DeviceBackupDetailView(ApiViewMixin, DeviceBackupsMixin, generics.GenericAPIView):
    """`GET /api/devices/{device_id}/backups/{backup_id}/`."""

    permission_classes = [IsAuthenticated]
    serializer_class = DeviceBackupDetailSerializer
    pagination_class = None
    queryset = DeviceBackup.objects.none()  # for the schema

    @extend_schema(
        tags=[BACKUPS_TAG],
        operation_id="devices_backups_retrieve",
        summary="One stored configuration of a device, with its text",
        description="A backup of another device, or of a device you may not see, is a 404.",
        parameters=[_DEVICE_ID, _BACKUP_ID],
        responses={200: DeviceBackupDetailSerializer},
    )
    def get(self, request: Request, device_id: str, backup_id: str) -> Response:
        backup = generics.get_object_or_404(
            DeviceBackup.objects.select_related("result", "blob"),
            device=self.device(), pk=backup_id,
        )
        return Response(self.get_serializer(backup).data)


class DeviceBackupDiffView(ApiViewMixin, DeviceBackupsMixin, generics.GenericAPIView):
    """`GET /api/devices/{device_id}/backups/{backup_id}/diff/[?against={other_id}]`."""

    permission_classes = [IsAuthenticated]
    serializer_class = BackupDiffSerializer
    query_serializer_class = BackupDiffQuery
    pagination_class = None
    queryset = DeviceBackup.objects.none()  # for the schema

    @extend_schema(
        tags=[BACKUPS_TAG],
        operation_id="devices_backups_diff",
        summary="Unified diff of a stored configuration against another of the device's",
        description=(
            "Against `against` (any other backup of the same device) or, by default, the "
            "device's previous one; `previous_id` is null for the device's first backup, "
            "which is diffed against nothing (every line added). A backup of another device, "
            "or of a device you may not see, is a 404."
        ),
        parameters=[_DEVICE_ID, _BACKUP_ID],
        responses={200: BackupDiffSerializer},
    )
    def get(self, request: Request, device_id: str, backup_id: str) -> Response:
        device = self.device()
        backups = DeviceBackup.objects.filter(device=device)
        backup = generics.get_object_or_404(
            backups.select_related("blob", "previous__blob"), pk=backup_id
        )
        against = None
        if "against" in self.params:
            against = generics.get_object_or_404(
                backups.select_related("blob"), pk=self.params["against"]
            )
        diff = backup_diff(backup, against)
        return Response(
            {"backup_id": diff.backup_id, "previous_id": diff.previous_id, "diff": diff.diff}
        )
