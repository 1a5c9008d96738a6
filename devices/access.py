"""The access rule: which devices a user may see, and who may change them. One place only.

Everything group-scoped follows from it: a user sees the device groups that allow one of
the user's Django groups, the devices of those groups, their results and stored
configurations, and the credential sets of those groups. Superusers see everything.

It also holds the credential-set rule: a device may use only a credential set of its own
device group or a global one (a set without a group, which only superusers manage).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.apps import apps
from django.db.models import Model, Q, QuerySet

if TYPE_CHECKING:
    from devices.models import CredentialSet, DeviceGroup, DeviceQuerySet

_M = TypeVar("_M", bound=Model)


def _device_groups() -> QuerySet[DeviceGroup]:
    # By name, not by import: devices.models uses this module (restrict, the credential-set
    # rule), and the rule must not import the models back.
    return apps.get_model("devices", "DeviceGroup").objects.all()  # type: ignore[no-any-return]


def _groups_of(user: Any) -> QuerySet[DeviceGroup]:
    """The device groups that allow one of `user`'s Django groups."""
    return _device_groups().filter(user_groups__user=user)


def _sees_everything(user: Any) -> bool | None:
    """True for an active superuser, False for nobody (anonymous, inactive), None otherwise."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return True if user.is_superuser else None


def sees_every_device(user: Any) -> bool | None:
    """True when `user` sees every device (an active superuser), False when none (anonymous,
    inactive), None when the device groups decide."""
    return _sees_everything(user)


def allowed_device_groups(user: Any) -> QuerySet[DeviceGroup]:
    """The device groups `user` may see (every group for a superuser, none for anonymous)."""
    everything = _sees_everything(user)
    if everything is None:
        return _groups_of(user).distinct()
    return _device_groups() if everything else _device_groups().none()


def device_group_scope(user: Any) -> tuple[bool, QuerySet[DeviceGroup]]:
    """The same rule as `restrict_devices`, by device group: (whether `user` sees the
    devices without a group, the device groups whose devices `user` sees)."""
    everything = _sees_everything(user)
    if everything is None:
        return False, _groups_of(user)
    return everything, _device_groups() if everything else _device_groups().none()


def restrict_devices(queryset: DeviceQuerySet, user: Any) -> DeviceQuerySet:
    """Devices `user` may see: superusers all; others those whose device group allows one of
    the user's Django groups. Anonymous or inactive users see none."""
    return restrict_through(queryset, user, device_group="device_group")  # type: ignore[return-value]


def restrict_through(queryset: QuerySet[_M], user: Any, *, device_group: str) -> QuerySet[_M]:
    """Rows of `queryset` whose device group (the lookup path `device_group`, e.g.
    "device__device_group") `user` may see; every row for a superuser, none for anonymous."""
    everything = _sees_everything(user)
    if everything is None:
        allowed = _groups_of(user).values("pk")
        return queryset.filter(**{f"{device_group}__in": allowed})
    return queryset if everything else queryset.none()


def restrict_credential_sets(
    queryset: QuerySet[CredentialSet], user: Any, *, with_global: bool
) -> QuerySet[CredentialSet]:
    """Credential sets `user` may manage (those of the device groups the user sees) and, with
    `with_global`, also the global ones, which the user may pick for a device but not edit."""
    everything = _sees_everything(user)
    if everything is None:
        allowed = _groups_of(user).values("pk")
        scope = Q(device_group__in=allowed)
        if with_global:
            scope |= Q(device_group__isnull=True)
        return queryset.filter(scope)
    return queryset if everything else queryset.none()


def credential_set_error(
    *, credential_set: CredentialSet | None, device_group: DeviceGroup | None
) -> str | None:
    """Why a device (or the default of a device group) in `device_group` may not use
    `credential_set`, or None when it may: a set of its own group or a global set."""
    if credential_set is None or credential_set.device_group_id is None:
        return None
    group_id = device_group.pk if device_group is not None else None
    if group_id is not None and credential_set.device_group_id == group_id:
        return None
    where = f"device group {device_group.name!r}" if device_group is not None else (
        "no device group"
    )
    owner = credential_set.device_group
    return (
        f"credential set {credential_set.name!r} belongs to device group "
        f"{owner.name if owner else '?'!r} (with {where}, use a set of the same group "
        "or a global one)"
    )


def can_change_devices(user: Any) -> bool:
    """Changing devices (assign, bulk-assign, run-now) needs staff or devices.change_device."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_staff or user.has_perm("devices.change_device"))
