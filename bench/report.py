"""The benchmark's tables: every figure with its runs, median, min and max, the goal it is held
to, and how it compares with the anchors measured in the same run."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bench.common import Row

SECTIONS = (
    ("idle.", "1. Idle tick (nothing due)"),
    ("fanout.", "2. Fan-out: due → last task in the broker"),
    ("publish.", "2. Fan-out: the anchors publishing N due entries"),
    ("raw.", "2. Publishing limits of this machine"),
    ("lateness.", "3. Lateness: due instant → publish"),
    ("failover.", "4. Failover after kill -9 of the leader"),
    ("duplicates.", "4. Failover: django-celery-beat has none (two beats both send)"),
    ("calendar.", "6. Calendar API"),
    ("memory.", "7. Memory"),
    ("devices.", "8. Devices list API"),
    ("analytics.", "9. Analytics API"),
)


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "queries" or (abs(value) >= 1000) or (value == int(value) and abs(value) >= 10):
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def summary(row: Row) -> tuple[int, float | None, float | None, float | None]:
    """(runs, median, min, max): from the samples, or as given by a benchmark that kept them."""
    given = row.extra.get("summary")
    if given:
        return given["runs"], given["median"], given["min"], given["max"]
    if not row.samples:
        return 0, None, None, None
    return (len(row.samples), statistics.median(row.samples), min(row.samples),
            max(row.samples))


def times(ours: float | None, anchor: float | None, name: str, *, higher_is_better: bool = False
          ) -> str:
    """'12× faster than RedBeat' (or slower) for two figures of the same kind."""
    if not ours or not anchor:
        return ""
    ratio = ours / anchor if higher_is_better else anchor / ours
    word = ("more" if higher_is_better else "faster") if ratio >= 1 else (
        "less" if higher_is_better else "slower")
    value = ratio if ratio >= 1 else 1 / ratio
    shown = f"{value:,.1f}" if value < 100 else f"{value:,.0f}"
    return f"{shown}× {word} than {name}"


@dataclass
class Goal:
    text: str
    check: Callable[[Row], bool | None]


def _median_at_most(limit: float) -> Callable[[Row], bool | None]:
    return lambda row: None if summary(row)[1] is None else summary(row)[1] <= limit  # type: ignore[operator]


def _max_at_most(limit: float) -> Callable[[Row], bool | None]:
    return lambda row: None if summary(row)[3] is None else summary(row)[3] <= limit  # type: ignore[operator]


def goals(rows: dict[str, Row]) -> dict[str, Goal]:
    out: dict[str, Goal] = {}
    for key in rows:
        if key.startswith("idle.ours.") and key.endswith(".queries"):
            out[key] = Goal("≤ 1 query, same at every size", _max_at_most(1))
        elif key.startswith("idle.ours.") and "schedules" in rows[key].extra:
            out[key] = Goal("≤ 1 ms", _median_at_most(1.0))
        elif key == "fanout.ours.100000":
            out[key] = Goal("≤ 5 s", _median_at_most(5.0))
        elif key == "memory.ours":
            out[key] = Goal("≤ 120 MiB", _median_at_most(120.0))
        elif key == "lateness.ours.done" or key == "lateness.ours.start":
            out[key] = Goal("p99 < 1 s", lambda row: None if row.extra.get("p99") is None
                            else row.extra["p99"] < 1.0)
        elif key == "failover.ours":
            out[key] = Goal("< 5 s (every run)", lambda row: None if not row.samples
                            else max(row.samples) < 5.0)
        elif key == "calendar.latency":
            out[key] = Goal("≤ 100 ms", _median_at_most(100.0))
        elif key == "calendar.queries":
            out[key] = Goal("≤ 10 queries", _max_at_most(10))
        elif key == "devices.page":
            out[key] = Goal("≤ 100 ms", _median_at_most(100.0))
        elif key.startswith("devices.") and key.endswith(".queries"):
            # session, user, count, page (+ the schedules for ?backup_status=stale)
            out[key] = Goal("≤ 5 queries, same at every size", _max_at_most(5))
        elif (key.startswith("analytics.") and not key.endswith(".queries")
              and key not in ("analytics.summaries", "analytics.open_day")):  # s, results
            out[key] = Goal("≤ 500 ms", _median_at_most(500.0))
    return out


def comparisons(rows: dict[str, Row]) -> dict[str, str]:
    """The 'vs anchors' column: our figure against the anchors' figure of the same kind."""
    def med(key: str) -> float | None:
        return summary(rows[key])[1] if key in rows else None

    out: dict[str, str] = {}
    for key, row in rows.items():
        parts: list[str] = []
        if (key.startswith("idle.ours.") and not key.endswith(".queries")
                and "schedules" in row.extra):
            size = row.extra.get("schedules")
            parts += [times(med(key), med(f"idle.redbeat.schedule.{size}"),
                            f"RedBeat ({size:,} entries)"),
                      times(med(key), med(f"idle.dcb.schedule.{size}"),
                            f"django-celery-beat ({size:,} entries)")]
        elif key.startswith("idle.ours.") and key.endswith(".queries"):
            size = row.extra.get("schedules")
            dcb = med(f"idle.dcb.schedule.{size}.queries")
            if dcb is not None:
                parts.append(f"django-celery-beat: {fmt(dcb, 'queries')}")
        elif (key.startswith("fanout.ours.") and "process" not in key
              and not key.endswith(".unfenced")):
            n = int(row.extra.get("n", 0))
            ours = med(key)
            rate = row.extra.get("rate")
            for anchor, name in ((f"publish.redbeat.{n}", "RedBeat"),
                                 (f"publish.dcb.{n}", "django-celery-beat")):
                parts.append(times(ours, med(anchor), f"{name} per device"))
            send = med("raw.send_task")
            if send and ours:
                parts.append(times(ours, n / send, "a send_task loop"))
            for raw, name in (("raw.redis_benchmark.64", "redis-benchmark -P 64"),
                              ("raw.redis_py.1", "the redis-py LPUSH floor")):
                limit = med(raw)
                if limit and rate:
                    parts.append(f"{100 * rate / limit:.0f}% of {name}")
        elif key == "failover.ours":
            parts += [times(med(key), med("failover.redbeat"), "RedBeat (5 s lock)"),
                      times(med(key), med("failover.redbeat.default"), "RedBeat (default)")]
        elif key == "memory.ours":
            for anchor, name in (("memory.redbeat", "RedBeat"), ("memory.dcb",
                                                                 "django-celery-beat")):
                if anchor in rows:
                    entries = rows[anchor].extra.get("entries", 0)
                    value = med(anchor)
                    parts.append(f"{name} at {entries:,} entries: {fmt(value)} MiB")
        out[key] = "; ".join(p for p in parts if p)
    return out


