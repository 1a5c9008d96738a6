"""Choices of the alerts app (DESIGN.md, "Alerts": the event names are the contract)."""

from __future__ import annotations

from django.db import models


class NotificationChannelKindChoices(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class NotificationChannelPresetChoices(models.TextChoices):
    """How a webhook body is shaped: DeviceVault's own JSON, or an incoming-webhook message."""

    GENERIC = "generic", "DeviceVault JSON"
    SLACK = "slack", "Slack incoming webhook"
    TEAMS = "teams", "Microsoft Teams incoming webhook"


class AlertEventChoices(models.TextChoices):
    BACKUP_FAILED = "backup_failed", "Backup failed"
    MISSED_WINDOW = "missed_window", "Missed window"
    STALE = "stale", "Stale"
    CONFIG_CHANGED = "config_changed", "Configuration changed"
    SCHEDULER_DOWN = "scheduler_down", "Scheduler down"
    RECOVERED = "recovered", "Recovered"
    TEST = "test", "Test"  # a test send from the API: never a rule's event


RULE_EVENTS = tuple(e for e in AlertEventChoices.values if e != AlertEventChoices.TEST)


class AlertConditionKindChoices(models.TextChoices):
    """What stays open until it ends: one message when it opens, one `recovered` when it
    closes. `config_changed` rows are not conditions: they record a change already reported
    (created closed), so that a second read of the same result reports nothing."""

    FAILING = "failing", "Device failing"
    STALE = "stale", "Device stale"
    SCHEDULER_DOWN = "scheduler_down", "Scheduler down"
    CONFIG_CHANGED = "config_changed", "Configuration change reported"


class NotificationStatusChoices(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
