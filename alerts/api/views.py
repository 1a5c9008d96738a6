"""Views of the alerts API: channels (staff write), rules (each user their own), and the
notifications sent (read-only)."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.api.serializers import (
    DeviceGroupChoiceSerializer,
    NotificationChannelSerializer,
    NotificationRuleSerializer,
    NotificationSerializer,
    TestSendSerializer,
)
from alerts.models import Notification, NotificationChannel, NotificationRule
from alerts.services import (
    can_manage_channels,
    channel_save,
    notifications_for_user,
    rule_save,
    rules_for_user,
    test_send,
)
from devices.access import allowed_device_groups
from project.api import ApiViewMixin, WritePermission

logger = logging.getLogger(__name__)


class StaffManagesChannels(WritePermission):
    message = "Only staff may create, change, delete or test notification channels."

    def allowed(self, user: Any) -> bool:
        return can_manage_channels(user)


@extend_schema_view(
    list=extend_schema(summary="List notification channels"),
    retrieve=extend_schema(summary="One notification channel"),
    create=extend_schema(summary="Create a notification channel (staff)"),
    update=extend_schema(summary="Replace a notification channel (staff)"),
    partial_update=extend_schema(summary="Change a notification channel (staff)"),
    destroy=extend_schema(summary="Delete a notification channel and its rules (staff)"),
)
class NotificationChannelViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Channels: every user reads them (to pick one for a rule; webhook URLs without their
    path), staff create, change, delete and test them. `secret` is never returned."""

    serializer_class = NotificationChannelSerializer
    permission_classes = [IsAuthenticated, StaffManagesChannels]
    queryset = NotificationChannel.objects.all()

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = channel_save(secret=data.pop("secret", None), **data)
        logger.info("channel created: channel=%s user=%s", serializer.instance.pk,
                    self.request.user.pk)

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = channel_save(channel=serializer.instance,
                                           secret=data.pop("secret", None), **data)

    @extend_schema(summary="Send a test message through the channel now (staff)",
                   request=None, responses={200: TestSendSerializer})
    @action(detail=True, methods=["post"], url_path="test", pagination_class=None)
    def test(self, request: Request, pk: Any = None) -> Response:
        channel = self.get_object()
        notification = test_send(channel, user=request.user)
        return Response({"notification_id": notification.pk, "status": notification.status,
                         "error": notification.last_error}, status=status.HTTP_200_OK)


@extend_schema_view(
    list=extend_schema(summary="List your notification rules (a superuser: every rule)"),
    retrieve=extend_schema(summary="One notification rule"),
    create=extend_schema(summary="Create a notification rule (owned by you)"),
    update=extend_schema(summary="Replace a notification rule"),
    partial_update=extend_schema(summary="Change a notification rule"),
    destroy=extend_schema(summary="Delete a notification rule"),
)
class NotificationRuleViewSet(ApiViewMixin, viewsets.ModelViewSet):
    """Rules belong to the user who creates them: each user sees and changes only their own
    (a superuser every one). A rule reports only the devices its owner may see."""

    serializer_class = NotificationRuleSerializer
    permission_classes = [IsAuthenticated]
    queryset = NotificationRule.objects.none()  # for the schema; get_queryset() is per user

    def get_queryset(self) -> QuerySet[NotificationRule]:
        return rules_for_user(self.request.user)

    @extend_schema(summary="The device groups you may name in a rule",
                   responses={200: DeviceGroupChoiceSerializer(many=True)})
    @action(detail=False, methods=["get"], url_path="device-groups", pagination_class=None)
    def device_groups(self, request: Request) -> Response:
        groups = allowed_device_groups(request.user).order_by("name").values("id", "name")
        return Response(DeviceGroupChoiceSerializer(groups, many=True).data)

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = rule_save(owner=self.request.user, **serializer.validated_data)
        logger.info("rule created: rule=%s user=%s", serializer.instance.pk,
                    self.request.user.pk)

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = rule_save(rule=serializer.instance, **serializer.validated_data)


@extend_schema_view(
    list=extend_schema(summary="Recent notifications and their delivery status"),
    retrieve=extend_schema(summary="One notification"),
)
class NotificationViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """Notifications of your rules, newest first (staff also see test sends)."""

    serializer_class = NotificationSerializer
    permission_classes = [IsAuthenticated]
    queryset = Notification.objects.none()

    def get_queryset(self) -> QuerySet[Notification]:
        return notifications_for_user(self.request.user)
