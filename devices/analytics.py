"""Backup analytics: outcome counts, success rate, duration percentiles and the top errors per
schedule, collection group, device group or local day, computed in the database in two queries
whatever the number of results, over the devices a user may see.

The success rate is successes over results that were due (every counted status but
`skipped`); durations are those of results that ran (started and finished). Percentiles
are nearest-rank (the smallest duration with at least p % of the durations at
or below it) from window functions, which PostgreSQL and SQLite both have.

On PostgreSQL, a window of whole local days (the API's) reads the days already summarised
from their cells (`devices.analytics_summary`) and only the others from the results: the
counts add up, the cells' distinct durations with their counts merge into the same exact
nearest-rank percentiles (a running sum of the counts), their error counts into the same top
errors. A cell is split by device group, the unit of the access rule, so the user's device
groups pick exactly the cells of the devices the user may see.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from devices import analytics_summary as summary
from devices.access import device_group_scope
from devices.choices import DeviceBackupResultStatusChoices as Status
from devices.models import CollectionGroup, Device, DeviceBackupResult, DeviceGroup
from devices.selectors import display_zone
from schedules.models import BackupSchedule

GROUP_BY = ("schedule", "collection_group", "device_group", "day")
TOP_ERRORS = 5
ERROR_CHARS = summary.ERROR_CHARS  # errors are grouped on their first characters
COUNTED = summary.COUNTED

# group_by: (the result column or device column it groups on, the table naming it)
_KEYS = {
    "schedule": ("res.schedule_id", BackupSchedule._meta.db_table),
    "collection_group": ("dev.collection_group_id", CollectionGroup._meta.db_table),
    "device_group": ("dev.device_group_id", DeviceGroup._meta.db_table),
}


@dataclass
class GroupFigures:
    """One group's figures over the window."""

    id: int | None
    name: str
    total: int = 0
    success: int = 0
    failed: int = 0
    missed_window: int = 0
    skipped: int = 0
    success_rate: float | None = None
    duration_p50_seconds: float | None = None
    duration_p95_seconds: float | None = None
    top_errors: list[dict[str, Any]] = field(default_factory=list)


def _percentiles_by_aggregate() -> bool:
    """PostgreSQL merges counted durations (and reads the summaries); SQLite gets the
    window-function form over every result."""
    return connection.vendor == "postgresql"


def _duration_sql() -> str:
    if connection.vendor == "postgresql":
        return "EXTRACT(EPOCH FROM (res.finished_at - res.started_at))"
    return "(julianday(res.finished_at) - julianday(res.started_at)) * 86400.0"


def analytics_for_user(
    *, user: Any, start: datetime, end: datetime, group_by: str,
    days: list[tuple[date, datetime]] | None = None,
) -> list[GroupFigures]:
    """`analytics()` of the devices `user` may see."""
    sees_ungrouped, groups = device_group_scope(user)
    return analytics(devices=Device.objects.restrict(user), start=start, end=end,
                     group_by=group_by, days=days,
                     device_groups=(sees_ungrouped, groups.values("pk")))


