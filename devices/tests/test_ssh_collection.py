"""The `ssh` backup method against a real OpenSSH server on 127.0.0.1.

A `linux` device whose configuration is a file: changes and diffs through the API, every kind
of failure within its timeout, and credentials that never reach a task message or a log line.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devices.collection.credentials import credential_set_create
from devices.collection.service import run_collection
from devices.dispatch.fanout import Occurrence, enqueue_occurrence
from devices.models import ConfigBlob, CredentialSet, Device, DeviceBackup, DeviceBackupResult
from devices.services import schedule_run_now
from tests.support.broker import queued_messages, queued_payloads
from tests.support.sshd import SshServer, free_port, require_sshd, start_sshd

pytestmark = pytest.mark.timeout(120)

CONFIG_V1 = "hostname lab-01\ninterface eth0\n address 192.0.2.1/24\nend\n"
CONFIG_V2 = "hostname lab-01\ninterface eth0\n address 192.0.2.2/24\nend\n"
PAYLOAD_KEYS = {"result_id", "device_id", "device_name", "ip_address", "schedule_id",
                "scheduled_for", "is_catchup", "manual", "collection_group",
                "attempt"}


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    require_sshd()
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def fast(collection_config: Any) -> Any:
    """Short timeouts and retries, so each failure shows within a few seconds; call it to
    change them further."""
    collection_config(ssh_connect_timeout_seconds=5, ssh_command_timeout_seconds=10,
                      retry_delays_seconds=(0.2, 0.4))
    return collection_config


@pytest.fixture
def login(sshd: SshServer, db: None) -> CredentialSet:
    return credential_set_create(name="lab login", username=sshd.username,
                                 password=sshd.password, port=sshd.port)


@pytest.fixture
def config_file(sshd: SshServer, request: pytest.FixtureRequest) -> Path:
    return sshd.write_config(f"{request.node.name[:60]}-{time.time_ns()}.cfg", CONFIG_V1)


@pytest.fixture
def device(make_schedule: Any, login: CredentialSet, config_file: Path) -> Device:
    return Device.objects.create(
        name="lab-01", ip_address="127.0.0.1", backup_method="ssh", platform="linux",
        backup_command=f"cat {config_file}", credential_set=login,
        backup_schedule=make_schedule(),
    )


def collect(device: Device) -> DeviceBackupResult:
    """One occurrence of the device's schedule, collected in this process."""
    assert device.backup_schedule is not None
    result = DeviceBackupResult.objects.create(
        device=device, schedule=device.backup_schedule, scheduled_for=datetime.now(UTC)
    )
    run_collection(result.pk)
    result.refresh_from_db()
    return result


def failure(device: Device, *, within: float) -> str:
    started = time.monotonic()
    result = collect(device)
    elapsed = time.monotonic() - started
    assert result.status == "failed", result.error
    assert elapsed < within, f"took {elapsed:.1f}s: {result.error}"
    assert not DeviceBackup.objects.filter(result=result).exists()
    return result.error


def secrets_of(sshd: SshServer, login: CredentialSet) -> list[str]:
    key_body = sshd.private_key.splitlines()[2]  # a line from inside the private key
    return [sshd.password, key_body, login.password_encrypted]


# -- success, changes, diffs ---------------------------------------------------------------


