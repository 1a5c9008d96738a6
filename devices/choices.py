"""Choices for the devices app."""

from django.db import models


class DeviceBackupResultStatusChoices(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCESS = "success", "Success"
    FAILED = "failed", "Failed"
    MISSED_WINDOW = "missed_window", "Missed window"


# Result states after which a result never changes again.
TERMINAL_RESULT_STATUSES = (
    DeviceBackupResultStatusChoices.SUCCESS,
    DeviceBackupResultStatusChoices.FAILED,
    DeviceBackupResultStatusChoices.MISSED_WINDOW,
)


class BackupMethodChoices(models.TextChoices):
    NONE = "", "None (not collected)"
    SSH = "ssh", "SSH (running configuration)"


class PlatformChoices(models.TextChoices):
    """What kind of device it is: decides the command and how its output is checked."""

    NONE = "", "Not set"
    CISCO_IOS = "cisco_ios", "Cisco IOS / IOS-XE"
    MIKROTIK_ROUTEROS = "mikrotik_routeros", "MikroTik RouterOS"
    LINUX = "linux", "Linux (configurable command)"
