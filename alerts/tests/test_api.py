"""The alerts API: who may see and change channels and rules, write-only secrets, per-field
400s, and the test send (to a real local HTTP receiver)."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.models import NotificationChannel
from alerts.signing import SIGNATURE_HEADER, verify

pytestmark = pytest.mark.django_db

CHANNELS = "/api/notification-channels/"
RULES = "/api/notification-rules/"


def test_staff_create_a_webhook_channel_whose_secret_is_never_returned(
    fleet: dict[str, Any], api_client: Any,
) -> None:
    staff = api_client(fleet["users"]["staff"])
    response = staff.post(CHANNELS, {
        "name": "noc hook", "kind": "webhook", "target": "https://hooks.example.com/T1/abc",
        "secret": "s3cret", "preset": "slack",
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert "secret" not in body and body["has_secret"] is True
    channel = NotificationChannel.objects.get()
    assert channel.secret_encrypted and "s3cret" not in channel.secret_encrypted
    listed = staff.get(CHANNELS).json()["results"][0]
    assert "secret" not in listed and listed["target"] == "https://hooks.example.com/T1/abc"
    # A user who is not staff reads the channel (to pick it) without the URL's token.
    viewer = api_client(fleet["users"]["viewer"]).get(CHANNELS).json()["results"][0]
    assert viewer["target"] == "https://hooks.example.com/…"
    # Changing the name keeps the secret; "" clears it.
    assert staff.patch(f"{CHANNELS}{channel.pk}/", {"name": "noc"}, format="json").json()[
        "has_secret"] is True
    assert staff.patch(f"{CHANNELS}{channel.pk}/", {"secret": ""}, format="json").json()[
        "has_secret"] is False


def test_only_staff_write_channels(fleet: dict[str, Any], api_client: Any) -> None:
    viewer = api_client(fleet["users"]["viewer"])
    response = viewer.post(CHANNELS, {"name": "x", "kind": "email",
                                      "target": "a@example.com"}, format="json")
    assert response.status_code == 403
    assert api_client(None).get(CHANNELS).status_code in (401, 403)


@pytest.mark.parametrize(("payload", "field"), [
    ({"name": "m", "kind": "email", "target": "not an address"}, "target"),
    ({"name": "m", "kind": "webhook", "target": "ftp://example.com/x"}, "target"),
    ({"name": "m", "kind": "pager", "target": "https://example.com/"}, "kind"),
    ({"name": "", "kind": "email", "target": "a@example.com"}, "name"),
    ({"name": "m", "kind": "email", "target": "a@example.com", "colour": 1}, "colour"),
    ({"name": "m", "kind": "webhook", "target": "https://example.com/", "secret": 5}, "secret"),
])
def test_bad_channels_are_400_naming_the_field(
    fleet: dict[str, Any], api_client: Any, payload: dict[str, Any], field: str,
) -> None:
    response = api_client(fleet["users"]["staff"]).post(CHANNELS, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_rules_belong_to_their_owner(
    fleet: dict[str, Any], api_client: Any, make_channel: Any,
) -> None:
    channel = make_channel(kind="email", target="noc@example.com")
    users = fleet["users"]
    viewer = api_client(users["viewer"])
    core = fleet["device_groups"]["core"].pk
    response = viewer.post(RULES, {
        "name": "core failures", "channel": channel.pk, "events": ["recovered", "backup_failed"],
        "device_groups": [core], "failures_in_a_row": 3,
    }, format="json")
    assert response.status_code == 201, response.json()
    rule = response.json()
    assert rule["owner"] == "viewer" and rule["events"] == ["backup_failed", "recovered"]
    assert rule["device_groups"] == [core] and rule["failures_in_a_row"] == 3
    branch = api_client(users["branch"])
    assert branch.get(RULES).json()["count"] == 0
    assert branch.patch(f"{RULES}{rule['id']}/", {"enabled": False},
                        format="json").status_code == 404
    assert api_client(users["superuser"]).get(RULES).json()["count"] == 1
    assert viewer.patch(f"{RULES}{rule['id']}/", {"enabled": False},
                        format="json").json()["enabled"] is False
    assert viewer.delete(f"{RULES}{rule['id']}/").status_code == 204


@pytest.mark.parametrize(("change", "field"), [
    ({"events": []}, "events"),
    ({"events": ["backup_failed", "backup_failed"]}, "events"),
    ({"events": ["fire"]}, "events"),
    ({"device_groups": ["branch"]}, "device_groups"),
    ({"failures_in_a_row": 0}, "failures_in_a_row"),
    ({"failures_in_a_row": "2"}, "failures_in_a_row"),
    ({"channel": 999999}, "channel"),
])
def test_bad_rules_are_400_naming_the_field(
    fleet: dict[str, Any], api_client: Any, make_channel: Any, change: dict[str, Any],
    field: str,
) -> None:
    channel = make_channel()
    payload = {"name": "r", "channel": channel.pk, "events": ["stale"], **change}
    if change.get("device_groups") == ["branch"]:  # a group the viewer may not see
        payload["device_groups"] = [fleet["device_groups"]["branch"].pk]
    response = api_client(fleet["users"]["viewer"]).post(RULES, payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()


def test_test_send_posts_a_signed_message_to_the_receiver(
    fleet: dict[str, Any], api_client: Any, make_channel: Any, receiver: Any, redis_db: Any,
) -> None:
    channel = make_channel(target=receiver.url, secret="k3y")
    staff = api_client(fleet["users"]["staff"])
    response = staff.post(f"{CHANNELS}{channel.pk}/test/")
    assert response.status_code == 200 and response.json()["status"] == "sent"
    [request] = receiver.requests
    assert verify(request["body"], "k3y", request["headers"][SIGNATURE_HEADER.lower()])
    body = receiver.delivered()[0]
    assert set(body) == {"event", "fired_at", "device", "schedule", "result_id", "message"}
    assert body["event"] == "test" and body["fired_at"].endswith("Z")
    listed = staff.get("/api/notifications/").json()["results"]
    assert [(n["event"], n["status"]) for n in listed] == [("test", "sent")]
    assert api_client(fleet["users"]["viewer"]).get("/api/notifications/").json()["count"] == 0
    assert api_client(fleet["users"]["viewer"]).post(
        f"{CHANNELS}{channel.pk}/test/").status_code == 403
    assert 'devicevault_notifications_sent_total{kind="webhook"} 1.0' in api_client(
        None).get("/metrics").content.decode()


def test_a_failing_test_send_says_why(
    fleet: dict[str, Any], api_client: Any, make_channel: Any, receiver: Any,
) -> None:
    receiver.statuses = [500]
    channel = make_channel(target=receiver.url)
    response = api_client(fleet["users"]["staff"]).post(f"{CHANNELS}{channel.pk}/test/")
    assert response.json()["status"] == "failed"
    assert response.json()["error"].startswith("http 500")


def test_the_device_groups_a_rule_may_name_are_those_the_user_sees(
    fleet: dict[str, Any], api_client: Any,
) -> None:
    answer = api_client(fleet["users"]["viewer"]).get(f"{RULES}device-groups/").json()
    assert answer == [{"id": fleet["device_groups"]["core"].pk, "name": "core"}]
    everything = api_client(fleet["users"]["superuser"]).get(f"{RULES}device-groups/").json()
    assert [g["name"] for g in everything] == ["branch", "core"]
