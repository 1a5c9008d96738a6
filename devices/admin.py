"""Django admin for devices, device groups, collection groups and (read-only) results.

For non-superusers every group-scoped admin (devices, device groups, results, stored
configurations, credential sets) shows only what devices.access lets the user see, in its
lists, its forms' choices and its object pages: an object of another group is a 404, like a
missing one, before any permission is looked at.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import ForeignKey, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from devices.access import allowed_device_groups, restrict_credential_sets, restrict_through
from devices.collection.credentials import credential_set_set_secrets
from devices.collection.hostkeys import ACCEPT_ACTION, fingerprint
from devices.models import (
    CollectionGroup,
    CredentialSet,
    Device,
    DeviceBackup,
    DeviceBackupResult,
    DeviceGroup,
    MaintenanceWindow,
)
from devices.services import device_accept_offered_host_key


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
        fields = ["name", "username", "port", "device_group"]

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


class GroupScopedAdmin(admin.ModelAdmin):
    """An admin whose rows belong to device groups (`device_group_path` leads from the model to
    its group): non-superusers see only those of their groups, pick only their groups and
    their credential sets in forms, and get a 404 for anything else."""

    device_group_path = "device_group"

    def restrict(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        """The rows of `queryset` that `user` may see."""
        return restrict_through(queryset, user, device_group=self.device_group_path)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.restrict(super().get_queryset(request), request.user)

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:  # missing, or of a group the user may not see: the same answer
            raise Http404(f"No {self.opts.verbose_name} with id {object_id!r}.")
        return obj

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        user = request.user
        if not user.is_superuser:
            if db_field.related_model is DeviceGroup:
                kwargs["queryset"] = allowed_device_groups(user)
                kwargs["required"] = True  # a row without a group would leave the user's sight
            elif db_field.related_model is CredentialSet:
                kwargs["queryset"] = restrict_credential_sets(
                    CredentialSet.objects.all(), user, with_global=True
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(CredentialSet)
class CredentialSetAdmin(GroupScopedAdmin):
    """Credential sets: a superuser's global ones, and each device group's own. Others see and
    edit only the sets of their groups (the global ones they may only pick for a device)."""

    form = CredentialSetForm
    list_display = (
        "name", "device_group", "port", "password_set", "private_key_set", "updated_at",
    )
    list_select_related = ("device_group",)
    search_fields = ("name",)
    fieldsets = (
        (None, {"fields": ("name", "username", "port", "device_group")}),
        ("Password", {"fields": ("password", "clear_password")}),
        ("Private key", {"fields": ("private_key", "key_passphrase", "clear_private_key")}),
    )

    @admin.display(description="Password", boolean=True)
    def password_set(self, obj: CredentialSet) -> bool:
        return obj.has_password

    @admin.display(description="Private key", boolean=True)
    def private_key_set(self, obj: CredentialSet) -> bool:
        return obj.has_private_key

    def restrict(self, queryset: QuerySet[Any], user: Any) -> QuerySet[Any]:
        return restrict_credential_sets(queryset, user, with_global=False)


@admin.register(DeviceGroup)
class DeviceGroupAdmin(GroupScopedAdmin):
    device_group_path = "pk"
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
        from devices.dispatch.queues import collection_queue_name_from_group

        return collection_queue_name_from_group(obj)


@admin.register(Device)
class DeviceAdmin(GroupScopedAdmin):
    list_display = (
        "name", "ip_address", "enabled", "platform", "backup_schedule", "device_group",
        "collection_group", "next_backup",
    )
    list_filter = (
        "enabled", "platform", "backup_method", "backup_schedule",
        ("device_group", admin.RelatedOnlyFieldListFilter), "collection_group",
    )
    search_fields = ("name", "ip_address")
    list_select_related = ("backup_schedule", "device_group", "collection_group")
    autocomplete_fields = ("backup_schedule",)
    readonly_fields = ("ssh_host_key_fingerprint", "ssh_host_key_offered_fingerprint")
    actions = ["accept_offered_ssh_host_key"]

    @admin.display(description="Trusted SSH host key")
    def ssh_host_key_fingerprint(self, obj: Device) -> str:
        return fingerprint(obj.ssh_host_key) or "none yet"

    @admin.display(description="Offered SSH host key (refused)")
    def ssh_host_key_offered_fingerprint(self, obj: Device) -> str:
        if not obj.ssh_host_key_offered:
            return "none"
        return (f"{fingerprint(obj.ssh_host_key_offered)}: check it with the device's owner, "
                f'then use the action "{ACCEPT_ACTION}"')

    @admin.action(description=ACCEPT_ACTION, permissions=["change"])
    def accept_offered_ssh_host_key(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        accepted = [
            device for device in queryset.exclude(ssh_host_key_offered="")
            if device_accept_offered_host_key(device=device)
        ]
        if accepted:
            self.message_user(request, "Trusted the offered SSH host key of " + ", ".join(
                f"{device.name} ({fingerprint(device.ssh_host_key)})" for device in accepted
            ) + ".", messages.SUCCESS)
        else:
            self.message_user(request, "None of the selected devices offered a new SSH host key.",
                              messages.WARNING)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).with_next_backup()  # type: ignore[attr-defined,no-any-return]

    @admin.display(description="Next backup", ordering="next_backup")
    def next_backup(self, obj: Device) -> str:
        when = getattr(obj, "next_backup", None)  # DeviceQuerySet.with_next_backup
        if when is None:
            return "Not scheduled"
        return timezone.localtime(when).strftime("%Y-%m-%d %H:%M %Z")


@admin.register(DeviceBackupResult)
class DeviceBackupResultAdmin(GroupScopedAdmin):
    device_group_path = "device__device_group"
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
class DeviceBackupAdmin(GroupScopedAdmin):
    """Stored configurations, read-only (the text itself: the API's diff endpoint)."""

    device_group_path = "device__device_group"
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
        return super().get_queryset(request).defer("blob__text")  # type: ignore[no-any-return]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    """Maintenance windows (rules: schedules/policy.py). Everything a window holds shows in
    the results as `skipped`/`maintenance`, or later than planned when it defers."""

    list_display = ("name", "enabled", "schedule_type", "policy", "duration_minutes", "timezone")
    list_filter = ("enabled", "policy", "schedule_type")
    search_fields = ("name",)
    filter_horizontal = ("device_groups", "collection_groups")
    fieldsets = (
        (None, {"fields": ("name", "enabled", "policy", "duration_minutes")}),
        ("When it starts (its time zone, else the display timezone)", {
            "fields": ("schedule_type", "start", "hour", "minute", "day_of_week",
                       "day_of_month", "cron_expression", "timezone"),
        }),
        ("Scope (both empty: every device)", {"fields": ("device_groups",
                                                         "collection_groups")}),
    )
