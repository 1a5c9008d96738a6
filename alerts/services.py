"""Write services of the alerts app (the API and the admin use them) and the selectors."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from alerts import delivery, messages
from alerts.choices import AlertEventChoices
from alerts.choices import NotificationStatusChoices as S
from alerts.models import Notification, NotificationChannel, NotificationRule
from devices.collection.credentials import encrypt
from devices.models import DeviceGroup

logger = logging.getLogger(__name__)

_UNSET: Any = object()


def can_manage_channels(user: Any) -> bool:
    """Channels are shared: staff and superusers create, change and delete them."""
    return bool(user and user.is_authenticated and user.is_active
                and (user.is_staff or user.is_superuser))


def channel_save(*, channel: NotificationChannel | None = None, secret: str | None = None,
                 **fields: Any) -> NotificationChannel:
    """Create (`channel` None) or change a channel; `secret` None keeps the stored one, ""
    clears it, anything else is stored encrypted (devices.collection.credentials)."""
    channel = channel or NotificationChannel()
    for name, value in fields.items():
        setattr(channel, name, value)
    if secret is not None:
        channel.secret_encrypted = encrypt(secret)
    channel.full_clean()
    channel.save()
    return channel


def rule_save(*, rule: NotificationRule | None = None, owner: Any = None,
              device_groups: list[DeviceGroup] | None = None,
              **fields: Any) -> NotificationRule:
    """Create (`rule` None, owned by `owner`) or change a rule."""
    with transaction.atomic():
        if rule is None:
            rule = NotificationRule(owner=owner)
        for name, value in fields.items():
            setattr(rule, name, value)
        rule.full_clean()
        rule.save()
        if device_groups is not None:
            rule.device_groups.set(device_groups)
    return rule


def rules_for_user(user: Any) -> QuerySet[NotificationRule]:
    """A superuser sees every rule; anyone else only their own."""
    rules = NotificationRule.objects.select_related("owner", "channel").prefetch_related(
        "device_groups"
    )
    if user.is_superuser:
        return rules
    return rules.filter(owner=user)


def notifications_for_user(user: Any) -> QuerySet[Notification]:
    """A superuser sees every notification; staff those of their rules and the test sends;
    anyone else those of their own rules."""
    notifications = Notification.objects.select_related("rule", "channel")
    if user.is_superuser:
        return notifications
    mine = Q(rule__owner=user)
    if user.is_staff:
        mine |= Q(rule__isnull=True)
    return notifications.filter(mine)


def test_send(channel: NotificationChannel, *, user: Any) -> Notification:
    """Send a test message through `channel` now, once (no retry); the recorded row says
    whether it arrived."""
    now = timezone.now()
    text = f"Test notification from DeviceVault, sent by {user.get_username()}."
    payload: dict[str, object] = {
        "event": AlertEventChoices.TEST.value, "fired_at": messages.iso(now), "device": None,
        "schedule": None, "result_id": None, "message": text,
    }
    notification = Notification.objects.create(
        channel=channel, event=AlertEventChoices.TEST, subject="[DeviceVault] test",
        payload=payload, status=S.SENDING, attempts=1, created_at=now,
    )
    try:
        delivery.send(channel, subject=notification.subject, payload=payload,
                      delivery_id=notification.pk)
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        notification.status, notification.last_error = S.FAILED, str(exc)[:2000]
    else:
        notification.status, notification.sent_at = S.SENT, timezone.now()
        delivery.metrics.count_notification_sent(channel.kind)
    notification.save(update_fields=["status", "last_error", "sent_at"])
    logger.info("test notification: channel=%s status=%s user=%s", channel.pk,
                notification.status, user.pk)
    return notification
