"""Choices for the devices app."""

from django.db import models


class DeviceBackupResultStatusChoices(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"
    MISSED_WINDOW = "missed_window", "Missed window"
    SKIPPED = "skipped", "Skipped"


# Result states after which a result never changes again.
TERMINAL_RESULT_STATUSES = (
    DeviceBackupResultStatusChoices.SUCCESS,
    DeviceBackupResultStatusChoices.FAILED,
    DeviceBackupResultStatusChoices.MISSED_WINDOW,
    DeviceBackupResultStatusChoices.SKIPPED,
)


# The results a device's "last backup" may be: the newest one that started or finished
# (devices.outcomes; a queued result is not a backup yet).
LAST_BACKUP_RESULT_STATUSES = (
    DeviceBackupResultStatusChoices.RUNNING,
    DeviceBackupResultStatusChoices.SUCCESS,
    DeviceBackupResultStatusChoices.FAILED,
    DeviceBackupResultStatusChoices.MISSED_WINDOW,
    DeviceBackupResultStatusChoices.SKIPPED,
)


class SkipReasonChoices(models.TextChoices):
    """Why a result was `skipped` (empty for every other status)."""

    NONE = "", "—"
    MAINTENANCE = "maintenance", "Maintenance window"
    OVERLAP = "overlap", "Earlier run still in progress"


class BackupMethodChoices(models.TextChoices):
    NONE = "", "None (not collected)"
    SSH = "ssh", "SSH (running configuration)"
    LOCAL = "local", "Local file (on the collecting machine)"


class PlatformChoices(models.TextChoices):
    """What kind of device it is: decides the command and how its output is checked."""

    NONE = "", "Not set"
    CISCO_IOS = "cisco_ios", "Cisco IOS / IOS-XE"
    MIKROTIK_ROUTEROS = "mikrotik_routeros", "MikroTik RouterOS"
    LINUX = "linux", "Linux (configurable command)"


class WindowTypeChoices(models.TextChoices):
    ONCE = "once", "Once"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    CRON = "cron", "Cron expression"


class WindowPolicyChoices(models.TextChoices):
    SKIP = "skip", "Skip the backups inside it"
    DEFER = "defer", "Defer them to its end"
