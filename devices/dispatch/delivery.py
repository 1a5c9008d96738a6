"""The rules for work that reached the broker (DESIGN.md, "Nothing is stranded").

Pure: no Django, no I/O; time is always an argument. `devices/dispatch/redelivery.py`
applies these rules to the database, the beat's leader calls it, and the collection
(`devices/collection/`) uses the claim rule and the time limits.

- A published row still `queued` after `requeue_after_seconds` is delivered again.
- A row `running` for longer than `time_limit_seconds` + 60 s (its worker died: the task's
  hard time limit would have ended it by then) is put back to `queued` and delivered again.
- Each publication of a row's message counts one attempt (`attempts`) if the row still waits
  for it (a row an earlier attempt's message claimed meanwhile keeps that claim's attempt,
  and the new message finds it taken). A row due for another
  delivery that has already had `max_attempts` becomes `failed` with an error starting
  `lost:` instead.
- Each message carries the attempt it was published as. A message may claim its row only
  while the row has not been published again since (`attempts` <= the message's attempt),
  and a worker may record its outcome only under the same condition: a late delivery of an
  earlier attempt neither claims nor overwrites the newer one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

RUNNING_GRACE = 60  # seconds past the time limit before a `running` row counts as abandoned
SWEEP_EVERY_MAX = 60.0  # seconds; the leader sweeps at least this often


class Verdict(enum.Enum):
    """What the sweep does with one row."""

    LEAVE = "leave"
    REDELIVER = "redeliver"
    LOST = "lost"


@dataclass(frozen=True, kw_only=True)
class DeliveryRules:
    """The `collection:` keys that govern redelivery, with the rules derived from them."""

    time_limit_seconds: int = 300
    requeue_after_seconds: int = 900
    max_attempts: int = 3

    def __post_init__(self) -> None:
        for name in ("time_limit_seconds", "requeue_after_seconds", "max_attempts"):
            if getattr(self, name) < 1:
                raise ValueError(f"collection.{name} must be at least 1")

    @classmethod
    def from_config(cls, collection: object) -> DeliveryRules:
        """From `settings.DEVICEVAULT.collection` (or anything with the same attributes)."""
        return cls(
            time_limit_seconds=int(collection.time_limit_seconds),  # type: ignore[attr-defined]
            requeue_after_seconds=int(collection.requeue_after_seconds),  # type: ignore[attr-defined]
            max_attempts=int(collection.max_attempts),  # type: ignore[attr-defined]
        )

    # -- the sweep -----------------------------------------------------------------
    def queued_cutoff(self, now: datetime) -> datetime:
        """A `queued` row published before this instant is overdue."""
        return now - timedelta(seconds=self.requeue_after_seconds)

    def running_cutoff(self, now: datetime) -> datetime:
        """A `running` row started before this instant is abandoned."""
        return now - timedelta(seconds=self.time_limit_seconds + RUNNING_GRACE)

    @property
    def sweep_every(self) -> float:
        """Seconds between the leader's sweeps: at most 60, and often enough that an
        overdue row waits at most about a quarter of its deadline more."""
        shortest = min(self.requeue_after_seconds, self.time_limit_seconds + RUNNING_GRACE)
        return max(1.0, min(SWEEP_EVERY_MAX, shortest / 4))

    def verdict(
        self, *, status: str, attempts: int, published_at: datetime | None,
        started_at: datetime | None, now: datetime,
    ) -> Verdict:
        """What the sweep does with one row (the queries in devices/dispatch/redelivery.py say the
        same thing in SQL)."""
        overdue = (
            status == "queued" and published_at is not None
            and published_at < self.queued_cutoff(now)
        ) or (
            status == "running" and started_at is not None
            and started_at < self.running_cutoff(now)
        )
        if not overdue:
            return Verdict.LEAVE
        return Verdict.LOST if attempts >= self.max_attempts else Verdict.REDELIVER

    def lost_error(self, status: str) -> str:
        """The error of a row given up after `max_attempts` deliveries."""
        if status == "running":
            why = (f"its worker stopped answering (running longer than "
                   f"{self.time_limit_seconds + RUNNING_GRACE} s)")
        else:
            why = f"it was still queued {self.requeue_after_seconds} s after it was published"
        return f"lost: delivered {self.max_attempts} times and never finished; last time {why}"

    # -- the worker ----------------------------------------------------------------
    @property
    def hard_time_limit(self) -> int:
        """Seconds after which the worker kills a collection."""
        return self.time_limit_seconds

    @property
    def soft_time_limit(self) -> int:
        """Seconds after which a collection is interrupted (it then still records a failure)."""
        return max(1, self.time_limit_seconds - self._margin)

    @property
    def collect_budget(self) -> int:
        """Seconds a collection may spend, retries included, inside the soft limit."""
        return max(1, self.soft_time_limit - self._margin)

    @property
    def slot_ttl(self) -> int:
        """Seconds a dead worker's group slot is kept: as long as its row counts as running."""
        return self.time_limit_seconds + RUNNING_GRACE

    @property
    def _margin(self) -> int:
        return max(1, min(30, self.time_limit_seconds // 10))


def may_claim(*, row_status: str, row_attempts: int, message_attempt: int | None) -> bool:
    """Whether a message may claim its row: the row waits for a collection and has not been
    published again since this message (a message without an attempt is from before
    attempts were counted: it may claim a queued row)."""
    if row_status != "queued":
        return False
    return message_attempt is None or row_attempts <= message_attempt
