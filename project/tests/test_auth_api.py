"""Authentication: API tokens, the browser session (with CSRF) and refusing anonymous calls."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from knox.models import AuthToken

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"
SESSION = "/api/auth/session/"
SESSION_KEYS = {"authenticated", "user", "display_timezone"}
USER_KEYS = {"id", "username", "is_staff", "is_superuser", "can_change_devices"}
PROTECTED = [
    ("get", "/api/devices/"),
    ("get", "/api/backup-schedules/"),
    ("post", "/api/backup-schedules/"),
    ("get", "/api/scheduled-backups/calendar/"),
    ("get", "/api/scheduled-backups/history/"),
    ("post", "/api/scheduled-backups/bulk-assign/"),
    ("get", "/api/scheduler/status/"),
]


def csrf_client() -> Client:
    """A browser-like client: Django's test client with CSRF checks switched on."""
    return Client(enforce_csrf_checks=True)


def csrf_token(client: Client) -> str:
    response = client.get(SESSION)
    assert response.status_code == 200
    return response.cookies["csrftoken"].value


# -- tokens ----------------------------------------------------------------------------------


def test_token_for_valid_credentials_authenticates_api_calls(fleet: dict[str, Any]) -> None:
    client = Client()
    response = client.post(
        TOKEN, {"username": "viewer", "password": "pw-viewer-123"},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    assert AuthToken.objects.filter(user=fleet["users"]["viewer"]).count() == 1
    again = client.post(
        TOKEN, {"username": "viewer", "password": "pw-viewer-123"},
        content_type="application/json",
    )
    # Tokens are stored hashed and cannot be shown twice: each request gets a new one.
    assert again.status_code == 200 and again.json()["token"] != body["token"]

    api = Client(HTTP_AUTHORIZATION=f"Token {body['token']}")
    listed = api.get("/api/devices/")
    assert listed.status_code == 200
    assert {d["name"] for d in listed.json()["results"]} == {"Core-Router-01", "Core-Router-02"}
    # Token-authenticated writes need no CSRF token.
    daily = fleet["schedules"]["daily"]
    _, staff_token = AuthToken.objects.create(user=fleet["users"]["staff"])
    staff_api = Client(HTTP_AUTHORIZATION=f"Token {staff_token}", enforce_csrf_checks=True)
    response = staff_api.patch(
        f"/api/devices/{fleet['devices']['core1'].pk}/", {"backup_schedule_id": daily.pk},
        content_type="application/json",
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"username": "viewer", "password": "wrong"},
        {"username": "ghost", "password": "pw-viewer-123"},
        {"username": "viewer"},
        {"password": "pw-viewer-123"},
        {"username": 5, "password": "pw-viewer-123"},
        {},
        [],
    ],
)
def test_token_with_bad_credentials_is_400(fleet: dict[str, Any], body: Any) -> None:
    response = Client().post(TOKEN, body, content_type="application/json")
    assert response.status_code == 400
    assert not AuthToken.objects.exists()


def test_inactive_user_gets_no_token(fleet: dict[str, Any]) -> None:
    viewer = fleet["users"]["viewer"]
    viewer.is_active = False
    viewer.save()
    response = Client().post(
        TOKEN, {"username": "viewer", "password": "pw-viewer-123"},
        content_type="application/json",
    )
    assert response.status_code == 400


def test_bad_token_is_refused(fleet: dict[str, Any]) -> None:
    response = Client(HTTP_AUTHORIZATION="Token nope").get("/api/devices/")
    assert response.status_code in (401, 403)


@pytest.mark.parametrize(("method", "url"), PROTECTED)
def test_anonymous_requests_are_401_or_403(fleet: dict[str, Any], method: str, url: str) -> None:
    response = getattr(Client(), method)(url, {}, content_type="application/json") if (
        method == "post"
    ) else Client().get(url)
    assert response.status_code in (401, 403)


# -- session -------------------------------------------------------------------------------


