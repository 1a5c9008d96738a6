"""Serializers of the devices and scheduled-backups API (shapes fixed by DESIGN.md)."""

from __future__ import annotations

from rest_framework import serializers

from devices.models import Device, DeviceBackup, DeviceBackupResult
from project.api import IdField, RejectUnknownFieldsMixin, UtcDateTimeField
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


class DeviceSerializer(serializers.ModelSerializer):
    """A device with its groups and its backup schedule (each nested, or null)."""

    ip_address = serializers.CharField(read_only=True)
    device_group = NamedRefSerializer(read_only=True, allow_null=True)
    collection_group = NamedRefSerializer(read_only=True, allow_null=True)
    backup_schedule = NestedBackupScheduleSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Device
        fields = [
            "id", "name", "ip_address", "enabled", "device_group", "collection_group",
            "backup_schedule",
        ]
        read_only_fields = fields


class DeviceScheduleAssignSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """The one thing the API changes on a device: its backup schedule."""

    backup_schedule_id = IdField(
        required=False, allow_null=True,
        help_text="The backup schedule to assign, or null to clear it",
    )

    def validate_backup_schedule_id(self, value: int | None) -> BackupSchedule | None:
        return _schedule_or_error(value)


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


class BackupDiffSerializer(serializers.Serializer):
    backup_id = serializers.IntegerField()
    previous_id = serializers.IntegerField(
        allow_null=True, help_text="null: this is the device's first backup"
    )
    diff = serializers.CharField(
        help_text="Unified diff from the previous backup (from /dev/null for the first one); "
        "empty when nothing changed"
    )
