"""The `local` backup method: a regular file under the operator's root, and nothing else."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devices.collection.service import run_collection
from devices.models import ConfigBlob, Device, DeviceBackup, DeviceBackupResult

CONFIG_V1 = "hostname core-01\ninterface Gi0/1\n ip address 192.0.2.1 255.255.255.0\nend\n"
CONFIG_V2 = "hostname core-01\ninterface Gi0/1\n ip address 192.0.2.9 255.255.255.0\nend\n"


@pytest.fixture
def root(tmp_path: Path, settings: Any) -> Path:
    """The local root the workers may read, with a secret file beside it (outside)."""
    root = tmp_path / "local-devices"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("the worker's secret\n")
    settings.LOCAL_COLLECT_ROOT = root
    return root


@pytest.fixture
def device(root: Path, make_schedule: Any) -> Device:
    (root / "core-01.cfg").write_text(CONFIG_V1)
    return Device.objects.create(
        name="core-01", ip_address="127.0.0.11", backup_method="local",
        backup_command="core-01.cfg", backup_schedule=make_schedule(),
    )


def collect(device: Device) -> DeviceBackupResult:
    """One occurrence of the device's schedule, collected in this process."""
    result = DeviceBackupResult.objects.create(
        device=device, schedule=device.backup_schedule, scheduled_for=datetime.now(UTC)
    )
    run_collection(result.pk)
    result.refresh_from_db()
    return result


def failure(device: Device, backup_command: str) -> str:
    """Collect with `backup_command`, expect a failure that stored nothing, return its error."""
    device.backup_command = backup_command
    device.save()
    before = ConfigBlob.objects.count()
    result = collect(device)
    assert result.status == "failed"
    assert not DeviceBackup.objects.filter(result=result).exists()
    assert ConfigBlob.objects.count() == before
    return result.error


def test_a_file_under_the_root_is_backed_up_and_a_change_is_flagged_and_diffed(
    device: Device, root: Path, api_client: Any, django_user_model: Any
) -> None:
    first = collect(device)
    assert first.status == "success", first.error
    assert DeviceBackup.objects.get(result=first).blob.text == CONFIG_V1
    (root / "core-01.cfg").write_text(CONFIG_V2)
    second = collect(device)
    assert second.status == "success", second.error

    client = api_client(django_user_model.objects.create_superuser("root", "r@x.org", "pw-1"))
    rows = client.get(f"/api/devices/{device.pk}/backups/").json()["results"]
    assert [(row["result_id"], row["changed"]) for row in rows] == [
        (second.pk, True), (first.pk, True)
    ]
    diff = client.get(f"/api/devices/{device.pk}/backups/{rows[0]['id']}/diff/").json()["diff"]
    assert "-ip address 192.0.2.1" in diff.replace(" ip", "ip")
    assert "+ ip address 192.0.2.9 255.255.255.0\n" in diff


def test_the_devices_platform_cleans_the_file_like_a_commands_output(
    device: Device, root: Path
) -> None:
    (root / "core-01.cfg").write_text("Building configuration...\r\n\r\n" + CONFIG_V1)
    device.platform = "cisco_ios"
    device.save()
    result = collect(device)
    assert result.status == "success", result.error
    assert DeviceBackup.objects.get(result=result).blob.text == CONFIG_V1


def test_a_missing_file_fails_naming_the_file(device: Device, root: Path) -> None:
    assert failure(device, "core-09.cfg") == f"local: file not found: core-09.cfg (in {root})"


def test_a_path_leaving_the_root_is_refused_whether_or_not_the_file_exists(
    device: Device, root: Path
) -> None:
    for name in ("../secret.txt", "../no-such-file", str(root.parent / "secret.txt"),
                 "/etc/passwd", "sub/../../secret.txt"):
        assert failure(device, name) == (
            f"local: {name} is outside the local root {root}: refused"
        ), name
    assert "refused" in failure(device, ".")


def test_a_symlink_out_of_the_root_is_refused_and_one_inside_it_is_followed(
    device: Device, root: Path
) -> None:
    (root / "escape.cfg").symlink_to(root.parent / "secret.txt")
    (root / "linkdir").symlink_to(root.parent)
    assert failure(device, "escape.cfg") == (
        f"local: escape.cfg is outside the local root {root}: refused"
    )
    assert "outside the local root" in failure(device, "linkdir/secret.txt")
    (root / "alias.cfg").symlink_to("core-01.cfg")
    device.backup_command = "alias.cfg"
    device.save()
    assert collect(device).status == "success"


def test_nothing_of_the_device_record_is_run_as_a_command(
    device: Device, root: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    error = failure(device, f"core-01.cfg; touch {marker}")
    assert error.startswith("local: ")
    error = failure(device, f"$(touch {marker})")
    assert error.startswith("local: file not found: $(touch")
    assert not marker.exists()


def test_only_regular_files_are_read(device: Device, root: Path) -> None:
    (root / "a-dir").mkdir()
    os.mkfifo(root / "a-fifo")  # opening it for reading must not block the worker
    assert failure(device, "a-dir") == "local: not a regular file: a-dir"
    assert failure(device, "a-fifo") == "local: not a regular file: a-fifo"


def test_a_file_over_max_config_bytes_fails_and_stores_nothing(
    device: Device, root: Path, settings: Any
) -> None:
    config = settings.DEVICEVAULT
    settings.DEVICEVAULT = dataclasses.replace(
        config, collection=dataclasses.replace(config.collection, max_config_bytes=1024)
    )
    (root / "big.cfg").write_text("x" * 1025)
    assert failure(device, "big.cfg") == (
        "local: big.cfg is larger than collection.max_config_bytes (1024 bytes): nothing stored"
    )
    (root / "fits.cfg").write_text("x" * 1023 + "\n")
    device.backup_command = "fits.cfg"
    device.save()
    assert collect(device).status == "success"


def test_empty_binary_and_unnamed_files_fail_clearly(device: Device, root: Path) -> None:
    (root / "empty.cfg").write_text("\n \n")
    (root / "binary.cfg").write_bytes(b"hostname a\n\xff\xfe\n")
    assert failure(device, "empty.cfg") == "local: file is empty: empty.cfg"
    assert failure(device, "binary.cfg") == (
        "local: binary.cfg is not UTF-8 text (invalid byte at offset 11)"
    )
    assert failure(device, "  ").startswith("local: no file named")


def test_a_missing_root_names_the_setting(device: Device, settings: Any, tmp_path: Path) -> None:
    settings.LOCAL_COLLECT_ROOT = tmp_path / "nowhere"
    assert failure(device, "core-01.cfg") == (
        f"local: the local root {tmp_path / 'nowhere'} is not a directory "
        "(set DEVICEVAULT_LOCAL_ROOT)"
    )
