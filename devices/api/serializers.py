"""Serializers of the devices and scheduled-backups API (shapes fixed by DESIGN.md)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from devices.access import credential_set_error, restrict_credential_sets
from devices.choices import LAST_BACKUP_RESULT_STATUSES
from devices.collection.hostkeys import fingerprint
from devices.models import CredentialSet, Device, DeviceBackup, DeviceBackupResult
from devices.outcomes import is_stale, last_backup, stale_periods
from project.api import IdField, QueryIdField, RejectUnknownFieldsMixin, UtcDateTimeField
from schedules.models import BackupSchedule


class NamedRefSerializer(serializers.Serializer):
    """`{"id", "name"}` of a related object."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class NestedBackupScheduleSerializer(serializers.ModelSerializer):
    """The schedule as shown inside a device."""

    next_run_at = UtcDateTimeField(read_only=True, allow_null=True)
    last_run_at = UtcDateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = BackupSchedule
        fields = [
            "id", "name", "schedule_type", "hour", "minute", "day_of_week", "day_of_month",
            "cron_expression", "enabled", "next_run_at", "last_run_at",
        ]
        read_only_fields = fields


class LastBackupSerializer(serializers.Serializer):
    """The device's newest running or finished result."""

    status = serializers.ChoiceField(choices=LAST_BACKUP_RESULT_STATUSES, read_only=True)
    scheduled_for = UtcDateTimeField(read_only=True)
    finished_at = UtcDateTimeField(read_only=True, allow_null=True)
    error = serializers.CharField(read_only=True)


class DeviceSerializer(serializers.ModelSerializer):
    """A device with its groups, its backup schedule (each nested, or null) and its last
    backup; the device comes annotated by `devices.outcomes.with_outcomes`."""

    ip_address = serializers.CharField(read_only=True)
    device_group = NamedRefSerializer(read_only=True, allow_null=True)
    collection_group = NamedRefSerializer(read_only=True, allow_null=True)
    backup_schedule = NestedBackupScheduleSerializer(read_only=True, allow_null=True)
    next_backup = UtcDateTimeField(
        read_only=True, allow_null=True,
        help_text="When the device is next backed up; null: not scheduled (no schedule, a "
        "disabled schedule or a disabled device)",
    )
    last_backup = serializers.SerializerMethodField()
    stale = serializers.SerializerMethodField()
    ssh_host_key_fingerprint = serializers.SerializerMethodField(
        help_text="SHA256 fingerprint (as ssh-keygen -l prints it) of the trusted SSH host "
        "key; null until one is trusted"
    )

    class Meta:
        model = Device
        fields = [
            "id", "name", "ip_address", "enabled", "device_group", "collection_group",
            "backup_schedule", "next_backup", "last_backup", "stale", "ssh_host_key_fingerprint",
        ]
        read_only_fields = fields

    @extend_schema_field(LastBackupSerializer(allow_null=True))
    def get_last_backup(self, device: Device) -> dict[str, Any] | None:
        last = last_backup(device)
        return None if last is None else LastBackupSerializer(last).data

    @extend_schema_field(serializers.BooleanField())
    def get_stale(self, device: Device) -> bool:
        """No success for `alerts.stale_after_periods` periods of its schedule."""
        if "now" not in self.context:  # once per response, for every device of the page
            self.context["now"] = timezone.now()
        # schedule id -> its threshold at `now`, computed once per response and schedule
        thresholds = self.context.setdefault("stale_thresholds", {})
        return is_stale(device, now=self.context["now"], periods=stale_periods(),
                        thresholds=thresholds)

    def get_ssh_host_key_fingerprint(self, device: Device) -> str | None:
        return fingerprint(device.ssh_host_key) or None


class DeviceScheduleAssignSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """What the API changes on a device: its backup schedule and its credential set.

    Give the requesting user and the device in the context: the credential set must be one
    the user may pick (a global one or one of the user's device groups) and one the device
    may use (a global one or one of its own device group).
    """

    backup_schedule_id = IdField(
        required=False, allow_null=True,
        help_text="The backup schedule to assign, or null to clear it",
    )
    credential_set_id = IdField(
        required=False, allow_null=True,
        help_text="The credential set the device logs in with: a global one or one of the "
        "device's own device group; null: its device group's",
    )

    def validate_backup_schedule_id(self, value: int | None) -> BackupSchedule | None:
        return _schedule_or_error(value)

    def validate_credential_set_id(self, value: int | None) -> CredentialSet | None:
        if value is None:
            return None
        visible = restrict_credential_sets(
            CredentialSet.objects.select_related("device_group"), self.context["user"],
            with_global=True,
        )
        credential_set = visible.filter(pk=value).first()
        if credential_set is None:
            raise serializers.ValidationError(f"Unknown credential set {value}.")
        device: Device = self.context["device"]
        error = credential_set_error(
            credential_set=credential_set,
            device_group=device.device_group if device.device_group_id else None,
        )
        if error:
            raise serializers.ValidationError(error)
        return credential_set


class BulkAssignSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Devices to put on a schedule (or take off any, with null), all or nothing."""

    schedule_id = IdField(
        allow_null=True, help_text="The backup schedule to assign, or null to clear it"
    )
    device_ids = serializers.ListField(
        child=IdField(), allow_empty=False, max_length=100_000,
        help_text="Devices to assign; repeated ids count once",
    )

    def validate_schedule_id(self, value: int | None) -> BackupSchedule | None:
        return _schedule_or_error(value)


def _schedule_or_error(value: int | None) -> BackupSchedule | None:
    if value is None:
        return None
    schedule = BackupSchedule.objects.filter(pk=value).first()
    if schedule is None:
        raise serializers.ValidationError(f"Unknown backup schedule {value}.")
    return schedule


class BulkAssignResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField(help_text="Devices now on the schedule")


class RunNowResultSerializer(serializers.Serializer):
    enqueued = serializers.IntegerField(help_text="`device.collect` messages published")


class ResultScheduleSerializer(serializers.Serializer):
    """`{"id", "name"}` of a result's schedule: `id` null once the schedule is deleted, with
    the name it had then."""

    id = serializers.IntegerField(source="schedule_id", read_only=True, allow_null=True)
    name = serializers.CharField(source="schedule_label", read_only=True)


class BackupResultSerializer(serializers.ModelSerializer):
    """One row of the scheduled-backup history."""

    device = NamedRefSerializer(read_only=True)
    schedule = ResultScheduleSerializer(source="*", read_only=True)
    scheduled_for = UtcDateTimeField(read_only=True)
    queued_at = UtcDateTimeField(read_only=True)
    started_at = UtcDateTimeField(read_only=True, allow_null=True)
    finished_at = UtcDateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = DeviceBackupResult
        fields = [
            "id", "device", "schedule", "scheduled_for", "status", "is_catchup", "manual",
            "queued_at", "started_at", "finished_at", "error", "attempts", "skip_reason",
        ]
        read_only_fields = fields


class DeviceBackupSerializer(serializers.ModelSerializer):
    """One stored configuration of a device (its text: the diff endpoint)."""

    result_id = serializers.IntegerField(read_only=True, help_text="The DeviceBackupResult")
    scheduled_for = UtcDateTimeField(
        source="result.scheduled_for", read_only=True, help_text="The occurrence it backs up"
    )
    collected_at = UtcDateTimeField(read_only=True)
    sha256 = serializers.CharField(source="blob_id", read_only=True, help_text="SHA-256, hex")
    size = serializers.IntegerField(source="blob.size", read_only=True, help_text="Bytes")
    changed = serializers.BooleanField(
        read_only=True,
        help_text="Differs from the device's previous backup (true for the first one)",
    )
    previous_id = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The device's backup before this one"
    )

    class Meta:
        model = DeviceBackup
        fields = [
            "id", "result_id", "scheduled_for", "collected_at", "sha256", "size", "changed",
            "previous_id",
        ]
        read_only_fields = fields


class DeviceBackupDetailSerializer(DeviceBackupSerializer):
    """One stored configuration with its text."""

    content = serializers.CharField(source="blob.text", read_only=True)

    class Meta(DeviceBackupSerializer.Meta):
        fields = [*DeviceBackupSerializer.Meta.fields, "content"]
        read_only_fields = fields


class BackupDiffQuery(serializers.Serializer):
    """Query of the diff endpoint."""

    against = QueryIdField(
        required=False,
        help_text="Another backup of the same device to diff against (default: the previous)",
    )


class BackupDiffSerializer(serializers.Serializer):
    backup_id = serializers.IntegerField()
    previous_id = serializers.IntegerField(
        allow_null=True,
        help_text="The backup diffed against; null: the device's first backup, diffed "
        "against nothing",
    )
    diff = serializers.CharField(
        help_text="Unified diff from `previous_id` (from /dev/null for the first one); "
        "empty when nothing changed"
    )


class ErrorCountSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="The error (its first 200 characters)")
    count = serializers.IntegerField()


class AnalyticsGroupSerializer(serializers.Serializer):
    """One schedule's, collection group's, device group's or day's figures (id null: none)."""

    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    total = serializers.IntegerField()
    success = serializers.IntegerField()
    failed = serializers.IntegerField()
    missed_window = serializers.IntegerField()
    skipped = serializers.IntegerField()
    success_rate = serializers.FloatField(
        allow_null=True, help_text="success / results that were due (all but skipped)"
    )
    duration_p50_seconds = serializers.FloatField(allow_null=True)
    duration_p95_seconds = serializers.FloatField(allow_null=True)
    top_errors = ErrorCountSerializer(many=True)


class AnalyticsSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    group_by = serializers.CharField()
    groups = AnalyticsGroupSerializer(many=True)