def test_linux_device_is_backed_up_changes_are_flagged_and_diffed_via_the_api(
    fast: Any, device: Device, config_file: Path, api_client: Any, django_user_model: Any,
) -> None:
    first = collect(device)
    assert first.status == "success", first.error
    assert DeviceBackup.objects.get(result=first).blob.text == CONFIG_V1

    unchanged = collect(device)
    assert unchanged.status == "success", unchanged.error
    assert ConfigBlob.objects.count() == 1  # the same text is not stored twice

    config_file.write_text(CONFIG_V2)
    changed = collect(device)
    assert changed.status == "success", changed.error
    assert ConfigBlob.objects.count() == 2

    client = api_client(django_user_model.objects.create_superuser("root", "r@x.org", "pw-1"))
    rows = client.get(f"/api/devices/{device.pk}/backups/").json()["results"]
    assert [(row["result_id"], row["changed"]) for row in rows] == [
        (changed.pk, True), (unchanged.pk, False), (first.pk, True)
    ]
    assert rows[0]["size"] == len(CONFIG_V2) and rows[1]["sha256"] == rows[2]["sha256"]
    diff = client.get(f"/api/devices/{device.pk}/backups/{rows[0]['id']}/diff/").json()
    assert diff["previous_id"] == rows[1]["id"]
    assert "\n- address 192.0.2.1/24\n+ address 192.0.2.2/24\n" in diff["diff"]
    none = client.get(f"/api/devices/{device.pk}/backups/{rows[1]['id']}/diff/").json()
    assert none["diff"] == ""


def test_a_private_key_logs_in_without_a_password(
    fast: Any, device: Device, sshd: SshServer
) -> None:
    device.credential_set = credential_set_create(
        name="key only", username=sshd.username, private_key=sshd.private_key, port=sshd.port
    )
    device.save()
    result = collect(device)
    assert result.status == "success", result.error


def test_the_device_groups_credentials_are_used_when_the_device_has_none(
    fast: Any, device: Device, login: CredentialSet
) -> None:
    from devices.models import DeviceGroup

    device.credential_set = None
    device.device_group = DeviceGroup.objects.create(name="lab", credential_set=login)
    device.save()
    assert collect(device).status == "success"


# -- failures ------------------------------------------------------------------------------


def test_wrong_password_is_an_authentication_failure_and_not_retried(
    fast: Any, device: Device, sshd: SshServer, caplog: Any
) -> None:
    device.credential_set = credential_set_create(
        name="wrong", username=sshd.username, password="not-the-password", port=sshd.port
    )
    device.save()
    error = failure(device, within=8)
    assert error == (
        f"authentication failed on 127.0.0.1:{sshd.port} with credential set 'wrong' "
        "(wrong username, password or key?)"
    )
    assert "collect retry" not in caplog.text


def test_closed_port_is_refused_and_retried_with_backoff(
    fast: Any, device: Device, login: CredentialSet, caplog: Any
) -> None:
    login.port = free_port()  # nothing listens there
    login.save()
    error = failure(device, within=5)
    assert error == f"connection refused by 127.0.0.1:{login.port} (tried 3 times)"
    assert caplog.text.count("collect retry: device=") == 2


def test_a_server_that_never_speaks_ssh_times_out_connecting(
    fast: Any, device: Device, login: CredentialSet
) -> None:
    fast(ssh_connect_timeout_seconds=1, retry_delays_seconds=())
    with socket.socket() as silent:  # accepts TCP connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        login.port = silent.getsockname()[1]
        login.save()
        error = failure(device, within=5)
    assert error == (
        f"timed out connecting: no SSH session with 127.0.0.1:{login.port} within 1 s "
        "(the server sent no SSH banner)"
    )


def test_a_command_that_hangs_times_out(fast: Any, device: Device, sshd: SshServer) -> None:
    fast(ssh_command_timeout_seconds=2)
    device.backup_command = "sleep 60"
    device.save()
    error = failure(device, within=8)
    assert error == (
        f"command timed out: `sleep 60` did not finish within 2 s on 127.0.0.1:{sshd.port}"
    )


def test_a_failing_command_reports_its_exit_status_and_message(
    fast: Any, device: Device, sshd: SshServer
) -> None:
    device.backup_command = "cat /nonexistent/running-config"
    device.save()
    error = failure(device, within=8)
    assert error == (
        "`cat /nonexistent/running-config` failed with exit status 1: "
        "cat: /nonexistent/running-config: No such file or directory"
    )


def test_empty_output_fails(fast: Any, device: Device, config_file: Path) -> None:
    config_file.write_text("")
    error = failure(device, within=8)
    assert error == f"empty output: `cat {config_file}` printed nothing"


