"""Django admin for devices, device groups, collection groups and (read-only) results."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from devices.credentials import credential_set_set_secrets
from devices.models import (
    CollectionGroup,
    CredentialSet,
    Device,
    DeviceBackup,
    DeviceBackupResult,
    DeviceGroup,
)


class CredentialSetForm(forms.ModelForm):
    """Secrets are write-only: the form never shows them, an empty field keeps what is stored,
    and "clear" removes it."""

    password = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Leave empty to keep the stored password.",
    )
    clear_password = forms.BooleanField(required=False, label="Remove the stored password")
    private_key = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text="Write-only: paste an OpenSSH or PEM private key (Ed25519, ECDSA, RSA). "
        "Leave empty to keep the stored key.",
    )
    key_passphrase = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: the private key's passphrase, if it has one.",
    )
    clear_private_key = forms.BooleanField(
        required=False, label="Remove the stored private key and passphrase"
    )

    class Meta:
        model = CredentialSet
        fields = ["name", "username", "port"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        instance = self.instance
        has_password = (instance.has_password and not data.get("clear_password")) or bool(
            data.get("password")
        )
        has_key = (instance.has_private_key and not data.get("clear_private_key")) or bool(
            (data.get("private_key") or "").strip()
        )
        if not has_password and not has_key:
            raise forms.ValidationError("Give a password, a private key, or both.")
        return data

    def save(self, commit: bool = True) -> CredentialSet:
        credentials: CredentialSet = super().save(commit=False)
        data = self.cleaned_data
        credential_set_set_secrets(
            credentials=credentials,
            password="" if data.get("clear_password") else (data.get("password") or None),
            private_key="" if data.get("clear_private_key")
            else ((data.get("private_key") or "").strip() or None),
            key_passphrase="" if data.get("clear_private_key")
            else (data.get("key_passphrase") or None),
        )
        if commit:
            credentials.save()
        return credentials


@admin.register(CredentialSet)
class CredentialSetAdmin(admin.ModelAdmin):
    form = CredentialSetForm
    list_display = ("name", "port", "password_set", "private_key_set", "updated_at")
    search_fields = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "username", "port")}),
        ("Password", {"fields": ("password", "clear_password")}),
        ("Private key", {"fields": ("private_key", "key_passphrase", "clear_private_key")}),
    )

    @admin.display(description="Password", boolean=True)
    def password_set(self, obj: CredentialSet) -> bool:
        return obj.has_password

    @admin.display(description="Private key", boolean=True)
    def private_key_set(self, obj: CredentialSet) -> bool:
        return obj.has_private_key


@admin.register(DeviceGroup)
class DeviceGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "credential_set")
    search_fields = ("name",)
    filter_horizontal = ("user_groups",)
    list_select_related = ("credential_set",)


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
        "name", "ip_address", "enabled", "platform", "backup_schedule", "device_group",
        "collection_group", "next_backup",
    )
    list_filter = (
        "enabled", "platform", "backup_method", "backup_schedule", "device_group",
        "collection_group",
    )
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
        "device", "schedule_shown", "scheduled_for", "status", "is_catchup", "manual",
        "attempts", "queued_at", "finished_at",
    )
    list_filter = ("status", "is_catchup", "manual", "schedule")
    search_fields = ("device__name", "schedule_name")
    date_hierarchy = "scheduled_for"
    list_select_related = ("device", "schedule")

    @admin.display(description="Schedule", ordering="schedule_name")
    def schedule_shown(self, obj: DeviceBackupResult) -> str:
        if obj.schedule_id is None and obj.schedule_name:
            return f"{obj.schedule_name} (deleted)"
        return obj.schedule_label

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False



@admin.register(DeviceBackup)
class DeviceBackupAdmin(admin.ModelAdmin):
    """Stored configurations, read-only (the text itself: the API's diff endpoint)."""

    list_display = ("device", "collected_at", "short_hash", "size", "changed", "result")
    list_filter = ("changed",)
    search_fields = ("device__name", "blob__sha256")
    date_hierarchy = "collected_at"
    list_select_related = ("device", "blob", "result")
    fields = ("device", "result", "collected_at", "blob", "previous", "changed")
    readonly_fields = fields

    @admin.display(description="SHA-256")
    def short_hash(self, obj: DeviceBackup) -> str:
        return obj.blob_id[:12]

    @admin.display(description="Bytes", ordering="blob__size")
    def size(self, obj: DeviceBackup) -> int:
        return obj.blob.size

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("blob__text")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
