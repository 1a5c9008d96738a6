"""Serializers of the alerts API (DESIGN.md, "Alerts": the field names are the contract)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_email
from rest_framework import serializers

from alerts.choices import (
    RULE_EVENTS,
    NotificationChannelKindChoices,
    NotificationChannelPresetChoices,
)
from alerts.delivery import addresses
from alerts.models import (
    MAX_FAILURES_IN_A_ROW,
    Notification,
    NotificationChannel,
    NotificationRule,
)
from alerts.services import can_manage_channels
from devices.access import allowed_device_groups
from project.api import (
    IdField,
    RejectUnknownFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    UtcDateTimeField,
)

MAX_SECRET = 500  # characters


def masked_target(channel: NotificationChannel) -> str:
    """A webhook URL without its path: incoming-webhook URLs carry their own token."""
    if channel.kind != NotificationChannelKindChoices.WEBHOOK:
        return channel.target
    parts = urlsplit(channel.target)
    return f"{parts.scheme}://{parts.netloc}/…"


class NotificationChannelSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """A channel. `secret` is write-only (`has_secret` says whether one is stored); users
    other than staff see a webhook's URL without its path."""

    name = StrictCharField(max_length=100)
    kind = serializers.ChoiceField(choices=NotificationChannelKindChoices.choices)
    target = StrictCharField(max_length=2000)
    preset = serializers.ChoiceField(
        choices=NotificationChannelPresetChoices.choices, required=False,
    )
    secret = StrictCharField(write_only=True, required=False, allow_blank=True,
                             max_length=MAX_SECRET, trim_whitespace=False)
    has_secret = serializers.BooleanField(read_only=True)
    enabled = StrictBooleanField(required=False)
    created_at = UtcDateTimeField(read_only=True)
    updated_at = UtcDateTimeField(read_only=True)

    class Meta:
        model = NotificationChannel
        fields = ["id", "name", "kind", "target", "preset", "secret", "has_secret", "enabled",
                  "created_at", "updated_at"]
        validators: list[Any] = []  # the unique name is checked below, with a clear message

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("May not be blank.")
        others = NotificationChannel.objects.filter(name=value)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError("A channel with this name already exists.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        target = attrs.get("target", getattr(self.instance, "target", ""))
        if "kind" in attrs or "target" in attrs:
            error = _target_error(kind, target)
            if error:
                raise serializers.ValidationError({"target": [error]})
        return attrs

    def to_representation(self, instance: NotificationChannel) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and not can_manage_channels(request.user):
            data["target"] = masked_target(instance)
        return data


def _target_error(kind: str | None, target: str) -> str | None:
    if kind == NotificationChannelKindChoices.EMAIL:
        found = addresses(target)
        if not found:
            return "Give one or more e-mail addresses, separated by commas."
        for address in found:
            try:
                validate_email(address)
            except DjangoValidationError:
                return f"{address!r} is not an e-mail address."
        return None
    try:
        URLValidator(schemes=["http", "https"])(target)
    except DjangoValidationError:
        return "Give an http:// or https:// URL."
    return None


class NotificationRuleSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    """A rule: which `events` of the devices of `device_groups` (none: every group you may
    see) go to `channel`. Rules belong to the user who made them (`owner`)."""

    name = StrictCharField(max_length=100)
    owner = serializers.CharField(source="owner.username", read_only=True)
    channel = IdField()
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=RULE_EVENTS), allow_empty=False, max_length=10,
    )
    device_groups = serializers.ListField(child=IdField(), required=False, max_length=1000)
    failures_in_a_row = StrictIntegerField(
        min_value=1, max_value=MAX_FAILURES_IN_A_ROW, required=False,
    )
    enabled = StrictBooleanField(required=False)
    created_at = UtcDateTimeField(read_only=True)
    updated_at = UtcDateTimeField(read_only=True)

    class Meta:
        model = NotificationRule
        fields = ["id", "name", "owner", "channel", "events", "device_groups",
                  "failures_in_a_row", "enabled", "created_at", "updated_at"]

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("May not be blank.")
        return value.strip()

    def validate_channel(self, value: int) -> NotificationChannel:
        channel = NotificationChannel.objects.filter(pk=value).first()
        if channel is None:
            raise serializers.ValidationError("No such channel.")
        return channel

    def validate_events(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each event may be given once.")
        return [event for event in RULE_EVENTS if event in value]  # a stable order

    def validate_device_groups(self, value: list[int]) -> list[Any]:
        user = self.context["request"].user
        groups = {g.pk: g for g in allowed_device_groups(user).filter(pk__in=set(value))}
        unknown = sorted(set(value) - set(groups))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown device group(s), or not yours to see: {unknown}."
            )
        return [groups[pk] for pk in dict.fromkeys(value)]

    def to_representation(self, instance: NotificationRule) -> dict[str, Any]:
        when = UtcDateTimeField()
        return {
            "id": instance.pk, "name": instance.name, "owner": instance.owner.username,
            "channel": instance.channel_id, "events": list(instance.events or ()),
            "device_groups": sorted(g.pk for g in instance.device_groups.all()),
            "failures_in_a_row": instance.failures_in_a_row, "enabled": instance.enabled,
            "created_at": when.to_representation(instance.created_at),
            "updated_at": when.to_representation(instance.updated_at),
        }


class NotificationSerializer(serializers.ModelSerializer):
    """A notification and its delivery status."""

    rule_name = serializers.SerializerMethodField()
    channel_name = serializers.CharField(source="channel.name", read_only=True)
    message = serializers.SerializerMethodField()
    created_at = UtcDateTimeField(read_only=True)
    sent_at = UtcDateTimeField(read_only=True, allow_null=True)
    next_attempt_at = UtcDateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "rule", "rule_name", "channel", "channel_name", "event", "subject",
                  "message", "device_count", "status", "attempts", "last_error",
                  "created_at", "sent_at", "next_attempt_at"]
        read_only_fields = fields

    def get_rule_name(self, notification: Notification) -> str | None:
        return notification.rule.name if notification.rule is not None else None

    def get_message(self, notification: Notification) -> str:
        payload = notification.payload if isinstance(notification.payload, dict) else {}
        return str(payload.get("message", ""))


class TestSendSerializer(serializers.Serializer):
    """What a test send did."""

    notification_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["sent", "failed"])
    error = serializers.CharField(allow_blank=True)


class DeviceGroupChoiceSerializer(serializers.Serializer):
    """A device group a rule may name."""

    id = serializers.IntegerField()
    name = serializers.CharField()