def analytics(
    *, devices: QuerySet[Device], start: datetime, end: datetime, group_by: str,
    days: list[tuple[date, datetime]] | None = None, top_errors: bool = True,
    device_groups: tuple[bool, QuerySet[Any]] | None = None,
) -> list[GroupFigures]:
    """Figures of the results with `start <= scheduled_for < end` of `devices`, one entry per
    group that has any, by name (no group last); without `top_errors`, one query.

    `group_by="day"` needs `days`: each local day with the UTC instant it starts, in order;
    an entry is then a day (`id` its index, `name` its ISO date), days without results
    included, in date order.

    `device_groups` (whether devices without a group count, and a query of the ids of the
    device groups whose devices count) says that `devices` are exactly those: with it and
    `days`, PostgreSQL reads the summarised days from their cells.
    """
    if (days and device_groups is not None and _percentiles_by_aggregate()
            and summary.available()):
        return _merged(devices=devices, end=end, group_by=group_by, days=days,
                       top_errors=top_errors, device_groups=device_groups)
    adapt = connection.ops.adapt_datetimefield_value
    day_params: list[Any] = []
    if group_by == "day":
        assert days, "group_by=day needs the days"
        # The day an instant falls on, portably: the last day that starts at or before it.
        key = "CASE " + " ".join(
            f"WHEN res.scheduled_for >= %s THEN {i}" for i in reversed(range(len(days)))
        ) + " END"
        day_params = [adapt(begins) for _, begins in reversed(days)]
        names_table = ""
    else:
        key, names_table = _KEYS[group_by]
    # Without order_by(): the devices' default ordering (by name) would sort them for nothing.
    visible_sql, visible_params = devices.order_by().values("id").query.sql_with_params()
    statuses = ", ".join(f"'{s}'" for s in COUNTED)
    # Each result once, with its group and its duration (null when it did not run).
    rows_sql = (
        f"SELECT {key} AS k, res.status AS status, res.error AS error, "
        f"CASE WHEN res.started_at IS NOT NULL AND res.finished_at IS NOT NULL "
        f"THEN {_duration_sql()} END AS d "
        f"FROM {DeviceBackupResult._meta.db_table} res "
        f"JOIN {Device._meta.db_table} dev ON dev.id = res.device_id "
        f"WHERE res.scheduled_for >= %s AND res.scheduled_for < %s "
        f"AND res.status IN ({statuses}) AND res.device_id IN ({visible_sql})"
    )
    params = [*day_params, adapt(start), adapt(end), *visible_params]
    sums = ", ".join(
        f"SUM(CASE WHEN status = '{s}' THEN 1 ELSE 0 END) AS n_{s}" for s in COUNTED
    )
    name_sql = "g.name" if names_table else "NULL"
    if _percentiles_by_aggregate():
        # The same nearest-rank percentiles (percentile_disc is the value at rank
        # ceil(p * n) of the non-null durations: the smallest with rn >= n * p below), from
        # one sort per group instead of numbering every row of the window: about half the
        # time over millions of results.
        figures_sql = (
            f"WITH r AS ({rows_sql}), figures AS ("
            f"SELECT k, COUNT(*) AS total, {sums}, "
            f"percentile_disc(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY d) AS p "
            f"FROM r GROUP BY k) "
            f"SELECT f.k, {name_sql}, f.total, "
            + ", ".join(f"f.n_{s}" for s in COUNTED) + ", f.p[1], f.p[2] FROM figures f"
            + (f" LEFT JOIN {names_table} g ON g.id = f.k" if names_table else "")
        )
    else:
        figures_sql = (
            f"WITH r AS ({rows_sql}), ranked AS ("
            f"SELECT k, status, d, "
            f"ROW_NUMBER() OVER (PARTITION BY k, d IS NULL ORDER BY d) AS rn, "
            f"COUNT(d) OVER (PARTITION BY k) AS nd FROM r) "
            f"SELECT ranked.k, {name_sql}, COUNT(*), {sums}, "
            "MIN(CASE WHEN d IS NOT NULL AND rn >= nd * 0.5 THEN d END), "
            "MIN(CASE WHEN d IS NOT NULL AND rn >= nd * 0.95 THEN d END) FROM ranked "
            + (f"LEFT JOIN {names_table} g ON g.id = ranked.k GROUP BY ranked.k, g.name"
               if names_table else "GROUP BY ranked.k")
        )
    errors_sql = (
        f"WITH r AS ({rows_sql}), counted AS ("
        f"SELECT k, SUBSTR(error, 1, {ERROR_CHARS}) AS e, COUNT(*) AS n, "
        f"ROW_NUMBER() OVER (PARTITION BY k ORDER BY COUNT(*) DESC, SUBSTR(error, 1, "
        f"{ERROR_CHARS})) AS rn FROM r WHERE status = '{Status.FAILED}' AND error <> '' "
        f"GROUP BY k, SUBSTR(error, 1, {ERROR_CHARS})) "
        f"SELECT k, e, n FROM counted WHERE rn <= {TOP_ERRORS} ORDER BY k, rn"
    )
    return _figures(figures_sql, params, errors_sql if top_errors else None, params,
                    group_by=group_by, days=days, seconds=_seconds)


