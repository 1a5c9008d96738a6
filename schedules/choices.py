"""Choices for the schedules app."""

from django.db import models


class BackupScheduleTypeChoices(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    CRON = "cron", "Cron expression"


class DayOfWeekChoices(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class OverlapPolicyChoices(models.TextChoices):
    SKIP = "skip", "Skip a device still queued or running from an earlier occurrence"
    QUEUE = "queue", "Queue it anyway"
