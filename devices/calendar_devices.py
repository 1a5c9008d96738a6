"""The calendar's device lists: per schedule, the first enabled devices by name a user may
see, and how many there are (docs/design.md, "The calendar's device lists").

Ranking every visible enabled device of every schedule on each request cost ~160 ms at
100,000 devices. On PostgreSQL the rankings are kept instead, per process, as a snapshot of
the device table at one version (migration 0011: a trigger takes a new version from a
sequence on every write to a column the calendar reads, whoever writes it). The snapshot
holds, per schedule and device group, the group's first `limit` enabled devices by name with
their rank in the whole schedule, and the group's count. A request reads the current version
and the user's device groups (one query); when the version is the snapshot's, each schedule's
list is the merge by rank of the visible groups' lists (`merge_firsts`, pure), kept per set
of groups until the version moves. Any other version reads a new snapshot (one query).

The version is read before the devices, so a snapshot is never older than its version: a
write committed in between only makes it newer, and bumps the version anyway. Elsewhere
(SQLite) the lists are read per request, the one-query way.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.db import connection
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber

from devices.access import allowed_device_groups, sees_every_device
from devices.models import Device

VERSION_TABLE = "devices_calendar_version"  # migration 0011
# Sets of device groups whose merged lists one snapshot keeps (users share few such sets).
MERGED_PER_SNAPSHOT = 64


class CalendarDevice(TypedDict):
    id: int
    name: str
    ip_address: str


@dataclass(frozen=True, slots=True)
class GroupFirsts:
    """One device group's part of a schedule: its first devices by name, each with its rank
    (1-based) among all the schedule's enabled devices, in rank order, and how many it has."""

    count: int
    devices: list[tuple[int, CalendarDevice]]


class DeviceList(list[CalendarDevice]):
    """A schedule's device list for one set of device groups, shared by every request until
    the version moves, and so never changed. `json` keeps its JSON once a renderer made it
    (devices.api.renderers), so a warm calendar does not encode its devices again."""

    __slots__ = ("json",)

    def __init__(self, devices: Iterable[CalendarDevice] = ()) -> None:
        super().__init__(devices)
        self.json: bytes | None = None


ScheduleDevices = tuple[dict[int, list[CalendarDevice]], dict[int, int]]


def merge_firsts(parts: Iterable[GroupFirsts], limit: int) -> tuple[list[CalendarDevice], int]:
    """The first `limit` devices by rank of the union of `parts`, and the union's count.

    Each part holds its group's first `limit` devices, so the union's first `limit` are among
    them: merging the parts by rank gives exactly the schedule's first `limit` visible ones.
    """
    parts = list(parts)
    count = sum(part.count for part in parts)
    if len(parts) == 1:
        return [device for _, device in parts[0].devices[:limit]], count
    merged = heapq.merge(*(part.devices for part in parts), key=lambda ranked: ranked[0])
    return [device for _, device in itertools.islice(merged, limit)], count


def select_lists(
    snapshot: dict[int, dict[int | None, GroupFirsts]],
    groups: frozenset[int | None] | None,
    limit: int,
) -> ScheduleDevices:
    """Per schedule, the merged lists and counts of the device groups `groups` (None: every
    group, also devices without one)."""
    devices: dict[int, list[CalendarDevice]] = {}
    counts: dict[int, int] = {}
    for schedule_id, by_group in snapshot.items():
        parts = [
            part for group_id, part in by_group.items() if groups is None or group_id in groups
        ]
        if parts:
            merged, counts[schedule_id] = merge_firsts(parts, limit)
            devices[schedule_id] = DeviceList(merged)
    return devices, counts


@dataclass
class _Snapshot:
    key: tuple[Any, ...]
    limit: int
    lists: dict[int, dict[int | None, GroupFirsts]]
    merged: dict[frozenset[int | None] | None, ScheduleDevices] = field(default_factory=dict)


_lock = threading.Lock()
_current: _Snapshot | None = None


def calendar_devices(user: Any, limit: int) -> ScheduleDevices:
    """Per schedule id (enabled or not): the first `limit` enabled devices by name (then id)
    that `user` may see, and how many. The lists may be shared with other requests: never
    change them."""
    everything = sees_every_device(user)
    if everything is False:
        return {}, {}
    if connection.vendor != "postgresql":
        return _read_for_user(user, limit)
    key, groups = _version_and_groups(user, everything=bool(everything))
    snapshot = _current
    if snapshot is None or snapshot.key != key or snapshot.limit != limit:
        snapshot = _Snapshot(key=key, limit=limit, lists=_read_snapshot(limit))
        if key[-1] is not None:  # no version row (never expected): used once, not kept
            _keep(snapshot)
    found = snapshot.merged.get(groups)
    if found is None:
        found = select_lists(snapshot.lists, groups, limit)
        with _lock:
            if len(snapshot.merged) >= MERGED_PER_SNAPSHOT:
                snapshot.merged.clear()
            snapshot.merged[groups] = found
    return found