def table(rows: list[Row]) -> list[list[str]]:
    """Header + one line per figure, grouped by section, in the order of SECTIONS."""
    by_key = {row.key: row for row in rows}
    goal = goals(by_key)
    versus = comparisons(by_key)
    lines = [["section", "figure", "runs", "median", "min", "max", "unit", "goal",
              "vs anchors / notes"]]
    seen: set[str] = set()
    for prefix, title in SECTIONS:
        for row in rows:
            if not row.key.startswith(prefix) or row.key in seen:
                continue
            seen.add(row.key)
            runs, median, low, high = summary(row)
            g = goal.get(row.key)
            verdict = ""
            if g:
                ok = g.check(row)
                verdict = f"{g.text}: {'OK' if ok else 'MISSED' if ok is False else 'n/a'}"
            notes = "; ".join(n for n in (versus.get(row.key, ""), row.note) if n)
            lines.append([title, row.label, str(runs), fmt(median, row.unit),
                          fmt(low, row.unit), fmt(high, row.unit), row.unit, verdict, notes])
    return lines


def side_by_side(rows: list[Row]) -> list[list[str]]:
    """The headline figures of the three schedulers, one line each."""
    by_key = {row.key: row for row in rows}

    def med(key: str) -> float | None:
        return summary(by_key[key])[1] if key in by_key else None

    def cell(key: str, unit: str, prefix: str = "") -> str:
        value = med(key)
        return f"{prefix}{fmt(value, unit)} {unit}" if value is not None else "-"

    def rate_cell(rate_key: str, n: int, label: str) -> str:
        row = by_key.get(rate_key)
        rate = (row.extra.get("rate") or (row.median if row and row.unit == "tasks/s" else None)
                ) if row else None
        return f"~{fmt(n / rate)} s ({label})" if rate else "-"

    out = [["figure", "ours", "django-celery-beat", "RedBeat"]]
    idle_sizes = sorted({r.extra["schedules"] for r in rows
                         if r.key.startswith("idle.ours.") and "schedules" in r.extra})
    for size in idle_sizes:
        ours = cell(f"idle.ours.{size}", "ms")
        q = med(f"idle.ours.{size}.queries")
        dq = med(f"idle.dcb.schedule.{size}.queries")
        out.append([f"idle tick, {size:,} schedules",
                    f"{ours}, {fmt(q, 'queries')} quer{'y' if q == 1 else 'ies'}"
                    if q is not None else ours,
                    cell(f"idle.dcb.schedule.{size}", "ms") +
                    (f", {fmt(dq, 'queries')} queries" if dq is not None else ""),
                    cell(f"idle.redbeat.schedule.{size}", "ms")])
    if "idle.dcb.device.10000" in by_key or "idle.redbeat.device.10000" in by_key:
        big = max(idle_sizes) if idle_sizes else 0
        out.append(["idle tick, 10,000 devices as one entry each (ours: schedules, any fleet)",
                    cell(f"idle.ours.{big}", "ms") + f" ({big:,} schedules)",
                    cell("idle.dcb.device.10000", "ms"), cell("idle.redbeat.device.10000", "ms")])
    fan_sizes = sorted(r.extra["n"] for r in rows if r.key.startswith("fanout.ours.")
                       and "process" not in r.key and not r.key.endswith(".unfenced"))

    def anchor_publish(name: str, n: int) -> str:
        key = f"publish.{name}.{n}"
        if key in by_key:
            return cell(key, "s") + " (entry per device)"
        measured = [r for r in rows if r.key.startswith(f"publish.{name}.")]
        if not measured:
            return "-"
        largest = max(measured, key=lambda r: r.extra.get("n", 0))
        return rate_cell(largest.key, n, "entry per device, extrapolated")

    for n in fan_sizes:
        fan = rate_cell("raw.send_task", n, "entry per schedule + send_task loop")
        out.append([f"publish {n:,} device tasks", cell(f"fanout.ours.{n}", "s"),
                    f"{anchor_publish('dcb', n)}; {fan}",
                    f"{anchor_publish('redbeat', n)}; {fan}"])
    out.append(["failover after kill -9 of the leader", cell("failover.ours", "s"),
                "none: one beat only, or duplicates" + (
                    f" (two beats: {fmt(med('duplicates.dcb'))} sends for "
                    f"{by_key['duplicates.dcb'].extra.get('expected')} due)"
                    if "duplicates.dcb" in by_key else ""),
                cell("failover.redbeat", "s") + " with a 5 s lock; " +
                cell("failover.redbeat.default", "s") + " by default"])
    mem = by_key.get("memory.ours")
    out.append(["peak RSS of the beat",
                cell("memory.ours", "MiB") + (f" at {mem.extra.get('devices', 0):,} devices"
                                               if mem else ""),
                cell("memory.dcb", "MiB") + _entries(by_key.get("memory.dcb")),
                cell("memory.redbeat", "MiB") + _entries(by_key.get("memory.redbeat"))])
    return out


