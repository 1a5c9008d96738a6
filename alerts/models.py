"""Notification channels and rules, the conditions they have open, the notifications sent."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from alerts.choices import (
    AlertConditionKindChoices,
    AlertEventChoices,
    NotificationChannelKindChoices,
    NotificationChannelPresetChoices,
    NotificationStatusChoices,
)
from devices.models import Device, DeviceGroup

MAX_FAILURES_IN_A_ROW = 100


class NotificationChannel(models.Model):
    """Where notifications go: e-mail addresses (`target`, comma-separated) or a webhook URL
    (`target`) signed with `secret`, stored encrypted like credential sets."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=NotificationChannelKindChoices.choices)
    target = models.CharField(
        max_length=2000, help_text="E-mail addresses (comma-separated) or the webhook URL"
    )
    preset = models.CharField(
        max_length=20, choices=NotificationChannelPresetChoices.choices,
        default=NotificationChannelPresetChoices.GENERIC,
        help_text="Shape of a webhook's body (Slack and Teams incoming webhooks)",
    )
    secret_encrypted = models.TextField(blank=True, default="", editable=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=NotificationChannelKindChoices.values),
                name="channel_kind_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)


class NotificationRule(models.Model):
    """Which events go to which channel, for the devices of `device_groups` (none: every
    group) that `owner` may see."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_rules"
    )
    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="rules"
    )
    events = models.JSONField(default=list, help_text="Event names (DESIGN.md, Alerts)")
    device_groups = models.ManyToManyField(DeviceGroup, blank=True, related_name="+")
    failures_in_a_row = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_FAILURES_IN_A_ROW)],
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(failures_in_a_row__gte=1, failures_in_a_row__lte=MAX_FAILURES_IN_A_ROW),
                name="rule_failures_in_a_row_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AlertCondition(models.Model):
    """A condition a rule has reported: open until `closed_at`.

    At most one open row per (rule, kind, key) (`key` is `device:<id>` or `scheduler`): the
    guard that makes "one notification per condition" hold across restarts and concurrent
    evaluators, as the result rows' unique constraint does for collection. Reported
    configuration changes are rows too (kind `config_changed`, key `result:<id>`, created
    closed), unique per rule and result.
    """

    rule = models.ForeignKey(NotificationRule, on_delete=models.CASCADE, related_name="conditions")
    kind = models.CharField(max_length=20, choices=AlertConditionKindChoices.choices)
    key = models.CharField(max_length=40)
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "kind", "key"], condition=Q(closed_at__isnull=True),
                name="alert_condition_open_once",
            ),
            models.UniqueConstraint(
                fields=["rule", "kind", "key"], condition=Q(kind="config_changed"),
                name="alert_change_reported_once",
            ),
        ]
        indexes = [
            models.Index(fields=["kind"], condition=Q(closed_at__isnull=True),
                         name="alert_condition_open"),
        ]

    def __str__(self) -> str:
        state = "open" if self.closed_at is None else "closed"
        return f"{self.kind} {self.key} (rule {self.rule_id}, {state})"


class Notification(models.Model):
    """One message to one channel, delivered by the `devicevault.alerts.deliver` task.

    Idempotent by id: a task claims the row (`pending` → `sending`) before sending and marks
    it `sent`, so a redelivered message never sends a row twice; `failed` after
    settings.ALERTS_GIVE_UP_SECONDS of retries.
    """

    rule = models.ForeignKey(
        NotificationRule, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="notifications",
    )
    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=20, choices=AlertEventChoices.choices)
    subject = models.CharField(max_length=300)
    payload = models.JSONField(help_text="The webhook body (DESIGN.md, Alerts)")
    device_count = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=10, choices=NotificationStatusChoices.choices,
        default=NotificationStatusChoices.PENDING,
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"],
                         condition=Q(status__in=["pending", "sending"]),
                         name="notification_unsent"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.channel_id} ({self.status})"


class EvaluatorState(models.Model):
    """Singleton (pk 1): how far evaluation has read finished results and stored
    configurations. Evaluators lock this row, so two never interleave."""

    results_until = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"alerts evaluated until {self.results_until}"
