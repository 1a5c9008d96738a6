"""The webhook signature: `sha256=<hex HMAC-SHA256 of the body, keyed by the secret>`."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-DeviceVault-Signature"
DELIVERY_HEADER = "X-DeviceVault-Delivery"  # the notification id: receivers may deduplicate


def sign(body: bytes, secret: str) -> str:
    """The header value for `body` signed with `secret`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(body: bytes, secret: str, signature: str) -> bool:
    """True when `signature` is the header value `sign(body, secret)` (constant time)."""
    return hmac.compare_digest(sign(body, secret), signature)