def _figures(
    figures_sql: str, params: list[Any], errors_sql: str | None, errors_params: list[Any], *,
    group_by: str, days: list[tuple[date, datetime]] | None, seconds: Any,
) -> list[GroupFigures]:
    """Run the two statements; `seconds` turns a percentile as read into seconds."""
    groups: dict[Any, GroupFigures] = {}
    with connection.cursor() as cursor:
        cursor.execute(figures_sql, params)
        for k, name, total, success, failed, missed, skipped, p50, p95 in cursor.fetchall():
            due = total - skipped  # a skip (maintenance, overlap) is nobody's failure
            groups[k] = GroupFigures(
                id=k, name=name or _no_group(group_by), total=total, success=success,
                failed=failed, missed_window=missed, skipped=skipped,
                success_rate=round(success / due, 4) if due else None,
                duration_p50_seconds=seconds(p50), duration_p95_seconds=seconds(p95),
            )
        if errors_sql is not None:
            cursor.execute(errors_sql, errors_params)
            for k, error, count in cursor.fetchall():
                groups[k].top_errors.append({"error": error, "count": count})
    if group_by == "day":
        assert days is not None
        return [
            replace(groups.get(i) or GroupFigures(id=i, name=""), name=day.isoformat())
            for i, (day, _) in enumerate(days)
        ]
    return sorted(groups.values(), key=lambda g: (g.id is None, g.name.lower(), g.id or 0))


# group_by: (the kind of cell it reads, the cell column naming its group)
_CELL_KEYS = {
    "schedule": ("s", "NULLIF(c.key, 0)"),
    "collection_group": ("c", "NULLIF(c.key, 0)"),
    "device_group": ("g", "NULLIF(c.key, 0)"),
    "day": ("g", "(d.day - %s::date)"),
}
_NO_JIT = "SET LOCAL jit = off; "
_MICROSECONDS = (
    "CASE WHEN res.started_at IS NOT NULL AND res.finished_at IS NOT NULL "
    "THEN (EXTRACT(EPOCH FROM (res.finished_at - res.started_at)) * 1000000)::bigint END"
)


