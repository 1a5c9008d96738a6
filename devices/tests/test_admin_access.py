"""The Django admin applies the access rule: an RBAC matrix over every changelist and change
form, driven through the real admin with logged-in test clients, and the credential theft of
issue 14 tried through its forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from devices.collection.backups import backup_store
from devices.collection.credentials import credential_set_create
from devices.models import (
    CollectionGroup,
    CredentialSet,
    Device,
    DeviceBackup,
    DeviceBackupResult,
    DeviceGroup,
)
from schedules.models import BackupSchedule

pytestmark = pytest.mark.django_db

ROLES = ("superuser", "staff_a", "staff_b", "non_staff")


@pytest.fixture
def world(fleet: dict[str, Any]) -> dict[str, Any]:
    """The fleet (core for netops, branch for branch-support), a credential set per group and
    a global one, a result and a stored configuration per device, and the four roles."""
    core, branch = fleet["device_groups"]["core"], fleet["device_groups"]["branch"]
    sets = {
        "global": credential_set_create(name="global login", username="g", password="pw-g"),
        "core": credential_set_create(
            name="core login", username="c", password="pw-core", device_group=core
        ),
        "branch": credential_set_create(
            name="branch login", username="b", password="pw-br", device_group=branch
        ),
    }
    results, backups = {}, {}
    for key, device in fleet["devices"].items():
        results[key] = DeviceBackupResult.objects.create(
            device=device, scheduled_for=datetime(2027, 1, 1, tzinfo=UTC), manual=True,
            status="success",
        )
        backups[key] = backup_store(result=results[key], text=f"hostname {device.name}\n")
    every_devices_permission = Permission.objects.filter(
        content_type__app_label__in=("devices", "schedules")
    )
    staff_a = fleet["users"]["staff"]  # netops: the core group
    staff_b = User.objects.create_user("staff_b", password="pw-staff-b", is_staff=True)
    staff_b.groups.add(fleet["groups"]["branch-support"])
    for user in (staff_a, staff_b):
        user.user_permissions.set(every_devices_permission)
    return {
        **fleet,
        "sets": sets,
        "results": results,
        "backups": backups,
        "roles": {
            "superuser": fleet["users"]["superuser"], "staff_a": staff_a, "staff_b": staff_b,
            "non_staff": fleet["users"]["viewer"],  # netops too, but not staff
        },
    }


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(obj: Any) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def changelist_url(model: type[Any]) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")


def listed(response: Any, model: type[Any]) -> set[int]:
    """Ids of the objects a changelist links to."""
    assert response.status_code == 200, response.status_code
    meta = model._meta
    pattern = rf"/admin/{meta.app_label}/{meta.model_name}/(\d+)/change/"
    return {int(pk) for pk in re.findall(pattern, response.content.decode())}


def options(response: Any, field: str) -> set[str]:
    """The values offered by the form's <select name=field> (empty choice included as "")."""
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    select = re.search(rf'<select name="{field}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {field}"
    return set(re.findall(r'<option value="([^"]*)"', select.group(1)))


def visible(world: dict[str, Any], role: str) -> dict[type[Any], set[int]]:
    """What each role must see, per group-scoped model, and the unscoped ones."""
    devices = world["devices"]
    keys = {
        "superuser": set(devices), "staff_a": {"core1", "core2"}, "staff_b": {"branch1"},
    }[role]
    sets = {"superuser": {"global", "core", "branch"}, "staff_a": {"core"},
            "staff_b": {"branch"}}[role]
    groups = {"superuser": {"core", "branch"}, "staff_a": {"core"}, "staff_b": {"branch"}}[role]
    return {
        Device: {devices[k].pk for k in keys},
        DeviceBackupResult: {world["results"][k].pk for k in keys},
        DeviceBackup: {world["backups"][k].pk for k in keys},
        CredentialSet: {world["sets"][k].pk for k in sets},
        DeviceGroup: {world["device_groups"][k].pk for k in groups},
        CollectionGroup: {g.pk for g in CollectionGroup.objects.all()},
        BackupSchedule: {s.pk for s in BackupSchedule.objects.all()},
    }


def every_object(model: type[Any]) -> list[Any]:
    return list(model.objects.all())


# -- the matrix ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["superuser", "staff_a", "staff_b"])
def test_every_changelist_shows_exactly_the_objects_of_the_users_groups(
    world: dict[str, Any], role: str
) -> None:
    client = client_for(world["roles"][role])
    for model, expected in visible(world, role).items():
        response = client.get(changelist_url(model))
        assert listed(response, model) == expected, model.__name__


@pytest.mark.parametrize("role", ["superuser", "staff_a", "staff_b"])
def test_every_change_form_of_another_groups_object_is_404_like_a_missing_one(
    world: dict[str, Any], role: str
) -> None:
    client = client_for(world["roles"][role])
    for model, expected in visible(world, role).items():
        for obj in every_object(model):
            url = change_url(obj)
            status = client.get(url).status_code
            history = client.get(url.replace("/change/", "/history/")).status_code
            if obj.pk in expected:
                assert (status, history) == (200, 200), (model.__name__, obj.pk)
            else:
                assert (status, history) == (404, 404), (model.__name__, obj.pk)
                deleted = client.post(url.replace("/change/", "/delete/"), {"post": "yes"})
                assert deleted.status_code == 404
                assert model.objects.filter(pk=obj.pk).exists()
        if model not in (CollectionGroup, BackupSchedule):  # Django's redirect for those
            assert client.get(change_url(model(pk=999_999))).status_code == 404


def test_a_non_staff_user_is_sent_to_the_login_page_everywhere(world: dict[str, Any]) -> None:
    client = client_for(world["roles"]["non_staff"])
    for model in visible(world, "superuser"):
        for url in [changelist_url(model), *(change_url(o) for o in every_object(model))]:
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/")


def test_an_object_of_another_group_is_404_before_a_missing_permission_is_403(
    world: dict[str, Any]
) -> None:
    bare = User.objects.create_user("bare", password="pw-bare-123", is_staff=True)
    bare.groups.add(world["groups"]["netops"])  # sees core, holds no admin permission
    client = client_for(bare)
    assert client.get(change_url(world["devices"]["core1"])).status_code == 403
    assert client.get(change_url(world["devices"]["branch1"])).status_code == 404
    assert client.get(change_url(world["sets"]["branch"])).status_code == 404


def test_a_changelist_popup_for_a_raw_id_lookup_is_scoped_too(world: dict[str, Any]) -> None:
    client = client_for(world["roles"]["staff_a"])
    for model in (CredentialSet, Device, DeviceGroup):
        response = client.get(changelist_url(model) + "?_popup=1&_to_field=id")
        assert listed(response, model) == visible(world, "staff_a")[model], model.__name__
        assert "Branch-Switch-01" not in response.content.decode()


def test_the_device_list_filter_names_only_the_users_device_groups(world: dict[str, Any]) -> None:
    html = client_for(world["roles"]["staff_a"]).get(changelist_url(Device)).content.decode()
    assert f"device_group__id__exact={world['device_groups']['core'].pk}" in html
    assert f"device_group__id__exact={world['device_groups']['branch'].pk}" not in html


# -- form choices ---------------------------------------------------------------------------


def test_a_devices_credential_set_choices_are_the_global_and_the_users_groups_sets(
    world: dict[str, Any]
) -> None:
    sets = {key: str(value.pk) for key, value in world["sets"].items()}
    groups = {key: str(value.pk) for key, value in world["device_groups"].items()}
    core1 = change_url(world["devices"]["core1"])
    staff = client_for(world["roles"]["staff_a"]).get(core1)
    assert options(staff, "credential_set") == {"", sets["global"], sets["core"]}
    assert options(staff, "device_group") - {""} == {groups["core"]}
    root = client_for(world["roles"]["superuser"]).get(core1)
    assert options(root, "credential_set") == {"", *sets.values()}
    assert options(root, "device_group") == {"", *groups.values()}
    group_form = client_for(world["roles"]["staff_b"]).get(
        change_url(world["device_groups"]["branch"])
    )
    assert options(group_form, "credential_set") == {"", sets["global"], sets["branch"]}
    add_set = client_for(world["roles"]["staff_b"]).get(
        reverse("admin:devices_credentialset_add")
    )
    assert options(add_set, "device_group") - {""} == {groups["branch"]}


@pytest.mark.parametrize("role", ["superuser", "staff_a", "staff_b"])
def test_autocomplete_answers_only_with_objects_of_the_users_groups(
    world: dict[str, Any], role: str
) -> None:
    """Django answers an autocomplete for any foreign key whose target admin is searchable."""
    client = client_for(world["roles"][role])
    expected = visible(world, role)
    lookups = [
        ("device", "credential_set", CredentialSet), ("device", "device_group", DeviceGroup),
        ("devicegroup", "credential_set", CredentialSet),
        ("devicebackupresult", "device", Device), ("devicebackup", "device", Device),
        ("device", "backup_schedule", BackupSchedule),
    ]
    for source, field, target in lookups:
        response = client.get(
            f"/admin/autocomplete/?app_label=devices&model_name={source}&field_name={field}"
        )
        assert response.status_code == 200, (source, field)
        found = {int(row["id"]) for row in response.json()["results"]}
        assert found == expected[target], (source, field)


# -- the theft, through the admin -------------------------------------------------------------


def device_form(device: Device, **changes: Any) -> dict[str, Any]:
    data = {
        "name": device.name, "ip_address": device.ip_address,
        "enabled": "on" if device.enabled else "",
        "device_group": device.device_group_id or "",
        "collection_group": device.collection_group_id or "",
        "backup_schedule": device.backup_schedule_id or "",
        "backup_method": device.backup_method, "platform": device.platform,
        "backup_command": device.backup_command,
        "credential_set": device.credential_set_id or "",
    }
    data.update(changes)
    return data


def test_a_staff_user_cannot_point_her_device_at_another_groups_credentials(
    world: dict[str, Any]
) -> None:
    """The reproduction of issue 14: her own device, her own address, group B's login."""
    core1 = world["devices"]["core1"]
    client = client_for(world["roles"]["staff_a"])
    response = client.post(change_url(core1), device_form(
        core1, ip_address="127.0.0.99", credential_set=world["sets"]["branch"].pk
    ))
    assert response.status_code == 200  # the form again, with its error
    assert "Select a valid choice" in response.content.decode()
    core1.refresh_from_db()
    assert (core1.ip_address, core1.credential_set_id) == ("127.0.0.11", None)

    # Nor by moving her device into group B (whose default login it would then use).
    branch = world["device_groups"]["branch"]
    DeviceGroup.objects.filter(pk=branch.pk).update(credential_set=world["sets"]["branch"])
    response = client.post(change_url(core1), device_form(core1, device_group=branch.pk))
    assert response.status_code == 200
    core1.refresh_from_db()
    assert core1.device_group_id == world["device_groups"]["core"].pk

    # Nor by making group B's set the default of her own group.
    core = world["device_groups"]["core"]
    response = client.post(change_url(core), {
        "name": "core", "user_groups": [world["groups"]["netops"].pk],
        "credential_set": world["sets"]["branch"].pk,
    })
    assert response.status_code == 200
    core.refresh_from_db()
    assert core.credential_set_id is None

    # Her own group's set and the global one are fine.
    for allowed in (world["sets"]["core"], world["sets"]["global"]):
        response = client.post(change_url(core1), device_form(core1, credential_set=allowed.pk))
        assert response.status_code == 302, response.content.decode()[:2000]
        core1.refresh_from_db()
        assert core1.credential_set_id == allowed.pk


def test_even_a_superuser_cannot_give_a_device_another_groups_set(
    world: dict[str, Any]
) -> None:
    core1 = world["devices"]["core1"]
    response = client_for(world["roles"]["superuser"]).post(
        change_url(core1), device_form(core1, credential_set=world["sets"]["branch"].pk)
    )
    assert response.status_code == 200
    assert "credential set &#x27;branch login&#x27; belongs to device group" in (
        response.content.decode()
    )
    core1.refresh_from_db()
    assert core1.credential_set_id is None


def credential_form(**fields: Any) -> dict[str, Any]:
    return {"name": "mine", "username": "u", "port": "", "password": "pw-mine", **fields}


def test_a_staff_user_cannot_make_a_global_set_nor_move_hers_to_a_group_she_does_not_see(
    world: dict[str, Any]
) -> None:
    client = client_for(world["roles"]["staff_a"])
    add = reverse("admin:devices_credentialset_add")
    response = client.post(add, credential_form(device_group=""))
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    branch = world["device_groups"]["branch"].pk
    response = client.post(add, credential_form(device_group=branch))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not CredentialSet.objects.filter(name="mine").exists()
    core_set = world["sets"]["core"]
    response = client.post(change_url(core_set), credential_form(
        name=core_set.name, username="c", device_group=branch, password=""
    ))
    assert response.status_code == 200
    core_set.refresh_from_db()
    assert core_set.device_group_id == world["device_groups"]["core"].pk

    response = client.post(add, credential_form(device_group=world["device_groups"]["core"].pk))
    assert response.status_code == 302
    assert CredentialSet.objects.get(name="mine").device_group == world["device_groups"]["core"]


def test_a_superuser_may_make_a_global_set(world: dict[str, Any]) -> None:
    response = client_for(world["roles"]["superuser"]).post(
        reverse("admin:devices_credentialset_add"), credential_form(device_group="")
    )
    assert response.status_code == 302
    assert CredentialSet.objects.get(name="mine").device_group is None
