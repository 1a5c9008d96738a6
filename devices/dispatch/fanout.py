"""Fan-out of one schedule occurrence: a result row per device, then one task per row.

The unique (device, schedule, scheduled_for) constraint makes creating rows idempotent, and
`published_at` records which rows reached the broker, so a crash at any point is repaired by
running the same two steps again: nothing is lost and no row is created twice. A message
published just before a crash may be published again on recovery; the task claims its row
atomically (`queued` → `running`), so a device is still collected once.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Case, F, PositiveIntegerField, Q, QuerySet, When
from django.utils import timezone

from devices.choices import TERMINAL_RESULT_STATUSES
from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.choices import SkipReasonChoices as SkipReason
from devices.dispatch.publisher import CollectPublisher, Fence, FenceLost, json_string
from devices.metrics import count_finished, count_published
from devices.models import Device, DeviceBackupResult, MaintenanceWindow
from project.utc import utc_iso
from schedules.models import BackupSchedule
from schedules.policy import (
    DEFER,
    SKIP,
    SPREAD_SQL,
    Hold,
    WindowSpec,
    message_priority,
    windows_at,
)

logger = logging.getLogger(__name__)

MISSED_ERROR = "occurrence older than the restart window; not collected"
OVERLAP_ERROR = "an earlier occurrence of this schedule is still queued or running for this device"


@dataclass(frozen=True, kw_only=True)
class Occurrence:
    """One firing of a schedule at a UTC instant."""

    schedule_id: int | None  # None: one device backed up now, outside any schedule
    scheduled_for: datetime
    is_catchup: bool = False
    manual: bool = False
    spread_minutes: int = 0  # the schedule's spread (schedules/policy.py)


def scheduled_devices(schedule_id: int) -> QuerySet[Device]:
    """The devices an occurrence of the schedule backs up: enabled and assigned to it."""
    return Device.objects.on_schedule(schedule_id)


def create_results(
    occurrence: Occurrence, devices: QuerySet[Device], *, status: str = Status.QUEUED,
    skip_reason: str = "", error: str = "", fires_at: datetime | None = None,
) -> int:
    """Insert one result row per device for the occurrence, skipping rows that exist.

    A queued occurrence of a schedule whose `overlap_policy` is `skip` inserts the rows of
    devices whose result of an earlier occurrence of the schedule is still `queued` or
    `running` as `skipped`/`overlap` instead (DESIGN.md, "Scheduling policy"); a run-now is
    never skipped so: an operator asked for it. A queued row
    fires at `fires_at` (a deferring window's end; default the occurrence) plus the device's
    spread offset: a row that fires later than now is held (`publish_after`) until then.

    One INSERT … SELECT, whatever the fleet size. Returns how many rows were new.
    """
    now = timezone.now()
    finished = now if status in TERMINAL_RESULT_STATUSES else None
    error = error or (MISSED_ERROR if status == Status.MISSED_WINDOW else "")
    device_sql, device_params = devices.values("id").query.sql_with_params()
    table = DeviceBackupResult._meta.db_table
    schedules_table = BackupSchedule._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    busy_sql, busy_params = "0 = 1", []
    if status == Status.QUEUED and occurrence.schedule_id is not None and not occurrence.manual:
        busy_sql = (
            f"(SELECT s.overlap_policy FROM {schedules_table} s WHERE s.id = %s) = 'skip' "
            f"AND EXISTS (SELECT 1 FROM {table} r WHERE r.device_id = d.id "
            f"AND r.schedule_id = %s AND r.scheduled_for < %s "
            f"AND r.status IN ('{Status.QUEUED}', '{Status.RUNNING}'))"
        )
        busy_params = [occurrence.schedule_id, occurrence.schedule_id,
                       adapt(occurrence.scheduled_for)]
    held_sql, held_params = NO_TIME, list[Any]()
    if status == Status.QUEUED:
        held_sql, held_params = _fires_at_sql(occurrence, fires_at)
    false = "0" if connection.vendor == "sqlite" else "false"
    sql = (
        f"INSERT INTO {table} (device_id, schedule_id, schedule_name, scheduled_for, status, "
        f"skip_reason, is_catchup, manual, attempts, queued_at, finished_at, error, "
        f"publish_after, held) "
        f"SELECT x.id, %s, COALESCE((SELECT s.name FROM {schedules_table} s WHERE s.id = %s), "
        f"''), %s, CASE WHEN x.busy THEN '{Status.SKIPPED}' ELSE %s END, "
        f"CASE WHEN x.busy THEN '{SkipReason.OVERLAP}' ELSE %s END, %s, %s, 0, %s, "
        f"CASE WHEN x.busy THEN %s ELSE %s END, "
        f"CASE WHEN x.busy THEN '{OVERLAP_ERROR}' ELSE %s END, "
        f"CASE WHEN x.busy THEN NULL ELSE x.held END, "
        f"CASE WHEN x.busy THEN {false} ELSE x.held IS NOT NULL END "
        f"FROM (SELECT d.id AS id, {busy_sql} AS busy, {held_sql} AS held "
        f"FROM ({device_sql}) d) x WHERE 1=1 "
        f"ON CONFLICT (device_id, schedule_id, scheduled_for) DO NOTHING"
    )
    # A raw statement gets no field adaptation: each backend stores datetimes its own way
    # (SQLite as naive UTC text, which is what the ORM compares against), so adapt them here.
    params: list[Any] = [
        occurrence.schedule_id, occurrence.schedule_id, adapt(occurrence.scheduled_for), status,
        skip_reason, occurrence.is_catchup, occurrence.manual, adapt(now), adapt(now),
        adapt(finished), error,
    ]
    with connection.cursor() as cursor:
        cursor.execute(  # type: ignore[list-item]
            sql, [*params, *busy_params, *held_params, *device_params])
        created = cursor.rowcount
    return max(created, 0)


NO_TIME = "CAST(NULL AS TIMESTAMP)"  # a typed NULL: PostgreSQL types a bare one as text


def _fires_at_sql(occurrence: Occurrence, fires_at: datetime | None) -> tuple[str, list[Any]]:
    """The `publish_after` of a queued row, in SQL over the device `d.id`: NULL when it fires
    at the occurrence itself, else `fires_at` (or the occurrence) plus the device's spread
    offset (schedules/policy.py, the same formula)."""
    spread = occurrence.spread_minutes if occurrence.schedule_id is not None else 0
    if fires_at is None and not spread:
        return NO_TIME, []
    base = connection.ops.adapt_datetimefield_value(fires_at or occurrence.scheduled_for)
    if not spread:
        return "%s", [base]
    if connection.vendor == "sqlite":  # naive UTC text, as Django stores it
        sql = f"strftime('%%Y-%%m-%%d %%H:%%M:%%S', %s, '+' || {SPREAD_SQL} || ' seconds')"
    else:
        sql = f"(CAST(%s AS timestamptz) + {SPREAD_SQL} * INTERVAL '1 second')"
    return sql, [base, occurrence.schedule_id, spread]


@functools.lru_cache(maxsize=64)
def _utc_iso(instant: datetime) -> str:
    """`instant` in ISO 8601 UTC with a Z; every row of an occurrence shares one instant."""
    return utc_iso(instant)


def collect_payload(row: dict[str, Any]) -> str:
    """The JSON string argument of `device.collect` (DESIGN.md, "Queues").

    Written by string templating, a hundred thousand times per large occurrence: exactly what
    `json.dumps(collect_payload_fields(row), separators=(",", ":"))` writes (the key order, the
    compact separators, every string escaped as ASCII; devices/tests/test_fanout.py holds the
    two against each other), without building a dict and walking it per message.
    """
    scheduled_for = row["scheduled_for"]
    assert isinstance(scheduled_for, datetime)
    return _PAYLOAD % (
        int(row["id"]), int(row["device_id"]), _json_text(row["device__name"]),
        _json_text(row["device__ip_address"]), _json_int(row["schedule_id"]),
        _json_text(_utc_iso(scheduled_for)), _JSON_BOOL[bool(row["is_catchup"])],
        _JSON_BOOL[bool(row["manual"])], _json_text(row["device__collection_group__slug"]),
        int(row["attempts"]) + 1,
    )


def collect_payload_fields(row: dict[str, Any]) -> dict[str, Any]:
    """The fields of `collect_payload`, in its order (the reference it is tested against)."""
    return {
        "result_id": row["id"],
        "device_id": row["device_id"],
        "device_name": row["device__name"],
        "ip_address": row["device__ip_address"],
        "schedule_id": row["schedule_id"],
        "scheduled_for": _utc_iso(row["scheduled_for"]),
        "is_catchup": row["is_catchup"],
        "manual": row["manual"],
        "collection_group": row["device__collection_group__slug"],
        # The publication this message is (devices/dispatch/delivery.py: the claim is
        # per attempt).
        "attempt": row["attempts"] + 1,
    }


_PAYLOAD = (
    '{"result_id":%d,"device_id":%d,"device_name":%s,"ip_address":%s,"schedule_id":%s,'
    '"scheduled_for":%s,"is_catchup":%s,"manual":%s,"collection_group":%s,"attempt":%d}'
)
_JSON_BOOL = {False: "false", True: "true"}


def _json_text(value: str | None) -> str:
    """A string (or None) as the compact encoder writes it: quoted, escaped, ASCII."""
    return "null" if value is None else json_string(value)


def _json_int(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def _unpublished() -> QuerySet[DeviceBackupResult]:
    return DeviceBackupResult.objects.filter(status=Status.QUEUED, published_at__isnull=True)


def _due(rows: QuerySet[DeviceBackupResult], now: datetime) -> QuerySet[DeviceBackupResult]:
    """The rows not held past `now` (a spread offset, a deferring window)."""
    return rows.filter(Q(publish_after__isnull=True) | Q(publish_after__lte=now))


def _occurrence_rows(occurrence: Occurrence) -> QuerySet[DeviceBackupResult]:
    return _due(_unpublished(), timezone.now()).filter(
        schedule_id=occurrence.schedule_id, scheduled_for=occurrence.scheduled_for
    )


def _held() -> QuerySet[DeviceBackupResult]:
    return _unpublished().filter(held=True, publish_after__isnull=False)


def publish_held(
    *, now: datetime, may_publish: Callable[[], bool] = lambda: True,
    fence: Fence | None = None,
) -> int:
    """Publish the held rows whose time has come; returns how many."""
    return publish_rows(_held().filter(publish_after__lte=now), may_publish=may_publish,
                        fence=fence, what="held rows")


def next_held_at() -> datetime | None:
    """When the next held row comes due (None: none is held)."""
    return _held().order_by("publish_after").values_list("publish_after", flat=True).first()


def _read_batch(
    base: QuerySet[DeviceBackupResult], after: int, more: Callable[[], bool] | None = None,
) -> list[dict[str, Any]]:
    """The next batch of `base` (ordered by id) after the id `after`. With `more` (rows
    still being created, `_CreatedAhead.more`), a short batch waits for them."""
    size = settings.DEVICEVAULT.collection.publish_batch  # per round trip and UPDATE
    rows: list[dict[str, Any]] = []
    while True:
        rows += base.filter(id__gt=rows[-1]["id"] if rows else after).values(  # type: ignore[arg-type]
            "id", "device_id", "schedule_id", "scheduled_for", "is_catchup", "manual",
            "attempts", "device__name", "device__ip_address",
            "device__collection_group__slug", "schedule__priority",
        )[:size - len(rows)]
        if len(rows) >= size or more is None or not more():
            return rows


class _Bookkeeping:
    """The database side of publishing: reading the batches and marking them published.

    A fan-out of more than one batch on PostgreSQL, outside a transaction, does it on a
    second connection in a helper thread, one batch ahead: the next batch is read, and the
    one just published is marked, while this thread builds and pushes messages (PostgreSQL
    works on the other core meanwhile; psycopg releases the GIL while it waits). The order
    of events per batch is the same as without it: a batch is marked only after the broker
    took it, so a crash still leaves at worst published rows unmarked (published again
    later: the task's claim makes the duplicate harmless). Leaving the `with` waits for
    every mark and raises the first one that failed.
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._marks: list[Future[None]] = []

    def __enter__(self) -> _Bookkeeping:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            wait(self._marks)
        finally:
            pool.submit(connections.close_all)  # the helper thread's own connection
            pool.shutdown(wait=True)
        if exc_type is None:
            self._raise_failed()

    def _raise_failed(self) -> None:
        for mark in self._marks:
            if mark.done() and mark.exception() is not None:
                raise mark.exception()  # type: ignore[misc]
        self._marks = [mark for mark in self._marks if not mark.done()]

    def batches(
        self, base: QuerySet[DeviceBackupResult], more: Callable[[], bool] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """`base` in id order, a batch at a time (read one batch ahead, see above); `more`:
        see `_read_batch`."""
        base = base.order_by("id")
        rows = _read_batch(base, 0, more)
        size = settings.DEVICEVAULT.collection.publish_batch
        if len(rows) >= size and connection.vendor == "postgresql" \
                and not connection.in_atomic_block:  # another connection sees committed rows
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fanout-db")
        while rows:
            after = rows[-1]["id"]
            ahead = self._pool.submit(_read_batch, base, after, more) if self._pool else None
            yield rows
            rows = ahead.result() if ahead else _read_batch(base, after, more)

    @property
    def beside(self) -> bool:
        """Whether the bookkeeping runs beside the publishing (a helper thread)."""
        return self._pool is not None

    def mark_published(self, ids: list[int]) -> None:
        if self._pool is None:
            _mark_published(ids)
            return
        self._raise_failed()  # a mark that failed stops publishing, as it did in line
        self._marks.append(self._pool.submit(_mark_published, ids))


def publish_pending(
    occurrence: Occurrence, *, may_publish: Callable[[], bool] = lambda: True,
    fence: Fence | None = None, more: Callable[[], bool] | None = None,
) -> int:
    """Publish every unpublished row of the occurrence, batch by batch; returns the count.

    `may_publish` is asked before each batch (the beat passes "do I still hold the lock"):
    when it says no, publishing stops at once and the rest waits for the next leader.
    With a `fence` (the beat's lock), each batch is published only while the lock is still
    ours, checked atomically with the publish (devices/dispatch/publisher.py). `more`: the
    occurrence's rows are still being created (`_CreatedAhead`).
    """
    return publish_rows(
        _occurrence_rows(occurrence), may_publish=may_publish, fence=fence, more=more,
        what=f"schedule={occurrence.schedule_id} "
             f"occurrence={occurrence.scheduled_for.isoformat()}",
    )


def publish_rows(
    base: QuerySet[DeviceBackupResult], *, may_publish: Callable[[], bool] = lambda: True,
    fence: Fence | None = None, more: Callable[[], bool] | None = None, what: str = "",
) -> int:
    """Publish the rows of `base` in id order, a batch per broker round trip, counting an
    attempt and noting `published_at` per batch once the broker has it (on PostgreSQL, for a
    large fan-out, while the next batch is published: `_Bookkeeping`); returns how many were
    published (all of them marked when this returns).

    When the bookkeeping runs beside (a large fan-out), a batch's messages are also sent in a
    helper thread while the next batch's are built (`CollectPublisher.prepare`): one batch at
    most is in flight, the next is sent only after it, and a batch is marked only once the
    broker took it, as before. A lost lock found while building or sending stops publishing;
    the batch in flight is still waited for, and marked when the broker took it."""
    from project.celery import app

    published = 0
    # The batch in flight: its sending (None when it was sent in line) and its rows.
    pending: tuple[Future[int] | None, list[dict[str, Any]]] | None = None

    def finish() -> None:
        """Wait for the batch in flight, then mark it (it raises what its sending raised)."""
        nonlocal pending, published
        if pending is None:
            return
        sending, rows = pending
        pending = None
        if sending is not None:
            sending.result()
        books.mark_published([r["id"] for r in rows])  # ascending: in id order
        published += len(rows)

    with CollectPublisher(app) as publisher, _Bookkeeping() as books, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="fanout-push") as pusher:
        try:
            try:
                for rows in books.batches(base, more):
                    items = ((collect_payload(row), row["device__collection_group__slug"],
                              message_priority(row["schedule__priority"], manual=row["manual"]))
                             for row in rows)
                    try:
                        if not may_publish():
                            raise FenceLost("the lock is no longer held")
                        if not books.beside:  # one batch, or a transaction: in line
                            publisher.publish(items, fence=fence)
                            _count(rows)
                            pending = (None, rows)
                            continue  # marked by the finally
                        send = publisher.prepare(items, fence=fence)
                    finally:
                        finish()
                    pending = (pusher.submit(_send_and_count, send, rows), rows)
            finally:
                finish()
        except FenceLost as exc:
            logger.warning("publishing stopped (%s): %s published=%d", exc, what, published)
    return published


def _count(rows: list[dict[str, Any]]) -> None:
    """Count the rows whose messages the broker just took, per schedule (in the thread that
    sent them: a round trip to the metrics' Redis)."""
    for schedule_id, count in Counter(r["schedule_id"] for r in rows).items():
        count_published(schedule_id, count)


def _send_and_count(send: Callable[[], int], rows: list[dict[str, Any]]) -> int:
    sent = send()
    _count(rows)
    return sent


def _mark_published(ids: list[int]) -> None:
    """Note that the rows `ids` (ascending) are in the broker: `published_at`, and one more
    attempt on the rows still waiting.

    The attempt counts only on rows still `queued`: a row that an earlier attempt's message
    claimed since it was read here keeps that claim's attempt, so the claim can still record
    its outcome (and this message finds the row taken). The id range repeats what the list
    says; it makes the plan a primary-key range scan whatever the statistics (a new
    occurrence's rows have none yet), instead of a scan of the whole table per batch. No index
    names `published_at` or `attempts` (devices/models.py), and `held` changes only on a held
    row, so in PostgreSQL this is a HOT update for every row nobody held.
    """
    now = timezone.now()
    if connection.vendor != "postgresql":
        DeviceBackupResult.objects.filter(
            id__gte=ids[0], id__lte=ids[-1], id__in=ids
        ).update(published_at=now, held=False, attempts=Case(
            When(status=Status.QUEUED, then=F("attempts") + 1), default=F("attempts"),
            output_field=PositiveIntegerField()))
        return
    # The same statement, with the ids as one array parameter: the ORM's IN list of 1,000
    # placeholders cost more Python per batch than the statement costs PostgreSQL.
    table = DeviceBackupResult._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET published_at = %s, held = false, "
            f"attempts = CASE WHEN status = %s "
            f"THEN attempts + 1 ELSE attempts END "
            f"WHERE id BETWEEN %s AND %s AND id = ANY(%s)",
            [now, Status.QUEUED, ids[0], ids[-1], ids],
        )


def enqueue_occurrence(
    occurrence: Occurrence,
    devices: QuerySet[Device] | None = None,
    *,
    may_publish: Callable[[], bool] = lambda: True,
    fence: Fence | None = None,
) -> tuple[int, int]:
    """Create the occurrence's rows (committed first), then publish them.

    A fleet larger than the first chunk, on PostgreSQL outside a transaction, is created
    chunk by chunk ahead of its publishing (`_CreatedAhead`); otherwise in one transaction,
    before publishing. Returns (rows created now, messages published now).
    """
    if devices is None:
        assert occurrence.schedule_id is not None, "a device backed up now names its device"
        devices = scheduled_devices(occurrence.schedule_id)
    hold = NO_HOLD  # run-now is not held: an operator asked
    if occurrence.schedule_id is not None and not occurrence.manual:
        hold = windows_at(MaintenanceWindow.enabled_specs(), occurrence.scheduled_for)
    first = _CreatedAhead.first_bound(devices)
    if first is None:
        with transaction.atomic():
            created = _create_under_windows(occurrence, devices, hold)
        _report(occurrence, hold, created)
        published = publish_pending(occurrence, may_publish=may_publish, fence=fence)
    else:
        with _CreatedAhead(occurrence, devices, hold, first) as ahead:
            published = publish_pending(occurrence, may_publish=may_publish, fence=fence,
                                        more=ahead.more)
        created = ahead.created
        _report(occurrence, hold, created)
    return created.total(), published


def _report(occurrence: Occurrence, hold: Hold, created: Counter[int | None]) -> None:
    """Log (and count) what the maintenance windows and the overlap policy did to the
    occurrence's new rows: a line per window that held it, one for the devices skipped
    because their earlier occurrence was still queued or running."""
    for window in hold.skip:
        logger.warning("maintenance: schedule=%s occurrence=%s window=%s skipped=%d",
                       occurrence.schedule_id, occurrence.scheduled_for.isoformat(),
                       window.id, created[window.id])
    for window, end in sorted(hold.defer, key=lambda item: item[1], reverse=True):
        logger.warning("maintenance: schedule=%s occurrence=%s window=%s %s=%d until %s",
                       occurrence.schedule_id, occurrence.scheduled_for.isoformat(),
                       window.id, DEFER, created[window.id], end.isoformat())
    if not created.total() or occurrence.schedule_id is None:
        return
    overlapping = DeviceBackupResult.objects.filter(
        schedule_id=occurrence.schedule_id, scheduled_for=occurrence.scheduled_for,
        status=Status.SKIPPED, skip_reason=SkipReason.OVERLAP,
    ).count()
    if overlapping:
        count_finished(Status.SKIPPED, overlapping)  # metrics, once committed
        logger.warning("overlap: schedule=%s occurrence=%s skipped=%d (still queued or "
                       "running from an earlier occurrence)", occurrence.schedule_id,
                       occurrence.scheduled_for.isoformat(), overlapping)


class _CreatedAhead:
    """An occurrence's rows created chunk by chunk, each chunk of devices (in id order) in a
    transaction of its own, on a connection of its own in a helper thread, while the rows of
    the chunks already committed are published (`more`).

    The chunks grow from two publish batches to sixteen, so that publishing starts after a
    small first one. The guarantees are those of one INSERT: a chunk's rows are visible only
    once committed, and each chunk's ids are above every earlier chunk's (it starts after
    they committed), so reading the occurrence's rows in id order after the last one read
    misses none. A crash or a lost lock midway leaves the rest of the occurrence uncreated
    as well as unpublished: `last_tick` does not pass an occurrence until it was fanned out,
    so the next leader fires it again, and the unique row per device-occurrence creates only
    what is missing. Publishing that stops (a lost lock) stops the creating at the next
    chunk; leaving the `with` waits for it and raises what it raised.
    """

    FIRST, LARGEST = 2, 16  # chunk sizes, in publish batches

    @classmethod
    def first_bound(cls, devices: QuerySet[Device]) -> int | None:
        """The last device id of the first chunk, or None when the occurrence is made in one
        transaction: a fleet within one chunk, SQLite, or inside a transaction (the rows
        must be visible to this connection)."""
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return None
        return cls._bound(devices, None, cls.FIRST * settings.DEVICEVAULT.collection.publish_batch)

    @staticmethod
    def _bound(devices: QuerySet[Device], after: int | None, size: int) -> int | None:
        """The id of the `size`-th device after the id `after` (None: fewer are left)."""
        rest = devices if after is None else devices.filter(id__gt=after)
        return rest.order_by("id").values_list("id", flat=True)[size - 1:size].first()

    def __init__(self, occurrence: Occurrence, devices: QuerySet[Device], hold: Hold,
                 first: int) -> None:
        self.created: Counter[int | None] = Counter()
        self._work = (occurrence, devices, hold, first)
        self._changed = threading.Condition()
        self._committed = self._seen = 0  # chunks committed; of them, made known by `more`
        self._done = self._stop = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._create, name="fanout-create", daemon=True)

    def __enter__(self) -> _CreatedAhead:
        self._thread.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        with self._changed:
            self._stop = True
        self._thread.join()
        if self._error is not None and exc_type is None:
            raise self._error

    def _create(self) -> None:
        occurrence, devices, hold, first = self._work
        bound: int | None = first
        batch = settings.DEVICEVAULT.collection.publish_batch
        after: int | None = None
        size = self.FIRST * batch
        try:
            while True:
                chunk = devices if after is None else devices.filter(id__gt=after)
                if bound is not None:
                    chunk = chunk.filter(id__lte=bound)
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        # A chunk's INSERT plans above jit_above_cost: compiling it took
                        # longer than the per-row work JIT saves.
                        cursor.execute("SET LOCAL jit = off")
                    created = _create_under_windows(occurrence, chunk, hold)
                self.created += created
                with self._changed:
                    self._committed += 1
                    self._changed.notify_all()
                    if bound is None or self._stop:
                        return
                after, size = bound, min(2 * size, self.LARGEST * batch)
                bound = self._bound(devices, after, size)
        except BaseException as exc:  # raised by __exit__, in the fan-out's thread
            self._error = exc
        finally:
            connections.close_all()  # this thread's own connection
            with self._changed:
                self._done = True
                self._changed.notify_all()

    def more(self) -> bool:
        """Wait until another chunk is committed (True), or none is left to come (False)."""
        with self._changed:
            self._changed.wait_for(lambda: self._committed > self._seen or self._done)
            if self._committed > self._seen:
                self._seen = self._committed
                return True
            return False


