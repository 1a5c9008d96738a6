"""Admin of the alerts app: channels (secret write-only), rules, conditions, notifications."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from alerts.models import AlertCondition, Notification, NotificationChannel, NotificationRule
from alerts.services import can_manage_channels, channel_save


class NotificationChannelForm(forms.ModelForm):
    secret = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), strip=False,
        help_text="Webhook signing secret; leave empty to keep the stored one.",
    )
    clear_secret = forms.BooleanField(required=False, help_text="Remove the stored secret.")

    class Meta:
        model = NotificationChannel
        fields = ["name", "kind", "target", "preset", "enabled"]


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    form = NotificationChannelForm
    list_display = ["name", "kind", "preset", "enabled", "has_secret"]
    list_filter = ["kind", "enabled"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_manage_channels(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_manage_channels(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_manage_channels(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_manage_channels(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_manage_channels(request.user)

    def save_model(self, request: HttpRequest, obj: NotificationChannel, form: Any,
                   change: bool) -> None:
        secret = form.cleaned_data.get("secret") or None
        if form.cleaned_data.get("clear_secret"):
            secret = ""
        channel_save(channel=obj, secret=secret)


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "channel", "events", "failures_in_a_row", "enabled"]
    list_filter = ["enabled", "channel"]
    filter_horizontal = ["device_groups"]

    def get_queryset(self, request: HttpRequest) -> Any:
        rules = super().get_queryset(request)
        return rules if request.user.is_superuser else rules.filter(owner=request.user)

    def save_model(self, request: HttpRequest, obj: NotificationRule, form: Any,
                   change: bool) -> None:
        if not change and not obj.owner_id:
            obj.owner = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(AlertCondition)
class AlertConditionAdmin(admin.ModelAdmin):
    list_display = ["rule", "kind", "key", "opened_at", "closed_at"]
    list_filter = ["kind"]
    readonly_fields = ["rule", "kind", "key", "device", "opened_at", "closed_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "subject", "channel", "status", "attempts"]
    list_filter = ["status", "event"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
