"""Fixtures for tests that run real beat and worker processes against the test database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from tests.support.private_services import PrivateSentinels
from tests.support.processes import Processes


def _database_url() -> str:
    db = settings.DATABASES["default"]
    if "sqlite" in db["ENGINE"]:
        return f"sqlite:///{db['NAME']}"  # the test database file (settings: TEST NAME)
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    auth = f"{user}:{db['PASSWORD']}" if db.get("PASSWORD") else user
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def beat_config(tmp_path: Path) -> Any:
    """Write a config file for the child processes; returns a function to (re)write it."""
    path = tmp_path / "config.yaml"

    def write(collection: dict[str, Any] | None = None, **scheduler: Any) -> Path:
        data: dict[str, Any] = {
            "display_timezone": "Australia/Sydney",
            "scheduler": {"enabled": True, "restart_window_minutes": 120,
                          "lock_ttl_seconds": 6, **scheduler},
        }
        if collection:
            data["collection"] = collection
        path.write_text(yaml.safe_dump(data))
        return path

    write()
    return write


@pytest.fixture
def procs(
    transactional_db: None, redis_db: Any, beat_config: Any, tmp_path: Path
) -> Iterator[Processes]:
    """Start real processes sharing this test's database and Redis; all stopped afterwards."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DEVICEVAULT_CONFIG": str(tmp_path / "config.yaml"),
        "DEVICEVAULT_VAR_DIR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
        "C_FORCE_ROOT": "1",
    }
    env.pop("DEVICEVAULT_DISPLAY_TIMEZONE", None)
    processes = Processes(env, tmp_path)
    yield processes
    processes.stop_all()


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[PrivateSentinels]:
    """A Sentinel-managed master/replica pair of our own (tests.support.private_services)."""
    group = PrivateSentinels(tmp_path / "sentinels")
    yield group
    group.stop()
