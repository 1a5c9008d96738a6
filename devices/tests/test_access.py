"""The access rule: who sees which devices, and who may change them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from devices.access import can_change_devices
from devices.models import Device

pytestmark = pytest.mark.django_db


def names(user: Any) -> set[str]:
    return set(Device.objects.restrict(user).values_list("name", flat=True))


def test_superuser_sees_every_device_including_ungrouped(fleet: dict[str, Any]) -> None:
    assert names(fleet["users"]["superuser"]) == {d.name for d in fleet["devices"].values()}


def test_user_sees_only_device_groups_allowing_one_of_their_groups(fleet: dict[str, Any]) -> None:
    assert names(fleet["users"]["viewer"]) == {"Core-Router-01", "Core-Router-02"}
    assert names(fleet["users"]["branch"]) == {"Branch-Switch-01"}


def test_user_in_no_group_and_anonymous_see_nothing(fleet: dict[str, Any]) -> None:
    assert names(fleet["users"]["nobody"]) == set()
    assert names(AnonymousUser()) == set()


def test_user_in_two_allowed_groups_sees_each_device_once(fleet: dict[str, Any]) -> None:
    viewer = fleet["users"]["viewer"]
    fleet["device_groups"]["branch"].user_groups.add(fleet["groups"]["netops"])
    viewer.groups.add(fleet["groups"]["branch-support"])
    rows = list(Device.objects.restrict(viewer).values_list("name", flat=True))
    assert sorted(rows) == ["Branch-Switch-01", "Core-Router-01", "Core-Router-02"]


def test_inactive_user_sees_nothing(fleet: dict[str, Any]) -> None:
    viewer = fleet["users"]["viewer"]
    viewer.is_active = False
    assert names(viewer) == set()


def test_changing_devices_needs_staff_or_the_change_permission(fleet: dict[str, Any]) -> None:
    users = fleet["users"]
    assert can_change_devices(users["staff"]) and can_change_devices(users["superuser"])
    assert not can_change_devices(users["viewer"])
    users["viewer"].user_permissions.add(Permission.objects.get(codename="change_device"))
    viewer = type(users["viewer"]).objects.get(pk=users["viewer"].pk)  # fresh perm cache
    assert can_change_devices(viewer)
    assert not can_change_devices(AnonymousUser())
