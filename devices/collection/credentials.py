"""Credential sets: Fernet encryption at rest, write services, and which login a device uses.

Secrets live in the database only as Fernet tokens made with `settings.CREDENTIALS_KEYS`
(`DEVICEVAULT_CREDENTIALS_KEY`, or the key generated under var/). Plaintext exists only in
the admin form that sets it and in the worker, inside `SshLogin`, whose repr hides it, for
the length of one collection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from devices.access import credential_set_error
from devices.collection.collectors import CollectionError
from devices.models import CredentialSet, Device, DeviceGroup

DEFAULT_SSH_PORT = 22


class CredentialsKeyError(CollectionError):
    """A stored secret cannot be decrypted with the configured keys."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _cipher() -> MultiFernet:
    return _fernet(tuple(settings.CREDENTIALS_KEYS))


def encrypt(plaintext: str) -> str:
    """A Fernet token of `plaintext` under the first configured key; "" stays ""."""
    if not plaintext:
        return ""
    return _cipher().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of a token made by `encrypt` under any configured key; "" stays ""."""
    if not token:
        return ""
    try:
        return _cipher().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise CredentialsKeyError(
            "a stored credential cannot be decrypted with DEVICEVAULT_CREDENTIALS_KEY "
            "(was the key changed without keeping the old one after a comma?)"
        ) from None


@dataclass(frozen=True)
class SshLogin:
    """What the collector needs to log in; `repr()` and `str()` never show the secrets."""

    credential_set: str
    username: str
    port: int
    password: str = field(default="", repr=False)
    private_key: str = field(default="", repr=False)
    key_passphrase: str = field(default="", repr=False)

    def secrets(self) -> list[str]:
        """The secret values (to check that none leaks)."""
        return [s for s in (self.password, self.private_key, self.key_passphrase) if s]


def credential_set_for(device: Device) -> CredentialSet | None:
    """The device's own credential set, else its device group's, else None.

    A set the device may not use (of another device group: see devices.access), written
    around the validation, is a CollectionError: its secrets are never sent anywhere.
    """
    group = device.device_group if device.device_group_id is not None else None
    if device.credential_set_id is not None:
        credentials = device.credential_set
    elif group is not None and group.credential_set_id is not None:
        credentials = group.credential_set
    else:
        return None
    error = credential_set_error(credential_set=credentials, device_group=group)
    if error:
        raise CollectionError(f"device {device.name} may not use its credentials: {error}")
    return credentials


def ssh_login(device: Device) -> SshLogin:
    """The decrypted login for `device`, or CollectionError saying why there is none."""
    credentials = credential_set_for(device)
    if credentials is None:
        raise CollectionError(
            f"device {device.name} has no credential set: assign one to the device or to "
            "its device group"
        )
    login = SshLogin(
        credential_set=credentials.name,
        username=credentials.username,
        port=credentials.port or DEFAULT_SSH_PORT,
        password=decrypt(credentials.password_encrypted),
        private_key=decrypt(credentials.private_key_encrypted),
        key_passphrase=decrypt(credentials.key_passphrase_encrypted),
    )
    if not login.password and not login.private_key:
        raise CollectionError(
            f"credential set {credentials.name} has neither a password nor a private key"
        )
    return login


# -- services ------------------------------------------------------------------------------


def credential_set_set_secrets(
    *,
    credentials: CredentialSet,
    password: str | None = None,
    private_key: str | None = None,
    key_passphrase: str | None = None,
) -> None:
    """Replace the given secrets (None: keep; "": remove) on the unsaved instance."""
    if password is not None:
        credentials.password_encrypted = encrypt(password)
    if private_key is not None:
        key = private_key.strip()
        credentials.private_key_encrypted = encrypt(f"{key}\n" if key else "")
    if key_passphrase is not None:
        credentials.key_passphrase_encrypted = encrypt(key_passphrase)


def credential_set_create(
    *,
    name: str,
    username: str,
    password: str = "",
    private_key: str = "",
    key_passphrase: str = "",
    port: int | None = None,
    device_group: DeviceGroup | None = None,
) -> CredentialSet:
    """Create a credential set, of `device_group` or global (None); the secrets are encrypted
    before they reach the database."""
    credentials = CredentialSet(
        name=name, username=username, port=port, device_group=device_group
    )
    credential_set_set_secrets(
        credentials=credentials, password=password, private_key=private_key,
        key_passphrase=key_passphrase,
    )
    credentials.full_clean()
    credentials.save()
    return credentials


def credentials_reencrypt() -> int:
    """Re-encrypt every stored secret under the first key (after adding a new key in front).

    Returns how many credential sets were rewritten; afterwards the old keys may be dropped.
    """
    cipher = _cipher()
    count = 0
    for credentials in CredentialSet.objects.all():
        for name in ("password_encrypted", "private_key_encrypted", "key_passphrase_encrypted"):
            token = getattr(credentials, name)
            if token:
                try:
                    rotated = cipher.rotate(token.encode("ascii")).decode("ascii")
                except (InvalidToken, ValueError):
                    raise CredentialsKeyError(
                        f"credential set {credentials.name!r} cannot be decrypted with any key "
                        "of DEVICEVAULT_CREDENTIALS_KEY"
                    ) from None
                setattr(credentials, name, rotated)
        credentials.save(update_fields=[
            "password_encrypted", "private_key_encrypted", "key_passphrase_encrypted",
        ])
        count += 1
    return count
