"""Credential sets: encryption at rest, key rotation, resolution, write-only admin, the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from devices.collection.collectors import CollectionError
from devices.collection.credentials import (
    CredentialsKeyError,
    credential_set_create,
    decrypt,
    encrypt,
    ssh_login,
)
from devices.models import CredentialSet, Device, DeviceGroup

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-Sw0rdfish-ALPHA"
KEY_TEXT = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-not-real\n" \
    "-----END OPENSSH PRIVATE KEY-----"


@pytest.fixture
def key(settings: Any) -> str:
    value = Fernet.generate_key().decode()
    settings.CREDENTIALS_KEYS = [value]
    return value


def test_encryption_round_trip(key: str) -> None:
    token = encrypt(PASSWORD)
    assert PASSWORD not in token
    assert decrypt(token) == PASSWORD
    assert encrypt(PASSWORD) != token  # fresh IV each time: equal secrets do not look equal
    assert encrypt("") == "" and decrypt("") == ""


def test_a_token_from_another_key_cannot_be_read(key: str, settings: Any) -> None:
    token = encrypt(PASSWORD)
    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CredentialsKeyError, match="cannot be decrypted") as error:
        decrypt(token)
    assert PASSWORD not in str(error.value)


@pytest.mark.django_db
def test_secrets_are_stored_only_encrypted(key: str) -> None:
    credentials = credential_set_create(
        name="lab", username="backup", password=PASSWORD, private_key=KEY_TEXT,
        key_passphrase="pass-PHRASE-9",
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {CredentialSet._meta.db_table} WHERE id = %s",
                       [credentials.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    for secret in (PASSWORD, "b3BlbnNzaC1rZXktdjEAAAAA", "pass-PHRASE-9"):
        assert secret not in row
    assert credentials.has_password and credentials.has_private_key


@pytest.mark.django_db
def test_rotation_new_key_first_old_key_still_reads_then_reencrypt(
    key: str, settings: Any
) -> None:
    credentials = credential_set_create(name="lab", username="backup", password=PASSWORD)
    new = Fernet.generate_key().decode()
    settings.CREDENTIALS_KEYS = [new, key]
    device = Device.objects.create(name="r1", ip_address="127.0.0.1", credential_set=credentials)
    assert ssh_login(device).password == PASSWORD
    call_command("reencrypt_credentials", stdout=open(os.devnull, "w"))  # noqa: SIM115
    settings.CREDENTIALS_KEYS = [new]
    device.credential_set.refresh_from_db()
    assert ssh_login(device).password == PASSWORD


@pytest.mark.django_db
def test_device_credentials_override_its_groups(key: str) -> None:
    group_login = credential_set_create(name="group", username="g", password="pw-group", port=2222)
    own = credential_set_create(name="own", username="d", password="pw-own")
    group = DeviceGroup.objects.create(name="core", credential_set=group_login)
    inherits = Device.objects.create(name="r1", ip_address="127.0.0.1", device_group=group)
    overrides = Device.objects.create(name="r2", ip_address="127.0.0.2", device_group=group,
                                      credential_set=own)
    assert (ssh_login(inherits).username, ssh_login(inherits).port) == ("g", 2222)
    assert (ssh_login(overrides).username, ssh_login(overrides).port) == ("d", 22)


@pytest.mark.django_db
def test_a_device_without_credentials_fails_clearly(key: str) -> None:
    device = Device.objects.create(name="r1", ip_address="127.0.0.1")
    with pytest.raises(CollectionError, match="device r1 has no credential set"):
        ssh_login(device)
    empty = CredentialSet.objects.create(name="empty", username="u")
    device.credential_set = empty
    with pytest.raises(CollectionError, match="neither a password nor a private key"):
        ssh_login(device)


@pytest.mark.django_db
def test_login_repr_never_shows_secrets(key: str) -> None:
    credentials = credential_set_create(name="lab", username="backup", password=PASSWORD,
                                        private_key=KEY_TEXT)
    login = ssh_login(Device(name="r1", ip_address="127.0.0.1", credential_set=credentials))
    assert PASSWORD not in repr(login) and PASSWORD not in str(login)
    assert "OPENSSH" not in repr(login)
    assert PASSWORD not in repr(credentials)


# -- admin ---------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client: Any, django_user_model: Any) -> Any:
    user = django_user_model.objects.create_superuser("admin", "a@example.com", "pw-admin-123")
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_admin_never_shows_stored_secrets(key: str, admin_client: Any) -> None:
    credentials = credential_set_create(name="lab", username="backup", password=PASSWORD,
                                        private_key=KEY_TEXT)
    pages = [
        admin_client.get("/admin/devices/credentialset/"),
        admin_client.get(f"/admin/devices/credentialset/{credentials.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        for secret in (PASSWORD, "b3BlbnNzaC1rZXktdjEAAAAA", credentials.password_encrypted):
            assert secret not in html


@pytest.mark.django_db
def test_admin_form_sets_keeps_and_clears_secrets(key: str, admin_client: Any) -> None:
    form = {"name": "lab", "username": "backup", "port": "", "password": PASSWORD,
            "private_key": "", "key_passphrase": ""}
    response = admin_client.post("/admin/devices/credentialset/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    credentials = CredentialSet.objects.get(name="lab")
    assert decrypt(credentials.password_encrypted) == PASSWORD
    change = f"/admin/devices/credentialset/{credentials.pk}/change/"
    # An empty password field keeps the stored one.
    response = admin_client.post(change, {**form, "password": "", "private_key": KEY_TEXT})
    assert response.status_code == 302
    credentials.refresh_from_db()
    assert decrypt(credentials.password_encrypted) == PASSWORD
    assert decrypt(credentials.private_key_encrypted).startswith("-----BEGIN OPENSSH")
    # "Remove" removes it; removing both secrets is refused.
    response = admin_client.post(change, {**form, "password": "", "clear_password": "on"})
    assert response.status_code == 302
    credentials.refresh_from_db()
    assert not credentials.has_password and credentials.has_private_key
    response = admin_client.post(change, {**form, "password": "", "clear_private_key": "on"})
    assert response.status_code == 200 and b"Give a password, a private key" in response.content


@pytest.mark.django_db
def test_deleting_a_credential_set_in_use_is_refused(key: str) -> None:
    from django.db.models import ProtectedError

    credentials = credential_set_create(name="lab", username="backup", password=PASSWORD)
    Device.objects.create(name="r1", ip_address="127.0.0.1", credential_set=credentials)
    with pytest.raises(ProtectedError):
        credentials.delete()


# -- the key -------------------------------------------------------------------------------


def _settings_keys(var_dir: Path, key: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DEVICEVAULT_CREDENTIALS_KEY"}
    env.update(DEVICEVAULT_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="project.settings")
    if key is not None:
        env["DEVICEVAULT_CREDENTIALS_KEY"] = key
    code = "from django.conf import settings; print(','.join(settings.CREDENTIALS_KEYS))"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=60)


def test_without_a_key_one_is_generated_once_under_var_and_bad_keys_stop_startup(
    tmp_path: Path,
) -> None:
    first = _settings_keys(tmp_path, None)
    assert first.returncode == 0, first.stderr
    path = tmp_path / "credentials_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert first.stdout.strip() == path.read_text().strip()
    Fernet(first.stdout.strip().encode())  # a valid key
    assert _settings_keys(tmp_path, None).stdout == first.stdout  # the same one next time
    bad = _settings_keys(tmp_path, "change-me-to-a-fernet-key")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "configuration error: environment: DEVICEVAULT_CREDENTIALS_KEY: not a Fernet key "
        "(32 url-safe base64-encoded bytes; how to make one: deploy/devicevault.env.example)"
    ]


@pytest.mark.django_db
def test_device_admin_sets_platform_command_and_credential_set(
    key: str, admin_client: Any
) -> None:
    credentials = credential_set_create(name="lab", username="backup", password=PASSWORD)
    page = admin_client.get("/admin/devices/device/add/").content.decode()
    for field in ("platform", "backup_command", "credential_set", "backup_method"):
        assert f'name="{field}"' in page
    response = admin_client.post("/admin/devices/device/add/", {
        "name": "r1", "ip_address": "127.0.0.1", "enabled": "on", "backup_method": "ssh",
        "platform": "linux", "backup_command": "cat /tmp/x", "credential_set": credentials.pk,
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    device = Device.objects.get(name="r1")
    assert (device.platform, device.credential_set) == ("linux", credentials)
    from datetime import UTC, datetime

    from devices.collection.backups import backup_store
    from devices.models import DeviceBackupResult
    from schedules.services import schedule_create

    schedule = schedule_create(name="Daily", schedule_type="daily", hour=2, minute=0)
    result = DeviceBackupResult.objects.create(device=device, schedule=schedule,
                                               scheduled_for=datetime(2026, 1, 1, tzinfo=UTC))
    backup = backup_store(result=result, text="hostname r1\n")
    listing = admin_client.get("/admin/devices/devicebackup/")
    assert listing.status_code == 200 and backup.blob_id[:12] in listing.content.decode()
    detail = admin_client.get(f"/admin/devices/devicebackup/{backup.pk}/change/")
    assert detail.status_code == 200
