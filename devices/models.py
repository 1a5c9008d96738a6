"""Devices, the groups that decide who sees them and where they are collected, and results."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils.text import slugify

from devices.choices import (
    LAST_BACKUP_RESULT_STATUSES,
    BackupMethodChoices,
    DeviceBackupResultStatusChoices,
    PlatformChoices,
    SkipReasonChoices,
    WindowPolicyChoices,
    WindowTypeChoices,
)
from schedules.models import BackupSchedule
from schedules.policy import WindowSpec
from schedules.recurrence import Recurrence, RecurrenceError, field_errors

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_SLUG = "default"


class CredentialSet(models.Model):
    """A named login for devices: username, password and/or private key, optional port.

    The secrets are stored only as Fernet tokens (devices.collection.credentials) and are read
    back only by the collector, through `devices.collection.credentials.ssh_login()`: no
    serializer, log line, task message or admin list ever carries them.
    """

    name = models.CharField(max_length=100, unique=True)
    username = models.CharField(max_length=200)
    port = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(65535)],
        help_text="SSH port; empty means 22",
    )
    password_encrypted = models.TextField(blank=True, default="", editable=False)
    private_key_encrypted = models.TextField(blank=True, default="", editable=False)
    key_passphrase_encrypted = models.TextField(blank=True, default="", editable=False)
    device_group = models.ForeignKey(
        "DeviceGroup", null=True, blank=True, on_delete=models.PROTECT,
        related_name="credential_sets",
        help_text="Only devices of this group may use the set; empty: global (superusers only)",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(port__isnull=True) | Q(port__gte=1, port__lte=65535),
                name="credential_set_port_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<CredentialSet {self.pk}: {self.name}>"

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)

    def clean(self) -> None:
        """A set moved to a device group must not leave behind devices (or device groups
        defaulting to it) of another group: the credential-set rule of devices.access."""
        super().clean()
        if self.pk is None or self.device_group_id is None:
            return
        outside = [
            f"device {name!r}" for name in Device.objects.filter(credential_set=self)
            .exclude(device_group_id=self.device_group_id).values_list("name", flat=True)[:5]
        ] + [
            f"device group {name!r}" for name in DeviceGroup.objects.filter(credential_set=self)
            .exclude(pk=self.device_group_id).values_list("name", flat=True)[:5]
        ]
        if outside:
            raise ValidationError({"device_group": (
                f"credential set {self.name!r} is still used outside that group, by "
                f"{', '.join(outside)}: give them another set first"
            )})

    @property
    def has_private_key(self) -> bool:
        return bool(self.private_key_encrypted)


class DeviceGroup(models.Model):
    """An access-control group of devices: the Django auth groups in `user_groups` may see them."""

    name = models.CharField(max_length=100, unique=True)
    user_groups = models.ManyToManyField(
        Group, blank=True, related_name="device_groups", help_text="Who may see these devices"
    )
    credential_set = models.ForeignKey(
        CredentialSet, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Login for the group's devices that have none of their own",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The group's default credential set follows the rule of devices.access."""
        super().clean()
        _check_credential_set(self.credential_set if self.credential_set_id else None, self)


