"""SSH host keys, the pure part: OpenSSH fingerprints and what each policy decides."""

from __future__ import annotations

import pytest

from devices.collection.hostkeys import HostKeyOutcome, fingerprint, host_key_verdict, normalize_key

# Made with `ssh-keygen -t ed25519` / `-t ecdsa`; fingerprints as `ssh-keygen -l` prints them.
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlIO0GeeRU9EKcgacYSbVROfh2T9Ckr5T7x16PrMWuy"
ED25519_FP = "SHA256:Gdvu7/zn22AlxCAJ8RLU+JBaCV4MlzLcAzs3RGEFEg8"
ECDSA = (
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDm0in3urRpJ6wmY9"
    "putQYe28HhiDeJt5da2RStJf5qZSqWtw5xE0ygxPPyriDKIGXDIGtcFtQbIFM1mwcKEIhY="
)
ECDSA_FP = "SHA256:IxD9zm33T0E2ZxukjIEdriw7yIY/RW8Xwnx2sN7Fr3Q"
WHERE = {"device": "lab-01", "where": "127.0.0.1:2222"}


def test_fingerprints_are_what_ssh_keygen_prints() -> None:
    assert fingerprint(ED25519) == ED25519_FP
    assert fingerprint(ECDSA + " root@host") == ECDSA_FP  # a comment changes nothing
    assert fingerprint("") == ""


def test_a_key_is_compared_without_its_comment_or_extra_spaces() -> None:
    assert normalize_key(f"  {ED25519}  devicevault-test\n") == ED25519
    with pytest.raises(ValueError, match="not an SSH public key"):
        normalize_key("ssh-ed25519 not-base64!")
    with pytest.raises(ValueError, match="not an SSH public key"):
        normalize_key("just-one-field")


@pytest.mark.parametrize("policy", ["tofu", "strict"])
def test_the_trusted_key_is_accepted_and_nothing_is_stored(policy: str) -> None:
    verdict = host_key_verdict(policy=policy, trusted=ED25519, offered=ED25519, **WHERE)
    assert verdict.outcome is HostKeyOutcome.MATCH
    assert verdict.accept and not verdict.store and verdict.message == ""


def test_tofu_trusts_the_first_key_and_stores_it() -> None:
    verdict = host_key_verdict(policy="tofu", trusted="", offered=ED25519, **WHERE)
    assert verdict.outcome is HostKeyOutcome.TRUST_FIRST
    assert verdict.accept and verdict.store


@pytest.mark.parametrize("policy", ["tofu", "strict"])
def test_a_different_key_is_refused_naming_both_fingerprints(policy: str) -> None:
    verdict = host_key_verdict(policy=policy, trusted=ED25519, offered=ECDSA, **WHERE)
    assert verdict.outcome is HostKeyOutcome.CHANGED
    assert not verdict.accept and not verdict.store
    assert verdict.message == (
        f"host key changed: lab-01 at 127.0.0.1:2222 offered {ECDSA_FP}, but {ED25519_FP} is "
        "the trusted key; nothing was collected (if the change is expected, accept the "
        "offered key in the admin: \"Accept offered SSH host key\")"
    )


def test_strict_refuses_a_device_without_a_trusted_key() -> None:
    verdict = host_key_verdict(policy="strict", trusted="", offered=ED25519, **WHERE)
    assert verdict.outcome is HostKeyOutcome.UNKNOWN
    assert not verdict.accept and not verdict.store
    assert verdict.message == (
        f"host key unknown: lab-01 at 127.0.0.1:2222 offered {ED25519_FP} and no key is "
        "trusted for it (collection.ssh_host_key_policy: strict); nothing was collected "
        "(check the fingerprint, then accept it in the admin: \"Accept offered SSH host key\")"
    )


@pytest.mark.parametrize("trusted", ["", ED25519])
def test_off_accepts_any_key_with_a_warning_and_stores_nothing(trusted: str) -> None:
    verdict = host_key_verdict(policy="off", trusted=trusted, offered=ECDSA, **WHERE)
    assert verdict.outcome is HostKeyOutcome.UNVERIFIED
    assert verdict.accept and not verdict.store
    assert verdict.message == (
        f"host key not verified: lab-01 at 127.0.0.1:2222 offered {ECDSA_FP} "
        "(collection.ssh_host_key_policy: off)"
    )


def test_an_unknown_policy_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown ssh_host_key_policy 'maybe'"):
        host_key_verdict(policy="maybe", trusted="", offered=ED25519, **WHERE)