def _entries(row: Row | None) -> str:
    return f" at {row.extra.get('entries', 0):,} entries" if row else ""


def render_text(table_rows: list[list[str]], *, skip_repeats: int | None = 0) -> str:
    """Aligned columns; a section name is printed once, above its rows."""
    widths = [max(len(r[i]) for r in table_rows) for i in range(len(table_rows[0]))]
    lines = []
    last = None
    for index, row in enumerate(table_rows):
        if skip_repeats is not None and index > 0 and row[skip_repeats] != last:
            last = row[skip_repeats]
            lines.append(f"-- {last}")
        cells = [c for i, c in enumerate(row) if skip_repeats is None or i != skip_repeats]
        ws = [w for i, w in enumerate(widths) if skip_repeats is None or i != skip_repeats]
        lines.append("  ".join(c.ljust(w) if i in (0, len(cells) - 1) or not _numeric(c)
                               else c.rjust(w) for i, (c, w) in enumerate(zip(cells, ws,
                                                                              strict=True)))
                     .rstrip())
    return "\n".join(lines)


def _numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or text[0] in "-~") and text != "-"


def render_markdown(table_rows: list[list[str]]) -> str:
    def esc(c: str) -> str:
        return c.replace("|", "\\|")

    head, *body = table_rows
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in body]
    return "\n".join(out)


def render_markdown_sections(table_rows: list[list[str]]) -> str:
    """The main table as one Markdown table per section (the section column as a heading)."""
    head, *body = table_rows
    out: list[str] = []
    current = None
    for row in body:
        if row[0] != current:
            current = row[0]
            out += ["", f"#### {current}", "", "| " + " | ".join(head[1:]) + " |",
                    "|" + "---|" * (len(head) - 1)]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in row[1:]) + " |")
    return "\n".join(out).lstrip("\n")


def machine_lines(info: dict[str, Any]) -> Iterable[str]:
    for key, value in info.items():
        yield f"{key}: {value}"
