"""Login throttling, expiring hashed tokens and logout, through the real endpoints.

Issue 14, finding 3: 200 wrong passwords then the right one worked at once; logout did not
revoke the token; tokens were listed in clear text in the admin.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "/api/auth/token/"
SESSION = "/api/auth/session/"
LOGOUT = "/api/auth/logout/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def clean_redis(redis_db: Any) -> None:
    """The throttle keeps its counts in Redis: every test starts with none."""


def token_request(username: str, password: str) -> Any:
    return Client().post(
        TOKEN, {"username": username, "password": password}, content_type="application/json"
    )


def session_login(client: Client, username: str, password: str) -> Any:
    csrf = client.get(SESSION).cookies["csrftoken"].value
    return client.post(
        SESSION, {"username": username, "password": password},
        content_type="application/json", HTTP_X_CSRFTOKEN=csrf,
    )


def admin_login(client: Client, username: str, password: str) -> Any:
    csrf = client.get(ADMIN_LOGIN).cookies["csrftoken"].value
    return client.post(
        ADMIN_LOGIN,
        {"username": username, "password": password, "csrfmiddlewaretoken": csrf,
         "next": "/admin/"},
    )


def assert_locked(response: Any) -> None:
    assert response.status_code == 429, response.content[:300]
    assert 1 <= int(response["Retry-After"]) <= 15 * 60


# -- throttling ------------------------------------------------------------------------------


def test_sixth_token_request_after_five_failures_is_429_even_with_the_right_password(
    fleet: dict[str, Any],
) -> None:
    for _ in range(5):
        assert token_request("staff", "wrong").status_code == 400
    locked = token_request("staff", "pw-staff-123")
    assert_locked(locked)
    assert "Too many failed logins" in locked.json()["detail"]
    assert token_request("staff", "still-wrong").status_code == 429
    # Another username is not affected.
    assert token_request("viewer", "pw-viewer-123").status_code == 200


def test_session_login_of_the_spa_is_locked_after_five_failures(fleet: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    for _ in range(5):
        assert session_login(client, "staff", "wrong").status_code == 400
    locked = session_login(client, "staff", "pw-staff-123")
    assert_locked(locked)
    assert client.get(SESSION).json()["authenticated"] is False


def test_admin_login_is_locked_after_five_failures_and_says_why(fleet: dict[str, Any]) -> None:
    client = Client(enforce_csrf_checks=True)
    for _ in range(5):
        response = admin_login(client, "root", "wrong")
        assert response.status_code == 200 and b"correct username and password" in (
            response.content
        )
    locked = admin_login(client, "root", "pw-root-123")
    assert_locked(locked)
    assert b"Too many failed logins for this username" in locked.content
    assert "_auth_user_id" not in client.session


def test_failures_count_across_endpoints_for_one_username(fleet: dict[str, Any]) -> None:
    for _ in range(3):
        token_request("staff", "wrong")
    client = Client(enforce_csrf_checks=True)
    for _ in range(2):
        admin_login(client, "staff", "wrong")
    assert_locked(token_request("staff", "pw-staff-123"))


def test_a_success_before_the_limit_clears_the_failures(fleet: dict[str, Any]) -> None:
    for _ in range(4):
        token_request("staff", "wrong")
    assert token_request("staff", "pw-staff-123").status_code == 200
    for _ in range(4):
        token_request("staff", "wrong")
    assert token_request("staff", "pw-staff-123").status_code == 200


def test_lock_ends_fifteen_minutes_after_the_oldest_counted_failure(redis_db: Any) -> None:
    from project.login_throttle import begin_attempt

    t0 = 1_000_000.0
    for i in range(5):
        assert begin_attempt("alice", now=t0 + i * 60) == 0
    assert begin_attempt("alice", now=t0 + 300) == 600  # oldest at t0, window 900 s
    assert begin_attempt("alice", now=t0 + 899) == 1
    assert begin_attempt("alice", now=t0 + 901) == 0  # t0 left the window: one slot free
    assert begin_attempt("alice", now=t0 + 902) > 0


def test_failures_recorded_by_another_process_lock_the_username(fleet: dict[str, Any]) -> None:
    """Counts live in Redis: another gunicorn worker's failures count here too."""
    code = (
        "import django; django.setup()\n"
        "from project.login_throttle import begin_attempt\n"
        "print([begin_attempt('staff') for _ in range(6)])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("[0, 0, 0, 0, 0, ")
    assert_locked(token_request("staff", "pw-staff-123"))


def test_login_refused_log_line_does_not_contain_what_was_typed(
    fleet: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    typed = "Hunter2-typed-as-username"
    with caplog.at_level(logging.INFO):
        for _ in range(6):
            token_request(typed, "x")
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("login refused: user_hash=") for line in lines), lines
    assert any(line.startswith("login locked: user_hash=") for line in lines), lines
    assert not any(typed in line for line in lines)
    assert not any(typed in key.decode() for key in
                   __import__("project.redis_client", fromlist=["x"]).redis_client().keys("*"))


# -- tokens ----------------------------------------------------------------------------------


def test_token_is_stored_hashed_and_expires_at_is_in_the_response(fleet: dict[str, Any]) -> None:
    from knox.models import AuthToken

    before = timezone.now()
    response = token_request("viewer", "pw-viewer-123")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    assert body["expires_at"].endswith("Z")
    stored = AuthToken.objects.get(user=fleet["users"]["viewer"])
    assert stored.expiry is not None and stored.expiry > before + timedelta(hours=1)
    assert abs((stored.expiry - timezone.datetime.fromisoformat(body["expires_at"]))
               .total_seconds()) < 1
    assert body["token"] not in (stored.digest, stored.token_key)
    assert len(body["token"]) >= 64


def test_expired_token_is_refused(fleet: dict[str, Any]) -> None:
    from knox.models import AuthToken

    token = token_request("viewer", "pw-viewer-123").json()["token"]
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/devices/").status_code == 200
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert api.get("/api/devices/").status_code in (401, 403)
    assert not AuthToken.objects.exists()  # an expired token is deleted when met


def test_logout_revokes_the_token_used_and_only_that_one(fleet: dict[str, Any]) -> None:
    first = token_request("viewer", "pw-viewer-123").json()["token"]
    second = token_request("viewer", "pw-viewer-123").json()["token"]
    assert first != second
    api = Client(HTTP_AUTHORIZATION=f"Token {first}", enforce_csrf_checks=True)
    assert api.post(LOGOUT).status_code == 204
    assert api.get("/api/devices/").status_code in (401, 403)
    assert api.post(LOGOUT).status_code in (401, 403)
    other = Client(HTTP_AUTHORIZATION=f"Token {second}")
    assert other.get("/api/devices/").status_code == 200


def test_logout_without_credentials_is_refused(fleet: dict[str, Any]) -> None:
    assert Client().post(LOGOUT).status_code in (401, 403)


def test_admin_lists_tokens_without_their_clear_text(fleet: dict[str, Any]) -> None:
    token = token_request("viewer", "pw-viewer-123").json()["token"]
    admin = Client()
    admin.force_login(fleet["users"]["superuser"])
    listing = admin.get("/admin/knox/authtoken/")
    assert listing.status_code == 200
    assert b"viewer" in listing.content
    assert token.encode() not in listing.content
    assert admin.get("/admin/authtoken/tokenproxy/").status_code == 404  # DRF's clear tokens


def test_logins_still_work_unthrottled_when_redis_cannot_be_reached(
    fleet: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import redis

    from project import login_throttle

    nowhere = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)  # nothing listens
    monkeypatch.setattr(login_throttle, "_client", lambda: nowhere)
    for _ in range(6):
        assert token_request("staff", "wrong").status_code == 400
    assert token_request("staff", "pw-staff-123").status_code == 200
    assert any("login throttle unavailable" in r.getMessage() for r in caplog.records)