NO_HOLD = Hold(skip=(), defer=())


def _in_scope(devices: QuerySet[Device], window: WindowSpec) -> QuerySet[Device]:
    if window.everything:
        return devices
    return devices.filter(Q(device_group_id__in=window.device_groups)
                          | Q(collection_group_id__in=window.collection_groups))


def _create_under_windows(
    occurrence: Occurrence, devices: QuerySet[Device], hold: Hold
) -> Counter[int | None]:
    """The occurrence's rows as its maintenance windows say (schedules/policy.py): the devices
    of a `skip` window first (skip wins), then those of the `defer` windows from the latest
    end (the latest wins), then the rest; the unique constraint keeps each device's first.
    Returns the rows created per window id (None: the rest)."""
    created: Counter[int | None] = Counter()
    for window in hold.skip:
        skipped = create_results(
            occurrence, _in_scope(devices, window), status=Status.SKIPPED,
            skip_reason=SkipReason.MAINTENANCE,
            error=f"inside maintenance window \u201c{window.name}\u201d (policy {SKIP})",
        )
        transaction.on_commit(functools.partial(count_finished, Status.SKIPPED, skipped))
        created[window.id] += skipped
    for window, end in sorted(hold.defer, key=lambda item: item[1], reverse=True):
        created[window.id] += create_results(occurrence, _in_scope(devices, window),
                                             fires_at=end)
    created[None] += create_results(occurrence, devices)
    return created


