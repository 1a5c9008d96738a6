"""SSH host keys: OpenSSH-style fingerprints and the policy decision, with no I/O.

`collection.ssh_host_key_policy` decides what a collection does with the key a device
presents, before anything is sent to it:

- `tofu` (trust on first use, the default): with no trusted key, accept the offered one and
  store it once the collection succeeds; after that, a different key refuses the device.
- `strict`: only a trusted key is accepted; a device without one is refused.
- `off`: any key is accepted, with a warning; nothing is stored.

A refused key is kept as the device's "offered" key until an admin accepts it. Keys are
compared as `<type> <base64>` (OpenSSH's public-key line without its comment).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from enum import StrEnum

ACCEPT_ACTION = "Accept offered SSH host key"  # the admin action that trusts an offered key


class HostKeyOutcome(StrEnum):
    MATCH = "match"  # the trusted key
    TRUST_FIRST = "trust_first"  # tofu, nothing trusted yet: accept and store
    UNVERIFIED = "unverified"  # policy off
    CHANGED = "changed"  # a key other than the trusted one: refused
    UNKNOWN = "unknown"  # strict, nothing trusted: refused


ACCEPTED = frozenset({HostKeyOutcome.MATCH, HostKeyOutcome.TRUST_FIRST, HostKeyOutcome.UNVERIFIED})


@dataclass(frozen=True, kw_only=True)
class HostKeyVerdict:
    """What to do with an offered key: `accept` it (and `store` it as trusted), or refuse it
    with `message` (a warning for an unverified key)."""

    outcome: HostKeyOutcome
    message: str = ""

    @property
    def accept(self) -> bool:
        return self.outcome in ACCEPTED

    @property
    def store(self) -> bool:
        return self.outcome is HostKeyOutcome.TRUST_FIRST


def normalize_key(key: str) -> str:
    """`<type> <base64>` of an OpenSSH public-key line (its comment dropped); ValueError if
    it is not one."""
    fields = key.split()
    if len(fields) < 2:
        raise ValueError(f"not an SSH public key: {key[:40]!r}")
    try:
        base64.b64decode(fields[1], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"not an SSH public key: {key[:40]!r}") from None
    return f"{fields[0]} {fields[1]}"


def fingerprint(key: str) -> str:
    """`SHA256:<unpadded base64>` of a public-key line, as `ssh-keygen -l` prints it; "" for ""."""
    if not key:
        return ""
    blob = base64.b64decode(normalize_key(key).split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    return f"SHA256:{digest}"


def host_key_verdict(
    *, policy: str, trusted: str, offered: str, device: str, where: str
) -> HostKeyVerdict:
    """Decide on the key `offered` by `device` (at host:port `where`) given the `trusted` one
    ("" when none is stored) and the policy (tofu, strict, off)."""
    if policy not in ("tofu", "strict", "off"):
        raise ValueError(f"unknown ssh_host_key_policy {policy!r}")
    offered_fp = fingerprint(offered)
    if policy == "off":
        return HostKeyVerdict(
            outcome=HostKeyOutcome.UNVERIFIED,
            message=f"host key not verified: {device} at {where} offered {offered_fp} "
            "(collection.ssh_host_key_policy: off)",
        )
    if trusted and normalize_key(trusted) == normalize_key(offered):
        return HostKeyVerdict(outcome=HostKeyOutcome.MATCH)
    if trusted:
        return HostKeyVerdict(
            outcome=HostKeyOutcome.CHANGED,
            message=f"host key changed: {device} at {where} offered {offered_fp}, but "
            f"{fingerprint(trusted)} is the trusted key; nothing was collected (if the change "
            f'is expected, accept the offered key in the admin: "{ACCEPT_ACTION}")',
        )
    if policy == "tofu":
        return HostKeyVerdict(outcome=HostKeyOutcome.TRUST_FIRST)
    return HostKeyVerdict(
        outcome=HostKeyOutcome.UNKNOWN,
        message=f"host key unknown: {device} at {where} offered {offered_fp} and no key is "
        "trusted for it (collection.ssh_host_key_policy: strict); nothing was collected "
        f'(check the fingerprint, then accept it in the admin: "{ACCEPT_ACTION}")',
    )
