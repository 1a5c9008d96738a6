"""Shared pytest fixtures: users in the access-control matrix and a small fleet factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest_plugins = ["tests.support.process_fixtures", "tests.support.rabbitmq"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Hash test passwords cheaply: the fleet's five users cost seconds with PBKDF2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def forget_failed_logins() -> Iterator[None]:
    """Failed logins are counted in Redis: one test's failures must not lock the next one's
    user out (project.login_throttle)."""
    yield
    from project.login_throttle import forget_all

    forget_all()


@pytest.fixture
def collection_config(settings: Any) -> Callable[..., None]:
    """`collection_config(**changes)`: this test's `collection` configuration (timeouts,
    retries, batch size, limits), the rest as configured."""
    import dataclasses

    def change(**changes: Any) -> None:
        settings.DEVICEVAULT = dataclasses.replace(
            settings.DEVICEVAULT,
            collection=dataclasses.replace(settings.DEVICEVAULT.collection, **changes),
        )

    return change


@pytest.fixture
def redis_db() -> Iterator[Any]:
    """The test Redis database, emptied before and after the test."""
    from project.redis_client import redis_client

    client = redis_client()
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def make_schedule(db: None) -> Callable[..., Any]:
    from schedules.services import schedule_create

    counter = iter(range(1, 1_000_000))

    def make(**fields: Any) -> Any:
        fields.setdefault("name", f"Schedule {next(counter)}")
        fields.setdefault("schedule_type", "daily")
        fields.setdefault("hour", 2)
        fields.setdefault("minute", 0)
        return schedule_create(**fields)

    return make


@pytest.fixture
def fleet(db: None) -> dict[str, Any]:
    """Two device groups (core for netops, branch for branch-support), users of each kind."""
    from django.contrib.auth.models import Group, User

    from devices.models import CollectionGroup, Device, DeviceGroup
    from schedules.services import schedule_create

    netops = Group.objects.create(name="netops")
    branch_support = Group.objects.create(name="branch-support")
    core = DeviceGroup.objects.create(name="core")
    core.user_groups.add(netops)
    branch = DeviceGroup.objects.create(name="branch")
    branch.user_groups.add(branch_support)
    dc1 = CollectionGroup.objects.create(name="sydney-dc1")
    daily = schedule_create(name="Daily 2 AM", schedule_type="daily", hour=2, minute=0)
    weekly = schedule_create(
        name="Weekly Mon", schedule_type="weekly", day_of_week=0, hour=3, minute=30
    )
    devices = {
        "core1": Device.objects.create(
            name="Core-Router-01", ip_address="127.0.0.11", device_group=core,
            collection_group=dc1, backup_schedule=daily,
        ),
        "core2": Device.objects.create(
            name="Core-Router-02", ip_address="127.0.0.12", device_group=core,
            backup_schedule=weekly,
        ),
        "branch1": Device.objects.create(
            name="Branch-Switch-01", ip_address="127.0.0.21", device_group=branch,
            backup_schedule=daily,
        ),
        "orphan": Device.objects.create(name="Lab-01", ip_address="127.0.0.31"),
    }
    superuser = User.objects.create_superuser("root", "root@example.com", "pw-root-123")
    staff = User.objects.create_user("staff", password="pw-staff-123", is_staff=True)
    staff.groups.add(netops)
    viewer = User.objects.create_user("viewer", password="pw-viewer-123")
    viewer.groups.add(netops)
    branch_user = User.objects.create_user("branchy", password="pw-branch-123")
    branch_user.groups.add(branch_support)
    nobody = User.objects.create_user("nobody", password="pw-nobody-123")
    return {
        "groups": {"netops": netops, "branch-support": branch_support},
        "device_groups": {"core": core, "branch": branch},
        "collection_groups": {"sydney-dc1": dc1},
        "schedules": {"daily": daily, "weekly": weekly},
        "devices": devices,
        "users": {
            "superuser": superuser, "staff": staff, "viewer": viewer, "branch": branch_user,
            "nobody": nobody,
        },
    }


@pytest.fixture
def api_client() -> Callable[..., Any]:
    """`api_client(user)`: a DRF test client logged in as `user` (anonymous with None)."""
    from rest_framework.test import APIClient

    def make(user: Any = None) -> Any:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def add_devices(db: None) -> Callable[..., list[Any]]:
    """`add_devices(n, prefix=..., **fields)`: bulk-create n devices sharing `fields`."""
    from devices.models import Device

    def add(n: int, *, prefix: str = "Dev", **fields: Any) -> list[Any]:
        fields.setdefault("enabled", True)
        start = Device.objects.count()
        return Device.objects.bulk_create(
            Device(
                name=f"{prefix}-{start + i:06d}",
                ip_address=f"10.{(start + i) // 65536 % 256}.{(start + i) // 256 % 256}"
                f".{(start + i) % 256}",
                **fields,
            )
            for i in range(n)
        )

    return add