def _check_credential_set(credential_set: CredentialSet | None, group: DeviceGroup | None) -> None:
    from devices.access import credential_set_error

    error = credential_set_error(credential_set=credential_set, device_group=group)
    if error:
        raise ValidationError({"credential_set": error})


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

    def with_next_backup(self) -> DeviceQuerySet:
        """Annotate `next_backup`: when the device is next backed up, its schedule's cached
        next run, or null when it will not be (no schedule, a disabled schedule or a disabled
        device: "Not scheduled" everywhere)."""
        return self.annotate(next_backup=Case(
            When(enabled=True, backup_schedule__enabled=True,
                 then=F("backup_schedule__next_run_at")),
            default=Value(None), output_field=models.DateTimeField(),
        ))

    def on_schedule(self, schedule: object) -> DeviceQuerySet:
        """The devices an occurrence of `schedule` (a schedule, its id, or an OuterRef)
        backs up: enabled and assigned to it."""
        return self.filter(backup_schedule=schedule, enabled=True)


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
    platform = models.CharField(
        max_length=30, blank=True, default="", choices=PlatformChoices.choices,
        help_text="Decides the backup command and how its output is checked",
    )
    backup_command = models.CharField(
        max_length=500, blank=True, default="",
        help_text="ssh: the command that prints the configuration; empty: the platform's "
        "default (show running-config, /export, cat /etc/devicevault/running-config). "
        "local: the file to back up, under DEVICEVAULT_LOCAL_ROOT",
    )
    credential_set = models.ForeignKey(
        CredentialSet, null=True, blank=True, on_delete=models.PROTECT, related_name="devices",
        help_text="Login for this device; empty: its device group's",
    )
    ssh_host_key = models.TextField(
        blank=True, default="", editable=False,
        help_text="SSH host key (type and base64) trusted for this device",
    )
    ssh_host_key_offered = models.TextField(
        blank=True, default="", editable=False,
        help_text="A different host key the device last presented, waiting for an admin",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["backup_schedule", "enabled"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The device's credential set follows the rule of devices.access; a `local` device
        must name its file (a file name, never a command that is run)."""
        super().clean()
        _check_credential_set(
            self.credential_set if self.credential_set_id else None,
            self.device_group if self.device_group_id else None,
        )
        if self.backup_method == BackupMethodChoices.LOCAL and not self.backup_command.strip():
            raise ValidationError({
                "backup_command": "the local method needs the file to back up, relative to "
                "the local root (DEVICEVAULT_LOCAL_ROOT)"
            })
        if "\x00" in self.backup_command:
            raise ValidationError({"backup_command": "must not contain NUL characters"})


class DeviceBackupResult(models.Model):
    """One row per device per occurrence: the guard that makes collection exactly-once.

    `published_at` is set once the `device.collect` message is in the broker; rows still
    unpublished after a crash are published on recovery.

    No index names `published_at` or `attempts`, not even in its condition: the fan-out sets
    both on every row it publishes, and an UPDATE that changes no indexed column is a HOT
    update in PostgreSQL (the new version goes into the same page, no index entry is
    written), with room for it kept in each page (the table's fillfactor, migration 0010).
    `held` marks the held rows not yet published for the one index that needs them apart.
    """

    # No index of its own: the unique (device, schedule, scheduled_for) index starts with it.
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="backup_results",
                               db_index=False)
    schedule = models.ForeignKey(
        BackupSchedule, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="backup_results",
    )
    schedule_name = models.CharField(
        max_length=200, blank=True, default="",
        help_text="The schedule's name when the occurrence fired; kept when it is deleted",
    )
    scheduled_for = models.DateTimeField(help_text="UTC instant of the occurrence")
    status = models.CharField(
        max_length=20,
        choices=DeviceBackupResultStatusChoices.choices,
        default=DeviceBackupResultStatusChoices.QUEUED,
    )
    is_catchup = models.BooleanField(default=False)
    manual = models.BooleanField(default=False)
    skip_reason = models.CharField(
        max_length=20, blank=True, default="", choices=SkipReasonChoices.choices
    )
    attempts = models.PositiveIntegerField(
        default=0, help_text="Times its device.collect message was published"
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    publish_after = models.DateTimeField(
        null=True, blank=True,
        help_text="Held until then (a spread offset, a deferring maintenance window); "
                  "null: published at once",
    )
    held = models.BooleanField(
        default=False, editable=False,
        help_text="Held (publish_after) and not yet published: the leader's index of held "
                  "rows keys on it, so that publishing the rows nobody holds changes no "
                  "indexed column",
    )
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
            # time: with the id in the index each batch is a range scan, not a sort. The
            # condition leaves `published_at` out (see above): the published rows still queued
            # are in it too, and are filtered out row by row.
            models.Index(
                fields=["schedule", "scheduled_for", "id"],
                condition=Q(status="queued"),
                name="result_queued_occurrence",
            ),
            # The rows a spread or a deferring window holds: the leader publishes each as its
            # time comes, and asks for the next one. `held` is cleared when a held row is
            # published (not a HOT update, but only for those rows).
            models.Index(
                fields=["publish_after", "id"],
                condition=Q(status="queued", held=True),
                name="result_held_waiting",
            ),
            # A device's last backup (devices.outcomes): its newest result that started or
            # finished, one probe of this index per device, however many results it has;
            # with the status in it, filtering on the last status reads no table row.
            models.Index(
                fields=["device", "-scheduled_for", "-id", "status"],
                condition=Q(status__in=LAST_BACKUP_RESULT_STATUSES),
                name="result_last",
            ),
            # Its last success (staleness): the same, for successes only.
            models.Index(
                fields=["device", "-scheduled_for"],
                condition=Q(status=DeviceBackupResultStatusChoices.SUCCESS),
                name="result_last_success",
            ),
            # Analytics' top errors read only the failures of a window (devices.analytics).
            models.Index(
                fields=["scheduled_for"],
                condition=Q(status=DeviceBackupResultStatusChoices.FAILED),
                name="result_failed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}@{self.scheduled_for.isoformat()} {self.status}"

    @property
    def schedule_label(self) -> str:
        """The schedule's name: its current one, or once it is deleted the name it had when
        the occurrence fired (`schedule_name`)."""
        schedule = self.schedule if self.schedule_id is not None else None
        return schedule.name if schedule is not None else self.schedule_name


class ConfigBlob(models.Model):
    """A configuration text, stored once however many backups have it (keyed by SHA-256)."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.PositiveBigIntegerField(help_text="Bytes of the UTF-8 text")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.size} bytes)"


class DeviceBackup(models.Model):
    """One stored configuration of a device: the outcome of one successful collection."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="backups")
    result = models.OneToOneField(
        DeviceBackupResult, on_delete=models.CASCADE, related_name="backup"
    )
    blob = models.ForeignKey(ConfigBlob, on_delete=models.PROTECT, related_name="backups")
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The device's backup before this one (null for its first)",
    )
    changed = models.BooleanField(help_text="Content differs from the previous backup")
    collected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-collected_at", "-id"]
        indexes = [
            models.Index(fields=["device", "-collected_at", "-id"], name="backup_device_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}@{self.collected_at.isoformat()} {self.blob_id[:12]}"


class MaintenanceWindow(models.Model):
    """A span of time in which scheduled backups of the devices in scope are skipped or
    deferred to its end (rules: schedules/policy.py). Recurring like a schedule (read in its
    own time zone, else the display timezone) with a duration, or once from `start`."""

    name = models.CharField(max_length=200, unique=True)
    enabled = models.BooleanField(default=True)
    timezone = models.CharField(
        max_length=64, null=True, blank=True,
        help_text="IANA time zone the window's times are read in; empty: the display timezone",
    )
    schedule_type = models.CharField(
        max_length=10, choices=WindowTypeChoices.choices, default=WindowTypeChoices.DAILY
    )
    start = models.DateTimeField(null=True, blank=True, help_text="Once: when it begins")
    hour = models.PositiveSmallIntegerField(default=0, help_text="0-23, the window's zone")
    minute = models.PositiveSmallIntegerField(default=0, help_text="0-59")
    day_of_week = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Weekly: Monday = 0"
    )
    day_of_month = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Monthly: 1-31"
    )
    cron_expression = models.CharField(max_length=120, blank=True, default="")
    duration_minutes = models.PositiveIntegerField(
        default=60, validators=[
            MinValueValidator(1, "Duration must be a whole number of minutes from 1 to 10080."),
            MaxValueValidator(10080, "Duration must be a whole number of minutes from 1 to "
                                     "10080 (a week)."),
        ],
    )
    policy = models.CharField(
        max_length=10, choices=WindowPolicyChoices.choices, default=WindowPolicyChoices.SKIP
    )
    device_groups = models.ManyToManyField(
        DeviceGroup, blank=True, related_name="maintenance_windows",
        help_text="Devices of these groups (with the collection groups; both empty: every device)",
    )
    collection_groups = models.ManyToManyField(
        CollectionGroup, blank=True, related_name="maintenance_windows",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1, duration_minutes__lte=10080),
                name="window_duration_range",
            ),
            models.CheckConstraint(
                condition=~Q(schedule_type="once") | Q(start__isnull=False),
                name="window_once_needs_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def recurrence(self, timezone: str | None = None) -> Recurrence | None:
        """The recurrence of its starts (None for a one-off window); RecurrenceError when the
        fields say nothing valid."""
        if self.schedule_type == WindowTypeChoices.ONCE:
            return None
        return Recurrence(
            schedule_type=self.schedule_type, hour=self.hour, minute=self.minute,
            day_of_week=self.day_of_week if self.schedule_type == "weekly" else None,
            day_of_month=self.day_of_month if self.schedule_type == "monthly" else None,
            cron_expression=self.cron_expression if self.schedule_type == "cron" else "",
            timezone=self.timezone or timezone or settings.DEVICEVAULT.display_timezone,
        )

    def spec(self, *, device_groups: Iterable[int] = (),
             collection_groups: Iterable[int] = ()) -> WindowSpec:
        """The pure rules' view of it (the group ids as the caller read them)."""
        return WindowSpec(
            id=self.pk, name=self.name, policy=self.policy,
            duration=timedelta(minutes=self.duration_minutes), recurrence=self.recurrence(),
            start=self.start, device_groups=frozenset(device_groups),
            collection_groups=frozenset(collection_groups),
        )

    @classmethod
    def enabled_specs(cls) -> list[WindowSpec]:
        """The enabled windows as the rules see them (one query, and two more when there are
        any); an invalid one is logged and left out."""
        specs = []
        rows = cls.objects.filter(enabled=True).prefetch_related(
            models.Prefetch("device_groups", queryset=DeviceGroup.objects.only("pk")),
            models.Prefetch("collection_groups", queryset=CollectionGroup.objects.only("pk")),
        )
        for row in rows:
            try:
                specs.append(row.spec(
                    device_groups=[g.pk for g in row.device_groups.all()],
                    collection_groups=[g.pk for g in row.collection_groups.all()]))
            except RecurrenceError as exc:
                logger.error("maintenance window=%s is invalid and holds nothing: %s",
                             row.pk, exc)
        return specs

    def clean(self) -> None:
        super().clean()
        self.timezone = self.timezone or None
        errors: dict[str, list[str]] = {}
        if self.schedule_type == WindowTypeChoices.ONCE:
            if self.start is None:
                errors["start"] = ["A one-off window needs its start."]
        elif self.schedule_type in WindowTypeChoices.values:
            errors.update({
                name: [message] for name, message in field_errors(
                    schedule_type=self.schedule_type, hour=self.hour, minute=self.minute,
                    day_of_week=self.day_of_week, day_of_month=self.day_of_month,
                    cron_expression=self.cron_expression or "",
                ).items()
            })
        if not errors and self.timezone:
            try:
                ZoneInfo(self.timezone)
            except (ValueError, ZoneInfoNotFoundError):
                errors["timezone"] = [f"Unknown timezone {self.timezone!r}."]
        if errors:
            raise ValidationError(errors)
