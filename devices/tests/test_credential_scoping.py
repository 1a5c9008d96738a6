"""Credential sets are scoped to a device group: a device may use only a set of its own group
or a global one, and every way in (model validation, the API, import_inventory, the collector)
refuses anything else. The admin's side of the same theft is in test_admin_access.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from devices.access import credential_set_error
from devices.collection.collectors import CollectionError
from devices.collection.credentials import credential_set_create, ssh_login
from devices.models import CredentialSet, Device, DeviceGroup

pytestmark = pytest.mark.django_db


@pytest.fixture
def sets(fleet: dict[str, Any]) -> dict[str, CredentialSet]:
    """A global set, one of the core group and one of the branch group."""
    core, branch = fleet["device_groups"]["core"], fleet["device_groups"]["branch"]
    return {
        "global": credential_set_create(name="global login", username="g", password="pw-g"),
        "core": credential_set_create(
            name="core login", username="c", password="pw-core", device_group=core
        ),
        "branch": credential_set_create(
            name="branch login", username="b", password="pw-branch", device_group=branch
        ),
    }


# -- the rule ------------------------------------------------------------------------------


def test_a_device_may_use_a_set_of_its_own_group_or_a_global_one(
    fleet: dict[str, Any], sets: dict[str, CredentialSet]
) -> None:
    core, branch = fleet["device_groups"]["core"], fleet["device_groups"]["branch"]
    assert credential_set_error(credential_set=None, device_group=core) is None
    assert credential_set_error(credential_set=sets["global"], device_group=core) is None
    assert credential_set_error(credential_set=sets["global"], device_group=None) is None
    assert credential_set_error(credential_set=sets["core"], device_group=core) is None
    assert credential_set_error(credential_set=sets["branch"], device_group=core) == (
        "credential set 'branch login' belongs to device group 'branch' (with device group "
        "'core', use a set of the same group or a global one)"
    )
    assert credential_set_error(credential_set=sets["core"], device_group=None) == (
        "credential set 'core login' belongs to device group 'core' (with no device group, "
        "use a set of the same group or a global one)"
    )
    assert credential_set_error(credential_set=sets["core"], device_group=branch) is not None


def test_model_validation_refuses_another_groups_set_on_a_device_and_as_a_group_default(
    fleet: dict[str, Any], sets: dict[str, CredentialSet]
) -> None:
    core1 = fleet["devices"]["core1"]
    core1.credential_set = sets["branch"]
    with pytest.raises(ValidationError) as err:
        core1.full_clean()
    assert list(err.value.message_dict) == ["credential_set"]
    core1.credential_set = sets["core"]
    core1.full_clean()
    core1.device_group = fleet["device_groups"]["branch"]  # moving it away from its set
    with pytest.raises(ValidationError, match="credential set 'core login' belongs"):
        core1.full_clean()

    core = fleet["device_groups"]["core"]
    core.credential_set = sets["branch"]
    with pytest.raises(ValidationError) as err:
        core.full_clean()
    assert list(err.value.message_dict) == ["credential_set"]
    core.credential_set = sets["core"]
    core.full_clean()


def test_a_set_in_use_cannot_move_to_another_group(
    fleet: dict[str, Any], sets: dict[str, CredentialSet]
) -> None:
    core1 = fleet["devices"]["core1"]
    core1.credential_set = sets["global"]
    core1.save()
    moved = sets["global"]
    moved.device_group = fleet["device_groups"]["branch"]
    with pytest.raises(ValidationError) as err:
        moved.full_clean()
    assert err.value.message_dict == {"device_group": [
        "credential set 'global login' is still used outside that group, by device "
        "'Core-Router-01': give them another set first"
    ]}
    moved.device_group = fleet["device_groups"]["core"]
    moved.full_clean()


def test_the_collector_refuses_a_set_of_another_group_written_around_validation(
    fleet: dict[str, Any], sets: dict[str, CredentialSet]
) -> None:
    Device.objects.filter(pk=fleet["devices"]["core1"].pk).update(credential_set=sets["branch"])
    device = Device.objects.select_related("credential_set", "device_group").get(
        pk=fleet["devices"]["core1"].pk
    )
    with pytest.raises(CollectionError, match="credential set 'branch login' belongs"):
        ssh_login(device)
    DeviceGroup.objects.filter(pk=fleet["device_groups"]["core"].pk).update(
        credential_set=sets["branch"]
    )
    Device.objects.filter(pk=device.pk).update(credential_set=None)
    device = Device.objects.select_related("device_group__credential_set").get(pk=device.pk)
    with pytest.raises(CollectionError, match="credential set 'branch login' belongs"):
        ssh_login(device)


# -- the theft, through the API and import_inventory -------------------------------------------


def detail(device: Device) -> str:
    return f"/api/devices/{device.pk}/"


def test_api_refuses_another_groups_set_with_a_400_naming_the_field(
    fleet: dict[str, Any], sets: dict[str, CredentialSet], api_client: Any
) -> None:
    core1 = fleet["devices"]["core1"]
    staff = api_client(fleet["users"]["staff"])  # netops: sees core, not branch
    response = staff.patch(detail(core1), {"credential_set_id": sets["branch"].pk}, format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {
        "credential_set_id": [f"Unknown credential set {sets['branch'].pk}."]
    }
    core1.refresh_from_db()
    assert core1.credential_set_id is None

    # A superuser sees every set, and still may not put branch's on a core device.
    root = api_client(fleet["users"]["superuser"])
    response = root.patch(detail(core1), {"credential_set_id": sets["branch"].pk}, format="json")
    assert response.status_code == 400, response.content
    assert response.json() == {"credential_set_id": [
        "credential set 'branch login' belongs to device group 'branch' (with device group "
        "'core', use a set of the same group or a global one)"
    ]}
    core1.refresh_from_db()
    assert core1.credential_set_id is None


def test_api_assigns_a_set_of_the_devices_group_or_a_global_one_and_clears_it(
    fleet: dict[str, Any], sets: dict[str, CredentialSet], api_client: Any
) -> None:
    core1 = fleet["devices"]["core1"]
    staff = api_client(fleet["users"]["staff"])
    for credential_set in (sets["core"], sets["global"], None):
        wanted = credential_set.pk if credential_set else None
        response = staff.patch(detail(core1), {"credential_set_id": wanted}, format="json")
        assert response.status_code == 200, response.content
        core1.refresh_from_db()
        assert core1.credential_set_id == wanted


def test_api_refuses_a_set_to_a_viewer_before_looking_at_it(
    fleet: dict[str, Any], sets: dict[str, CredentialSet], api_client: Any
) -> None:
    viewer = api_client(fleet["users"]["viewer"])  # sees core1, may not change devices
    response = viewer.patch(
        detail(fleet["devices"]["core1"]), {"credential_set_id": sets["core"].pk}, format="json"
    )
    assert response.status_code == 403
    response = viewer.patch(
        detail(fleet["devices"]["branch1"]), {"credential_set_id": sets["core"].pk},
        format="json",
    )
    assert response.status_code == 404


def _import(tmp_path: Path, text: str) -> str:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    with pytest.raises(CommandError) as err:
        call_command("import_inventory", str(path))
    return str(err.value)


def test_import_refuses_another_groups_set_on_a_device_with_a_located_error(
    fleet: dict[str, Any], sets: dict[str, CredentialSet], tmp_path: Path
) -> None:
    error = _import(tmp_path, """
