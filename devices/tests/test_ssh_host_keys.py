"""SSH host keys and the size cap, against real OpenSSH servers on 127.0.0.1.

A second server with a new host key on the same address plays the man in the middle: the
collection is refused before any password is sent, until an admin accepts the new key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from devices.collection.credentials import credential_set_create
from devices.collection.hostkeys import fingerprint, normalize_key
from devices.collection.service import run_collection
from devices.models import Device, DeviceBackup, DeviceBackupResult
from tests.support.sshd import SshServer, require_sshd, start_sshd

pytestmark = pytest.mark.timeout(120)

CONFIG = "hostname lab-01\ninterface eth0\n address 192.0.2.1/24\nend\n"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[SshServer]]:
    """Servers started by the test (stopped at its end); the first is already running."""
    require_sshd()
    started = [start_sshd(tmp_path / "first")]
    yield started
    for server in started:
        server.stop()


def replace_server(servers: list[SshServer], workdir: Path) -> SshServer:
    """Stop the running server and start another, with a new host key, on the same port."""
    old = servers[-1]
    old.stop()
    new = start_sshd(workdir, port=old.port, password=old.password)
    servers.append(new)
    assert normalize_key(new.host_key) != normalize_key(old.host_key)
    return new


@pytest.fixture
def collection(collection_config: Any) -> Any:
    """`collection(**changes)`: this test's `collection:` settings; short timeouts."""
    collection_config(ssh_connect_timeout_seconds=5, ssh_command_timeout_seconds=10,
                      retry_delays_seconds=())
    return collection_config


@pytest.fixture
def device(servers: list[SshServer], make_schedule: Any, request: Any) -> Device:
    server = servers[0]
    config = server.write_config(f"{request.node.name[:60]}-{time.time_ns()}.cfg", CONFIG)
    login = credential_set_create(
        name="lab login", username=server.username, password=server.password, port=server.port
    )
    return Device.objects.create(
        name="lab-01", ip_address="127.0.0.1", backup_method="ssh", platform="linux",
        backup_command=f"cat {config}", credential_set=login, backup_schedule=make_schedule(),
    )


def collect(device: Device) -> DeviceBackupResult:
    result = DeviceBackupResult.objects.create(
        device=device, schedule=device.backup_schedule, scheduled_for=datetime.now(UTC)
    )
    run_collection(result.pk)
    result.refresh_from_db()
    device.refresh_from_db()
    return result


def admin_client(django_user_model: Any) -> Client:
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", "r@x.org", "pw-1"))
    return client


def accept_offered_key(client: Client, device: Device) -> Any:
    return client.post(reverse("admin:devices_device_changelist"), {
        "action": "accept_offered_ssh_host_key", "_selected_action": [device.pk],
    })


def password_was_offered(server: SshServer) -> bool:
    log = server.log()
    return "Accepted password" in log or "Failed password" in log


def test_tofu_trusts_the_first_key_then_refuses_a_new_one_until_an_admin_accepts_it(
    collection: Any, device: Device, servers: list[SshServer], tmp_path: Path,
    api_client: Any, django_user_model: Any,
) -> None:
    first = servers[0]
    result = collect(device)
    assert result.status == "success", result.error
    assert device.ssh_host_key == normalize_key(first.host_key)
    assert collect(device).status == "success"  # the same key again

    second = replace_server(servers, tmp_path / "second")
    result = collect(device)
    assert result.status == "failed"
    assert result.error.startswith(
        f"host key changed: lab-01 at 127.0.0.1:{second.port} offered "
        f"{fingerprint(second.host_key)}, but {fingerprint(first.host_key)} is the trusted key"
    ), result.error
    assert not DeviceBackup.objects.filter(result=result).exists()
    assert device.ssh_host_key == normalize_key(first.host_key)  # nothing stored...
    assert device.ssh_host_key_offered == normalize_key(second.host_key)  # ...but offered
    assert not password_was_offered(second)  # refused before logging in

    client = admin_client(django_user_model)
    page = client.get(reverse("admin:devices_device_change", args=[device.pk])).content.decode()
    assert fingerprint(first.host_key) in page and fingerprint(second.host_key) in page
    response = accept_offered_key(client, device)
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.ssh_host_key == normalize_key(second.host_key)
    assert device.ssh_host_key_offered == ""

    result = collect(device)
    assert result.status == "success", result.error
    assert password_was_offered(second)
    shown = api_client(django_user_model.objects.get(username="root")).get(
        f"/api/devices/{device.pk}/"
    ).json()
    assert shown["ssh_host_key_fingerprint"] == fingerprint(second.host_key)


