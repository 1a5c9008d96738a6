"""The webhook signature and the retry backoff."""

from __future__ import annotations

import hashlib
import hmac

from alerts.delivery import addresses, backoff
from alerts.signing import sign, verify


def test_signature_is_the_hex_hmac_sha256_of_the_body() -> None:
    body = b'{"event":"stale"}'
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert sign(body, "s3cret") == f"sha256={expected}"
    assert verify(body, "s3cret", f"sha256={expected}")
    assert not verify(body + b" ", "s3cret", f"sha256={expected}")
    assert not verify(body, "other", f"sha256={expected}")


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n, base=30, cap=1800) for n in range(1, 9)] == [
        30, 60, 120, 240, 480, 960, 1800, 1800,
    ]
    assert backoff(10_000, base=30, cap=1800) == 1800


def test_email_targets_are_split_on_commas_and_semicolons() -> None:
    assert addresses(" a@example.com, b@example.com;c@example.com ,") == [
        "a@example.com", "b@example.com", "c@example.com",
    ]