def test_the_default_linux_command_is_used_when_none_is_set(
    fast: Any, device: Device, sshd: SshServer
) -> None:
    device.backup_command = ""
    device.save()
    error = failure(device, within=8)  # the test server has no /etc/devicevault/running-config
    assert error.startswith("`cat /etc/devicevault/running-config` failed with exit status 1")


# -- secrets -------------------------------------------------------------------------------


def test_credentials_never_reach_task_messages_or_logs(
    fast: Any, device: Device, sshd: SshServer, login: CredentialSet, redis_db: Any,
    caplog: Any,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger at its most verbose
    assert device.backup_schedule is not None
    assert schedule_run_now(schedule=device.backup_schedule, devices=Device.objects.all()) == 1
    (payload,) = queued_payloads(redis_db, "collect.default")
    raw = json.dumps([queued_messages(redis_db, "collect.default"), payload])  # body decoded
    assert set(payload) == PAYLOAD_KEYS  # ids and what DESIGN.md lists: no credentials
    secrets = secrets_of(sshd, login)
    for secret in [*secrets, sshd.username]:
        assert secret not in raw

    result_id = payload["result_id"]
    assert run_collection(result_id) == "success"
    device.credential_set = credential_set_create(
        name="wrong", username=sshd.username, password="pw-Wrong-Guess-42", port=sshd.port
    )
    device.save()
    assert collect(device).status == "failed"
    secrets.append("pw-Wrong-Guess-42")
    # The net was wide: paramiko's debug lines and the failed login are in the capture...
    assert "userauth is OK" in caplog.text and "Authentication (password) failed" in caplog.text
    # ...but not the configuration (netmiko's debug lines echo the device's output).
    assert "address 192.0.2.1/24" not in caplog.text
    for secret in secrets:
        assert secret not in caplog.text
    for result in DeviceBackupResult.objects.all():
        assert not any(secret in result.error for secret in secrets)


@pytest.mark.processes
def test_a_real_worker_collects_over_ssh_and_logs_no_secret(
    procs: Any, redis_db: Any, sshd: SshServer, make_schedule: Any, settings: Any,
    tmp_path: Path,
) -> None:
    config = sshd.write_config(f"worker-{time.time_ns()}.cfg", CONFIG_V1)
    login = credential_set_create(name="lab login", username=sshd.username,
                                  password=sshd.password, port=sshd.port)
    wrong = credential_set_create(name="wrong", username=sshd.username,
                                  password="pw-Wrong-Guess-42", port=sshd.port)
    schedule = make_schedule()
    for name, credentials in (("lab-ok", login), ("lab-wrong", wrong)):
        Device.objects.create(
            name=name, ip_address="127.0.0.1", backup_method="ssh", platform="linux",
            backup_command=f"cat {config}", credential_set=credentials,
            backup_schedule=schedule,
        )
    worker = procs.worker(
        concurrency=1,
        DEVICEVAULT_CREDENTIALS_KEY=",".join(settings.CREDENTIALS_KEYS),
        DEVICEVAULT_LOG_LEVEL="DEBUG",
    )
    enqueue_occurrence(Occurrence(schedule_id=schedule.pk, scheduled_for=datetime.now(UTC)))
    worker.wait_for(r"status=success", timeout=60)
    worker.wait_for(r"status=failed", timeout=60)
    ok = DeviceBackupResult.objects.get(device__name="lab-ok")
    bad = DeviceBackupResult.objects.get(device__name="lab-wrong")
    assert ok.status == "success" and DeviceBackup.objects.get(result=ok).blob.text == CONFIG_V1
    assert bad.status == "failed" and bad.error.startswith("authentication failed")
    log = worker.log()
    assert "ssh collected: device=" in log and "userauth is OK" in log  # paramiko's DEBUG
    assert "address 192.0.2.1/24" not in log  # nor the configuration itself
    for secret in [*secrets_of(sshd, login), wrong.password_encrypted, "pw-Wrong-Guess-42"]:
        assert secret not in log