def test_anonymous_session_is_200_with_a_csrf_cookie(fleet: dict[str, Any]) -> None:
    response = Client().get(SESSION)
    assert response.status_code == 200
    assert response.json() == {
        "authenticated": False,
        "user": None,
        "display_timezone": settings.DEVICEVAULT.display_timezone,
    }
    assert response.cookies["csrftoken"].value


def test_session_get_is_200_even_with_odd_query_parameters(fleet: dict[str, Any]) -> None:
    assert Client().get(f"{SESSION}?colour=blue&page=x").status_code == 200


def test_login_with_csrf_token_then_session_then_logout(fleet: dict[str, Any]) -> None:
    client = csrf_client()
    token = csrf_token(client)
    response = client.post(
        SESSION, {"username": "staff", "password": "pw-staff-123"},
        content_type="application/json", HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == SESSION_KEYS and set(body["user"]) == USER_KEYS
    assert body["authenticated"] is True
    assert body["user"] == {
        "id": fleet["users"]["staff"].pk, "username": "staff", "is_staff": True,
        "is_superuser": False, "can_change_devices": True,
    }
    assert "sessionid" in response.cookies

    again = client.get(SESSION).json()
    assert again["authenticated"] is True and again["user"]["username"] == "staff"
    assert client.get("/api/devices/").status_code == 200

    new_token = client.cookies["csrftoken"].value  # rotated by login
    assert client.delete(SESSION, HTTP_X_CSRFTOKEN=new_token).status_code == 204
    assert client.get(SESSION).json()["authenticated"] is False
    assert client.get("/api/devices/").status_code in (401, 403)


def test_session_user_flags(fleet: dict[str, Any]) -> None:
    client = Client()
    client.force_login(fleet["users"]["viewer"])
    user = client.get(SESSION).json()["user"]
    assert user["is_staff"] is False and user["can_change_devices"] is False
    client.force_login(fleet["users"]["superuser"])
    user = client.get(SESSION).json()["user"]
    assert user["is_superuser"] is True and user["can_change_devices"] is True


def test_login_without_csrf_token_is_403(fleet: dict[str, Any]) -> None:
    client = csrf_client()
    csrf_token(client)
    response = client.post(
        SESSION, {"username": "staff", "password": "pw-staff-123"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert client.get(SESSION).json()["authenticated"] is False


@pytest.mark.parametrize(
    "body", [{"username": "staff", "password": "nope"}, {"username": "who", "password": "x"}]
)
def test_login_with_bad_credentials_is_400_with_the_promised_message(
    fleet: dict[str, Any], body: dict[str, str]
) -> None:
    client = csrf_client()
    response = client.post(
        SESSION, body, content_type="application/json", HTTP_X_CSRFTOKEN=csrf_token(client)
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid username or password."}


@pytest.mark.parametrize(
    "body", [{}, {"username": "staff"}, [], {"username": ["a"], "password": 1}]
)
def test_login_with_malformed_body_is_400(fleet: dict[str, Any], body: Any) -> None:
    client = csrf_client()
    response = client.post(
        SESSION, body, content_type="application/json", HTTP_X_CSRFTOKEN=csrf_token(client)
    )
    assert response.status_code == 400


def test_session_writes_need_the_csrf_token(fleet: dict[str, Any]) -> None:
    client = csrf_client()
    token = csrf_token(client)
    client.post(
        SESSION, {"username": "staff", "password": "pw-staff-123"},
        content_type="application/json", HTTP_X_CSRFTOKEN=token,
    )
    token = client.cookies["csrftoken"].value
    url = f"/api/devices/{fleet['devices']['core1'].pk}/"
    refused = client.patch(url, {"backup_schedule_id": None}, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    fleet["devices"]["core1"].refresh_from_db()
    assert fleet["devices"]["core1"].backup_schedule_id is not None
    accepted = client.patch(
        url, {"backup_schedule_id": None}, content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert accepted.status_code == 200
    assert client.delete(SESSION).status_code == 403  # logout is CSRF-checked too


def test_anonymous_logout_is_204(fleet: dict[str, Any]) -> None:
    assert Client().delete(SESSION).status_code == 204
