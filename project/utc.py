"""Instants as the API, task messages and the lock write them: ISO 8601 in UTC with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_iso(instant: datetime) -> str:
    """`2027-10-03T16:00:00Z` (microseconds when it has them); `instant` must be aware."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant!r}: no instant to write")
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
