"""The access rule: which devices a user may see, and who may change them. One place only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devices.models import DeviceQuerySet


def restrict_devices(queryset: DeviceQuerySet, user: Any) -> DeviceQuerySet:
    """Devices `user` may see: superusers all; others those whose device group allows one of
    the user's Django groups. Anonymous or inactive users see none."""
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    from devices.models import DeviceGroup

    allowed = DeviceGroup.objects.filter(user_groups__user=user).values("pk")
    return queryset.filter(device_group__in=allowed)


def can_change_devices(user: Any) -> bool:
    """Changing devices (assign, bulk-assign, run-now) needs staff or devices.change_device."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_staff or user.has_perm("devices.change_device"))