def test_strict_refuses_a_device_without_a_trusted_key_until_an_admin_accepts_it(
    collection: Any, device: Device, servers: list[SshServer], django_user_model: Any,
    api_client: Any,
) -> None:
    collection(ssh_host_key_policy="strict")
    server = servers[0]
    root = django_user_model.objects.create_superuser("root", "r@x.org", "pw-1")
    assert api_client(root).get(f"/api/devices/{device.pk}/").json()[
        "ssh_host_key_fingerprint"
    ] is None
    result = collect(device)
    assert result.status == "failed"
    assert result.error.startswith(
        f"host key unknown: lab-01 at 127.0.0.1:{server.port} offered "
        f"{fingerprint(server.host_key)} and no key is trusted for it"
    ), result.error
    assert not DeviceBackup.objects.filter(result=result).exists()
    assert device.ssh_host_key == ""
    assert device.ssh_host_key_offered == normalize_key(server.host_key)
    assert not password_was_offered(server)

    client = Client()
    client.force_login(root)
    assert accept_offered_key(client, device).status_code == 302
    result = collect(device)
    assert result.status == "success", result.error
    assert device.ssh_host_key == normalize_key(server.host_key)


def test_strict_accepts_the_trusted_key(
    collection: Any, device: Device, servers: list[SshServer]
) -> None:
    collection(ssh_host_key_policy="strict")
    Device.objects.filter(pk=device.pk).update(ssh_host_key=servers[0].host_key)
    result = collect(device)
    assert result.status == "success", result.error


def test_off_accepts_any_key_with_a_warning_and_stores_nothing(
    collection: Any, device: Device, servers: list[SshServer], tmp_path: Path, caplog: Any
) -> None:
    collection(ssh_host_key_policy="off")
    caplog.set_level(logging.WARNING, logger="devices.collection.ssh")
    result = collect(device)
    assert result.status == "success", result.error
    assert (device.ssh_host_key, device.ssh_host_key_offered) == ("", "")
    other = normalize_key(servers[0].host_key)
    second = replace_server(servers, tmp_path / "second")
    Device.objects.filter(pk=device.pk).update(ssh_host_key=other)
    result = collect(device)
    assert result.status == "success", result.error
    assert (device.ssh_host_key, device.ssh_host_key_offered) == (other, "")
    warning = (
        f"host key not verified: lab-01 at 127.0.0.1:{second.port} offered "
        f"{fingerprint(second.host_key)} (collection.ssh_host_key_policy: off)"
    )
    assert warning in caplog.text


def test_accepting_when_nothing_is_offered_changes_nothing(
    collection: Any, device: Device, django_user_model: Any
) -> None:
    Device.objects.filter(pk=device.pk).update(ssh_host_key="ssh-ed25519 AAAA")
    response = accept_offered_key(admin_client(django_user_model), device)
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.ssh_host_key == "ssh-ed25519 AAAA"


# -- collection.max_config_bytes -------------------------------------------------------------


def test_output_beyond_max_config_bytes_is_not_read_to_its_end_and_fails_the_result(
    collection: Any, device: Device
) -> None:
    """`yes` never ends: without the cap this would be a command timeout."""
    collection(max_config_bytes=4096)
    device.backup_command = "yes devicevault-config-line"
    device.save()
    result = collect(device)
    assert result.status == "failed"
    assert result.error == (
        "configuration too large: `yes devicevault-config-line` printed more than 4096 bytes "
        "(collection.max_config_bytes); nothing was stored"
    )
    assert not DeviceBackup.objects.filter(device=device).exists()


def test_a_configuration_within_max_config_bytes_is_stored_and_one_beyond_is_not(
    collection: Any, device: Device, servers: list[SshServer]
) -> None:
    collection(max_config_bytes=4096)
    path = Path(device.backup_command.split()[1])
    path.write_text("x" * 4000 + "\n")
    result = collect(device)
    assert result.status == "success", result.error
    path.write_text("x" * 4100 + "\n")  # read whole (within the reading slack), still too big
    result = collect(device)
    assert result.status == "failed"
    assert result.error.startswith(f"configuration too large: `cat {path}` printed more than")
    assert DeviceBackup.objects.filter(device=device).count() == 1
