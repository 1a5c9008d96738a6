"""Django admin for devices, device groups, collection groups and (read-only) results."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from devices.models import CollectionGroup, Device, DeviceBackupResult, DeviceGroup


@admin.register(DeviceGroup)
class DeviceGroupAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
    filter_horizontal = ("user_groups",)


@admin.register(CollectionGroup)
class CollectionGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "queue", "concurrency_limit")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    @admin.display(description="Queue")
    def queue(self, obj: CollectionGroup) -> str:
        from devices.queues import collection_queue_name_from_group

        return collection_queue_name_from_group(obj)


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = (
        "name", "ip_address", "enabled", "backup_schedule", "device_group", "collection_group",
        "next_backup",
    )
    list_filter = ("enabled", "backup_schedule", "device_group", "collection_group")
    search_fields = ("name", "ip_address")
    list_select_related = ("backup_schedule", "device_group", "collection_group")
    autocomplete_fields = ("backup_schedule",)

    @admin.display(description="Next backup", ordering="backup_schedule__next_run_at")
    def next_backup(self, obj: Device) -> str:
        schedule = obj.backup_schedule
        if not obj.enabled or schedule is None or schedule.next_run_at is None:
            return "Not scheduled"
        return timezone.localtime(schedule.next_run_at).strftime("%Y-%m-%d %H:%M %Z")


@admin.register(DeviceBackupResult)
class DeviceBackupResultAdmin(admin.ModelAdmin):
    list_display = (
        "device", "schedule", "scheduled_for", "status", "is_catchup", "manual", "queued_at",
        "finished_at",
    )
    list_filter = ("status", "is_catchup", "manual", "schedule")
    search_fields = ("device__name",)
    date_hierarchy = "scheduled_for"
    list_select_related = ("device", "schedule")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

