"""`GET /api/scheduler/status/`: SchedulerState and the leader lock, never a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from beat.lock import LOCK_KEY
from beat.models import SchedulerState

pytestmark = pytest.mark.django_db

URL = "/api/scheduler/status/"
KEYS = {"is_running", "scheduler_pid", "last_tick", "last_restart_at", "lock"}
LOCK_KEYS = {"held", "host", "pid", "ttl_seconds"}


def test_no_lock_and_no_beat_yet(fleet: dict[str, Any], api_client: Any, redis_db: Any) -> None:
    response = api_client(fleet["users"]["nobody"]).get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "is_running": False,
        "scheduler_pid": None,
        "last_tick": None,
        "last_restart_at": None,
        "lock": {"held": False, "host": None, "pid": None, "ttl_seconds": None},
    }


def test_running_beat_holding_the_lock(
    fleet: dict[str, Any], api_client: Any, redis_db: Any
) -> None:
    state = SchedulerState.load()
    state.is_running = True
    state.scheduler_pid = 4242
    state.last_tick = datetime(2027, 6, 7, 1, 2, 3, tzinfo=UTC)
    state.last_restart_at = datetime(2027, 6, 7, 0, 0, tzinfo=UTC)
    state.save()
    value = {"host": "beat-host", "pid": 4242, "token": "t", "acquired_at": "2027-06-07T00:00:00Z"}
    redis_db.set(LOCK_KEY, json.dumps(value), px=150_000)

    body = api_client(fleet["users"]["viewer"]).get(URL).json()
    assert set(body) == KEYS and set(body["lock"]) == LOCK_KEYS
    assert body["is_running"] is True and body["scheduler_pid"] == 4242
    assert body["last_tick"] == "2027-06-07T01:02:03Z"
    assert body["last_restart_at"] == "2027-06-07T00:00:00Z"
    lock = body["lock"]
    assert (lock["held"], lock["host"], lock["pid"]) == (True, "beat-host", 4242)
    assert 140 < lock["ttl_seconds"] <= 150
    assert "token" not in json.dumps(body)  # the owner's token is no one else's business


def test_redis_unreachable_is_200_with_lock_error(
    fleet: dict[str, Any], api_client: Any, monkeypatch: Any
) -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    monkeypatch.setattr("beat.api.redis_client", lambda: dead)
    response = api_client(fleet["users"]["viewer"]).get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["lock"] == {"held": None, "host": None, "pid": None, "ttl_seconds": None}
    assert isinstance(body["lock_error"], str) and body["lock_error"]
    assert body["is_running"] is False


@pytest.mark.parametrize("role", ["superuser", "staff", "viewer", "branch", "nobody"])
def test_every_logged_in_user_may_read_it(
    fleet: dict[str, Any], api_client: Any, redis_db: Any, role: str
) -> None:
    assert api_client(fleet["users"][role]).get(URL).status_code == 200


def test_anonymous_may_not(fleet: dict[str, Any], api_client: Any) -> None:
    assert api_client().get(URL).status_code in (401, 403)


def test_unknown_query_parameter_is_400(
    fleet: dict[str, Any], api_client: Any, redis_db: Any
) -> None:
    response = api_client(fleet["users"]["viewer"]).get(f"{URL}?verbose=1")
    assert response.status_code == 400 and "verbose" in response.json()


def test_writes_are_not_allowed(fleet: dict[str, Any], api_client: Any) -> None:
    assert api_client(fleet["users"]["superuser"]).post(URL, {}).status_code == 405