def _merged(
    *, devices: QuerySet[Device], end: datetime, group_by: str,
    days: list[tuple[date, datetime]], top_errors: bool,
    device_groups: tuple[bool, QuerySet[Any]],
) -> list[GroupFigures]:
    """`analytics()` on PostgreSQL over whole local days: the summarised days from their
    cells, the others from their results, merged (see the module docstring)."""
    zone = summary.zone_key(display_zone())
    visible_sql, visible_params = devices.order_by().values("id").query.sql_with_params()
    sees_ungrouped, group_ids = device_groups
    groups_sql, groups_params = group_ids.order_by().query.sql_with_params()
    statuses = ", ".join(f"'{s}'" for s in COUNTED)
    ends = [begins for _, begins in days[1:]] + [end]

    def raw(extra: str) -> tuple[str, list[Any]]:
        """Each result of the days not summarised, with its group and its microseconds; a
        summarised day's branch is skipped whole (a one-time filter)."""
        branches, params = [], []
        for i, ((day, begins), until) in enumerate(zip(days, ends, strict=True)):
            key = str(i) if group_by == "day" else _KEYS[group_by][0]
            branches.append(
                f"SELECT {key} AS k, res.status AS status, res.error AS error, "
                f"{_MICROSECONDS} AS us "
                f"FROM {DeviceBackupResult._meta.db_table} res "
                f"JOIN {Device._meta.db_table} dev ON dev.id = res.device_id "
                f"WHERE res.scheduled_for >= %s AND res.scheduled_for < %s "
                f"AND res.status IN ({statuses}){extra} AND res.device_id IN ({visible_sql}) "
                f"AND NOT EXISTS (SELECT 1 FROM {summary.DAY_TABLE} "
                f"WHERE zone = %s AND day = %s AND ready)"
            )
            params += [begins, until, *visible_params, zone, day]
        return " UNION ALL ".join(branches), params

    kind, cell_key = _CELL_KEYS[group_by]
    cells_sql = (
        f"SELECT {cell_key} AS k, c.* FROM {summary.CELL_TABLE} c "
        f"JOIN {summary.DAY_TABLE} d ON d.id = c.day_id "
        f"WHERE d.zone = %s AND d.ready AND d.day >= %s AND d.day <= %s AND c.kind = %s "
        f"AND (c.device_group IN ({groups_sql}) OR (%s AND c.device_group = 0))"
    )
    cells_params = [*([days[0][0]] if group_by == "day" else []), zone, days[0][0],
                    days[-1][0], kind, *groups_params, sees_ungrouped]
    names_table = "" if group_by == "day" else _KEYS[group_by][1]
    name_sql = "g.name" if names_table else "NULL"
    sums = ", ".join(
        f"SUM(CASE WHEN status = '{s}' THEN 1 ELSE 0 END) AS n_{s}" for s in COUNTED
    )
    raw_sql, raw_params = raw("")
    figures_sql = (
        f"WITH raw AS ({raw_sql}), cells AS ({cells_sql}), "
        f"counts AS (SELECT k, SUM(total) AS total, "
        + ", ".join(f"SUM(n_{s}) AS n_{s}" for s in COUNTED)
        + f" FROM (SELECT k, COUNT(*) AS total, {sums} FROM raw GROUP BY k UNION ALL "
        f"SELECT k, total, " + ", ".join(f"{s}" for s in COUNTED) + " FROM cells) x "
        "GROUP BY k), "
        "durations AS (SELECT k, us, SUM(n) AS n FROM ("
        "SELECT k, us, 1 AS n FROM raw WHERE us IS NOT NULL UNION ALL "
        "SELECT c.k, u.us, u.n FROM cells c, unnest(c.durations, c.duration_counts) "
        "AS u(us, n)) x GROUP BY k, us), "
        "ranked AS (SELECT k, us, SUM(n) OVER (PARTITION BY k ORDER BY us) AS cum, "
        "SUM(n) OVER (PARTITION BY k) AS nd FROM durations), "
        "pct AS (SELECT k, MIN(us) FILTER (WHERE cum >= nd * 0.5) AS p50, "
        "MIN(us) FILTER (WHERE cum >= nd * 0.95) AS p95 FROM ranked GROUP BY k) "
        f"SELECT counts.k, {name_sql}, counts.total, "
        + ", ".join(f"counts.n_{s}" for s in COUNTED) + ", pct.p50, pct.p95 FROM counts "
        "LEFT JOIN pct ON pct.k IS NOT DISTINCT FROM counts.k"
        + (f" LEFT JOIN {names_table} g ON g.id = counts.k" if names_table else "")
    )
    errors_raw_sql, errors_raw_params = raw(f" AND res.status = '{Status.FAILED}' "
                                            "AND res.error <> ''")
    errors_sql = (
        f"WITH raw AS ({errors_raw_sql}), cells AS ({cells_sql}), "
        f"counted AS (SELECT k, e, SUM(n) AS n FROM ("
        f"SELECT k, SUBSTR(error, 1, {ERROR_CHARS}) AS e, 1 AS n FROM raw UNION ALL "
        "SELECT c.k, u.e, u.n FROM cells c, unnest(c.errors, c.error_counts) AS u(e, n)"
        ") x GROUP BY k, e), "
        "ranked AS (SELECT k, e, n, ROW_NUMBER() OVER (PARTITION BY k ORDER BY n DESC, e) "
        f"AS rn FROM counted) SELECT k, e, n FROM ranked WHERE rn <= {TOP_ERRORS} "
        "ORDER BY k, rn"
    )
    # Without JIT: the planner costs every day's branch as if it ran, so PostgreSQL would
    # compile the whole statement (30 s at 30 days of 100,000 devices) to run a few of them.
    # SET LOCAL lasts until the statement's transaction ends (this one, in autocommit).
    return _figures(
        _NO_JIT + figures_sql, [*raw_params, *cells_params],
        _NO_JIT + errors_sql if top_errors else None, [*errors_raw_params, *cells_params],
        group_by=group_by, days=days, seconds=_microseconds,
    )


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _microseconds(value: Any) -> float | None:
    # The same float as the seconds' exact decimal (both the double nearest to it).
    return None if value is None else round(value / 1_000_000, 3)


def _no_group(group_by: str) -> str:
    return "(no schedule)" if group_by == "schedule" else "(no group)"