devices:
  - {name: New-Router, ip_address: 127.0.0.41, device_group: core}
  - {name: Core-Router-01, ip_address: 127.0.0.66, device_group: core,
     credential_set: branch login}
""")
    assert error.splitlines()[1:] == [
        "  devices[1] (Core-Router-01): credential_set: credential set 'branch login' belongs "
        "to device group 'branch' (with device group 'core', use a set of the same group or "
        "a global one)"
    ]
    assert not Device.objects.filter(name="New-Router").exists()  # nothing written
    core1 = Device.objects.get(name="Core-Router-01")
    assert core1.credential_set_id is None and core1.ip_address == "127.0.0.11"


def test_import_refuses_another_groups_set_as_a_group_default(
    fleet: dict[str, Any], sets: dict[str, CredentialSet], tmp_path: Path
) -> None:
    error = _import(tmp_path, """
device_groups:
  - {name: core, user_groups: [netops], credential_set: branch login}
  - {name: new-group, credential_set: core login}
""")
    assert error.splitlines()[1:] == [
        "  device_groups[0] (core): credential_set: credential set 'branch login' belongs to "
        "device group 'branch' (with device group 'core', use a set of the same group or a "
        "global one)",
        "  device_groups[1] (new-group): credential_set: credential set 'core login' belongs "
        "to device group 'core' (with device group 'new-group', use a set of the same group "
        "or a global one)",
    ]
    assert fleet["device_groups"]["core"].credential_set_id is None
    assert not DeviceGroup.objects.filter(name="new-group").exists()
    DeviceGroup.objects.get(name="core", credential_set=None)


def test_import_accepts_a_set_of_the_devices_group_and_a_global_one(
    fleet: dict[str, Any], sets: dict[str, CredentialSet], tmp_path: Path
) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text("""
device_groups:
  - {name: core, user_groups: [netops], credential_set: global login}
devices:
  - {name: Core-Router-01, ip_address: 127.0.0.11, device_group: core,
     credential_set: core login}
""")
    call_command("import_inventory", str(path))
    assert Device.objects.get(name="Core-Router-01").credential_set == sets["core"]
    assert DeviceGroup.objects.get(name="core").credential_set == sets["global"]
