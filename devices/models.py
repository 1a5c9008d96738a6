"""Devices, the groups that decide who sees them and where they are collected, and results."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.text import slugify

from devices.choices import BackupMethodChoices, DeviceBackupResultStatusChoices
from schedules.models import BackupSchedule

DEFAULT_QUEUE_SLUG = "default"


class DeviceGroup(models.Model):
    """An access-control group of devices: the Django auth groups in `user_groups` may see them."""

    name = models.CharField(max_length=100, unique=True)
    user_groups = models.ManyToManyField(
        Group, blank=True, related_name="device_groups", help_text="Who may see these devices"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CollectionGroup(models.Model):
    """Devices collected from one network zone, through one queue (`collect.<slug>`), serially."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True, blank=True)
    concurrency_limit = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="How many collections of this group may run at once, across all workers",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(concurrency_limit__gte=1), name="collection_group_limit_positive"
            ),
            models.CheckConstraint(condition=~Q(slug=""), name="collection_group_slug_set"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.slug:
            self.slug = slugify(self.name) or "group"
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class DeviceQuerySet(models.QuerySet["Device"]):
    """Device queries; `restrict(user)` is the one access rule (see devices.access)."""

    def restrict(self, user: object) -> DeviceQuerySet:
        from devices.access import restrict_devices

        return restrict_devices(self, user)


class Device(models.Model):
    """A network device whose configuration is backed up on its `backup_schedule`."""

    name = models.CharField(max_length=200, unique=True)
    ip_address = models.GenericIPAddressField()
    enabled = models.BooleanField(default=True)
    device_group = models.ForeignKey(
        DeviceGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices"
    )
    collection_group = models.ForeignKey(
        CollectionGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices"
    )
    backup_schedule = models.ForeignKey(
        BackupSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices"
    )
    backup_method = models.CharField(
        max_length=20, blank=True, default="", choices=BackupMethodChoices.choices
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["backup_schedule", "enabled"])]

    def __str__(self) -> str:
        return self.name


class DeviceBackupResult(models.Model):
    """One row per device per occurrence: the guard that makes collection exactly-once.

    `published_at` is set once the `device.collect` message is in the broker; rows still
    unpublished after a crash are published on recovery.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="backup_results")
    schedule = models.ForeignKey(
        BackupSchedule, on_delete=models.CASCADE, related_name="backup_results"
    )
    scheduled_for = models.DateTimeField(help_text="UTC instant of the occurrence")
    status = models.CharField(
        max_length=20,
        choices=DeviceBackupResultStatusChoices.choices,
        default=DeviceBackupResultStatusChoices.QUEUED,
    )
    is_catchup = models.BooleanField(default=False)
    manual = models.BooleanField(default=False)
    queued_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-scheduled_for", "device_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "schedule", "scheduled_for"], name="result_once_per_occurrence"
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeviceBackupResultStatusChoices.values),
                name="result_status_known",
            ),
        ]
        indexes = [
            models.Index(fields=["-scheduled_for"]),
            models.Index(fields=["status", "queued_at"]),
            # Publishing walks an occurrence's unpublished rows in id order, a batch at a
            # time: with the id in the index each batch is a range scan, not a sort.
            models.Index(
                fields=["schedule", "scheduled_for", "id"],
                condition=Q(published_at__isnull=True, status="queued"),
                name="result_unpublished",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}@{self.scheduled_for.isoformat()} {self.status}"
