"""The admin of the alerts app: channel secrets write-only and encrypted, rules per owner."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alerts.models import NotificationChannel

pytestmark = pytest.mark.django_db


def test_a_channel_secret_set_in_the_admin_is_stored_encrypted_and_never_shown(
    fleet: dict[str, Any],
) -> None:
    client = Client()
    client.force_login(fleet["users"]["superuser"])
    response = client.post("/admin/alerts/notificationchannel/add/", {
        "name": "hook", "kind": "webhook", "target": "https://hooks.example.com/x",
        "preset": "generic", "enabled": "on", "secret": "admin-s3cret",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    channel = NotificationChannel.objects.get()
    assert channel.has_secret and "admin-s3cret" not in channel.secret_encrypted
    page = client.get(f"/admin/alerts/notificationchannel/{channel.pk}/change/").content.decode()
    assert "admin-s3cret" not in page and channel.secret_encrypted not in page
    client.post(f"/admin/alerts/notificationchannel/{channel.pk}/change/", {
        "name": "hook", "kind": "webhook", "target": "https://hooks.example.com/x",
        "preset": "generic", "enabled": "on", "secret": "",
    })
    channel.refresh_from_db()
    assert channel.has_secret  # an empty field keeps the stored secret


def test_users_who_are_not_staff_cannot_open_the_channels_admin(fleet: dict[str, Any]) -> None:
    from django.contrib.auth.models import Permission

    staff = fleet["users"]["staff"]
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/alerts/notificationchannel/").status_code == 200
    staff.is_staff = False
    staff.save()
    staff.user_permissions.set(Permission.objects.filter(codename__endswith="notificationchannel"))
    assert client.get("/admin/alerts/notificationchannel/").status_code == 302  # to the login