def record_missed(occurrence: Occurrence) -> int:
    """Record the occurrence as `missed_window` for every scheduled device; returns the rows.

    Rows the occurrence already has but never published are missed too: they were never
    sent, and now it is too late.
    """
    assert occurrence.schedule_id is not None
    with transaction.atomic():
        created = create_results(
            occurrence, scheduled_devices(occurrence.schedule_id), status=Status.MISSED_WINDOW
        )
        expired = _unpublished().filter(
            schedule_id=occurrence.schedule_id, scheduled_for=occurrence.scheduled_for
        ).update(status=Status.MISSED_WINDOW, finished_at=timezone.now(), error=MISSED_ERROR)
    count_finished(Status.MISSED_WINDOW, created + expired)  # metrics, once committed
    return created + expired


def repair_stranded(
    *, now: datetime, window: timedelta, older_than: datetime,
    may_publish: Callable[[], bool] = lambda: True, fence: Fence | None = None,
) -> int:
    """Publish rows left unpublished by a crash (queued before `older_than`, occurrence still
    within the restart window); rows whose occurrence is older become `missed_window`.
    Returns how many messages were published."""
    stranded = _due(_unpublished(), now).filter(queued_at__lt=older_than)
    cut = now - window  # a held row counts from when it was due, not from its occurrence
    too_old = Q(publish_after__isnull=True, scheduled_for__lt=cut) | Q(publish_after__lt=cut)
    missed = stranded.filter(too_old).update(
        status=Status.MISSED_WINDOW, finished_at=now, error=MISSED_ERROR
    )
    count_finished(Status.MISSED_WINDOW, missed)  # metrics
    occurrences = (
        stranded.exclude(too_old)
        .values_list("schedule_id", "scheduled_for", "manual")
        .order_by()  # Meta.ordering would add its columns to DISTINCT: one pass per row
        .distinct()
    )
    published = 0
    for schedule_id, scheduled_for, manual in occurrences:
        occurrence = Occurrence(schedule_id=schedule_id, scheduled_for=scheduled_for,
                                manual=manual)
        count = publish_pending(occurrence, may_publish=may_publish, fence=fence)
        logger.warning("republished stranded rows: schedule=%s occurrence=%s published=%d",
                       schedule_id, scheduled_for.isoformat(), count)
        published += count
    return published