def forget() -> None:
    """Drop the snapshot (tests; the version alone already keeps it right)."""
    global _current
    with _lock:
        _current = None


def _keep(snapshot: _Snapshot) -> None:
    global _current
    with _lock:
        _current = snapshot


def _version_and_groups(
    user: Any, *, everything: bool
) -> tuple[tuple[Any, ...], frozenset[int | None] | None]:
    """The snapshot key (this database, its version of the device lists) and the device
    groups `user` sees (None: all, also no group), in one query."""
    settings = connection.settings_dict
    select = (
        f"SELECT (SELECT oid FROM pg_database WHERE datname = current_database()),"
        f" (SELECT version FROM {VERSION_TABLE} WHERE id = 1)"
    )
    params: tuple[Any, ...] = ()
    if not everything:
        groups_sql, params = (
            allowed_device_groups(user).order_by().values("pk").query.sql_with_params()
        )
        select += f", ARRAY({groups_sql})"
    with connection.cursor() as cursor:
        cursor.execute(select, params)
        row = cursor.fetchone()
    key = (settings.get("HOST"), settings.get("PORT"), settings.get("NAME"), row[0], row[1])
    return key, None if everything else frozenset(row[2])


def _read_snapshot(limit: int) -> dict[int, dict[int | None, GroupFirsts]]:
    """Every schedule's first `limit` enabled devices per device group, ranked in the
    schedule, and each group's count (one query)."""
    per_schedule = [F("backup_schedule_id")]
    per_group = [F("backup_schedule_id"), F("device_group_id")]
    by_name = [F("name"), F("id")]
    rows = (
        Device.objects.filter(enabled=True, backup_schedule__isnull=False)
        .annotate(
            rank=Window(RowNumber(), partition_by=per_schedule, order_by=by_name),
            position=Window(RowNumber(), partition_by=per_group, order_by=by_name),
            total=Window(Count("id"), partition_by=per_group),
        )
        .filter(position__lte=limit)
        .order_by()
        .values_list("backup_schedule_id", "device_group_id", "rank", "id", "name",
                     "ip_address", "total")
    )
    ranked: dict[int, dict[int | None, list[tuple[int, CalendarDevice]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    totals: dict[tuple[int, int | None], int] = {}
    for schedule_id, group_id, rank, device_id, name, ip_address, total in rows:
        ranked[schedule_id][group_id].append(
            (rank, {"id": device_id, "name": name, "ip_address": ip_address})
        )
        totals[schedule_id, group_id] = total
    lists: dict[int, dict[int | None, GroupFirsts]] = {}
    for schedule_id, by_group in ranked.items():
        lists[schedule_id] = {}
        for group, devices in by_group.items():
            devices.sort(key=lambda ranked_device: ranked_device[0])
            lists[schedule_id][group] = GroupFirsts(
                count=totals[schedule_id, group], devices=devices
            )
    return lists


def _read_for_user(user: Any, limit: int) -> ScheduleDevices:
    """The lists of one user from the devices (one query): a window function numbers and
    counts each schedule's visible devices, and only the first `limit` of each come back."""
    per_schedule = [F("backup_schedule_id")]
    # Not joined to the schedules to keep the enabled ones: the caller only looks up
    # enabled schedules, and the join cost more than a disabled schedule's rows.
    rows = (
        Device.objects.restrict(user)
        .filter(enabled=True, backup_schedule__isnull=False)
        .annotate(
            position=Window(
                RowNumber(), partition_by=per_schedule, order_by=[F("name"), F("id")]
            ),
            total=Window(Count("id"), partition_by=per_schedule),
        )
        .filter(position__lte=limit)
        .order_by("backup_schedule_id", "position")
        .values_list("backup_schedule_id", "id", "name", "ip_address", "total")
    )
    devices: dict[int, list[CalendarDevice]] = defaultdict(list)
    counts: dict[int, int] = {}
    for schedule_id, device_id, name, ip_address, total in rows:
        devices[schedule_id].append({"id": device_id, "name": name, "ip_address": ip_address})
        counts[schedule_id] = total
    return devices, counts
