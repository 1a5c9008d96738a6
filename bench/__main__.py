"""`python -m bench`: the scheduler's benchmarks, side by side with django-celery-beat and RedBeat.

    .venv/bin/python -m bench                 # the full run (about 16 minutes on 2 cores, and
                                              # 5-9 more once, to make the read side's fleet)
    .venv/bin/python -m bench --only calendar,devices,analytics   # the read side only
    .venv/bin/python -m bench --quick         # smallest sizes, for the smoke test (< 1 minute)
    .venv/bin/python -m bench --repeat 5 --lateness-minutes 5 --markdown var/bench.md
    .venv/bin/python -m bench --chaos         # 10,000 devices under >= 50 faults (bench/chaos.py)
    .venv/bin/python -m bench --only ours --broker amqp://guest:guest@127.0.0.1:5672// \
        --fanout-sizes 1000,10000             # our fan-out on RabbitMQ (fan-out only)

Sets up its own data on the real PostgreSQL and Redis: databases `<db>_bench_beat` and
`<db>_bench_dcb` (`<db>` from DATABASE_URL, default devicevault; `_bench_quick_*` with
--quick), created and migrated here, and Redis databases 10 (ours) and 9 (the anchors) on the
REDIS_URL server (12 and 11 with --quick). Each part runs in its own process: ours
(bench.ours), django-celery-beat (bench.anchor_dcb, settings bench.settings), RedBeat
(bench.anchor_redbeat), the API's calendar benchmark (bench.calendar_bench) and the read side
(bench.readside: devices list and analytics), the last two on `<db>_bench_read` (a fleet of
100,000 devices and 10 M results, made in SQL and kept between runs while its fingerprint
matches: bench/readfleet.py). Prints every
figure's median, min and max over the runs, the goals and the ratios against the anchors.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

from bench.common import (
    GUARD_KEY,
    GUARD_TTL,
    PYTHON,
    ROOT,
    Results,
    Row,
    Targets,
    check_local,
    child_env,
    ensure_database,
    loadavg,
)
from bench.report import (
    render_markdown,
    render_markdown_sections,
    render_text,
    side_by_side,
    table,
)

PARTS = ("ours", "dcb", "redbeat", "calendar", "devices", "analytics")
# The read side's fleet (bench/readfleet.py), shared by the calendar, devices and analytics
# parts: devices, schedules, schedule mix, days of daily results.
READ_FLEET = {"full": (100_000, 1_000, "wide", 100), "quick": (500, 20, "wide", 5)}


def read_fleet_args(quick: bool) -> list[str]:
    devices, schedules, mix, days = READ_FLEET["quick" if quick else "full"]
    return ["--devices", str(devices), "--schedules", str(schedules), "--mix", mix,
            "--result-days", str(days)]


def machine(targets: Targets) -> dict[str, str]:
    """Cores, memory, CPU, versions of Python, Redis, PostgreSQL and the packages measured."""
    import psycopg2
    import redis

    info: dict[str, str] = {}
    cpu = "?"
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = re.search(r"model name\s*:\s*(.+)", text)
        cpu = found.group(1).strip() if found else cpu
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
                     .group(1))  # type: ignore[union-attr]
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        memory = "?"
    info["machine"] = f"{os.cpu_count()} cores ({cpu}), {memory} RAM, {platform.system()} " \
                      f"{platform.release()}"
    info["python"] = platform.python_version()
    client = redis.Redis.from_url(targets.ours_redis)
    server = client.info("server")
    persistence = client.config_get("save").get("save", "?")
    aof = client.config_get("appendonly").get("appendonly", "?")
    info["redis"] = f"{server.get('redis_version')} (save={persistence!r}, appendonly={aof})"
    from urllib.parse import urlsplit

    parts = urlsplit(targets.ours_db)
    conn = psycopg2.connect(host=parts.hostname, port=parts.port or 5432,
                            user=parts.username or "postgres", password=parts.password,
                            dbname=parts.path.lstrip("/"))
    with conn.cursor() as cursor:
        cursor.execute("SHOW server_version")
        info["postgresql"] = str(cursor.fetchone()[0])  # type: ignore[index]
        cursor.execute("SHOW synchronous_commit")
        info["postgresql"] += f" (synchronous_commit={cursor.fetchone()[0]})"  # type: ignore[index]
    conn.close()
    versions = []
    for name in ("Django", "celery", "kombu", "redis", "django-celery-beat", "celery-redbeat"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    info["packages"] = ", ".join(versions)
    return info


class Guard:
    """One run at a time on these Redis databases (SET NX with a TTL; released if ours)."""

    def __init__(self, url: str, wait: float) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.value = f"{os.getpid()}@{platform.node()}"
        self.wait = wait

    def __enter__(self) -> Guard:
        deadline = time.monotonic() + self.wait
        told = False
        while not self.client.set(GUARD_KEY, self.value, nx=True, ex=GUARD_TTL):
            if time.monotonic() > deadline:
                holder = self.client.get(GUARD_KEY)
                raise SystemExit(f"bench: another run holds {GUARD_KEY} ({holder!r}); gave up")
            if not told:
                print(f"bench: waiting for another run ({self.client.get(GUARD_KEY)!r})",
                      file=sys.stderr, flush=True)
                told = True
            time.sleep(2)
        return self

    def __exit__(self, *exc: object) -> None:
        script = ("if redis.call('GET', KEYS[1]) == ARGV[1] then "
                  "return redis.call('DEL', KEYS[1]) end return 0")
        try:
            self.client.eval(script, 1, GUARD_KEY, self.value)
        except Exception:  # noqa: BLE001 - it expires anyway
            pass


def run_part(name: str, argv: list[str], env: dict[str, str], rows: list[Row],
             failures: list[str]) -> None:
    """Run one measuring process; its rows are appended even when it fails half-way."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    started = time.monotonic()
    print(f"== {name} (load {loadavg()})", file=sys.stderr, flush=True)
    proc = subprocess.run([*argv, "--out", out], cwd=ROOT, env=env, check=False)
    try:
        rows.extend(Results.load(out))
    except (OSError, ValueError):
        pass
    finally:
        Path(out).unlink(missing_ok=True)
    if proc.returncode != 0:
        failures.append(f"{name} exited with {proc.returncode}")
    print(f"== {name}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


def run_calendar(args: argparse.Namespace, targets: Targets, rows: list[Row],
                 failures: list[str]) -> None:
    """The API engineer's calendar benchmark (bench.calendar_bench), on the read fleet."""
    argv = [PYTHON, "-m", "bench.calendar_bench", *read_fleet_args(args.quick)]
    argv += ["--runs", "3"] if args.quick else ["--runs", str(max(20, args.repeat or 0))]
    env = child_env(targets, database=targets.read_db, redis_url=targets.ours_redis,
                    BENCH_DATABASE_URL=targets.read_db,
                    DJANGO_SETTINGS_MODULE="project.settings")
    print(f"== calendar (load {loadavg()})", file=sys.stderr, flush=True)
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    sys.stderr.write(proc.stdout + proc.stderr)
    latency = re.search(r"GET calendar, (\d+) days, (\d+) runs: median ([\d.]+) ms, "
                        r"min ([\d.]+) ms, max ([\d.]+) ms", proc.stdout)
    queries = re.search(r"SQL queries per request: (\d+).*?min (\d+)", proc.stdout)
    fleet = re.search(r"fleet: (\d+) devices on (\d+) schedules", proc.stdout)
    what = (f"{int(fleet.group(1)):,} devices, {int(fleet.group(2)):,} schedules, a user "
            "seeing half"
            if fleet else "calendar")
    if latency:
        days, runs = int(latency.group(1)), int(latency.group(2))
        median, low, high = (float(latency.group(i)) for i in (3, 4, 5))
        rows.append(Row("calendar.latency", f"GET calendar, {days} days: {what}", "ms",
                        [median], extra={"summary": {"runs": runs, "median": median,
                                                     "min": low, "max": high}}))
    if queries:
        high_q, low_q = int(queries.group(1)), int(queries.group(2))
        rows.append(Row("calendar.queries", "GET calendar: SQL queries per request",
                        "queries", [high_q], extra={"summary": {
                            "runs": int(latency.group(2)) if latency else 1,
                            "median": high_q, "min": low_q, "max": high_q}}))
    if not latency or not queries:
        failures.append(f"calendar: output not understood (exit {proc.returncode})")
        rows.append(Row("calendar.latency", "GET calendar (bench.calendar_bench)", "ms", [],
                        note="not measured: see the log above"))
    print(f"== calendar: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--compare"]:  # two runs of the history (bench/history.py)
        from bench import history

        if len(argv) != 3:
            print("usage: python -m bench --compare A B  (files, or latest / previous)",
                  file=sys.stderr)
            return 2
        return history.main(argv[1], argv[2])
    if "--chaos" in argv:  # a scenario of its own, with its own options (bench/chaos.py)
        from bench import chaos

        return chaos.main([a for a in argv if a != "--chaos"])
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true",
                        help="smallest sizes, one run, no lateness run (the smoke test)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs of each figure (default 3; 1 with --quick)")
    parser.add_argument("--lateness-minutes", type=float, default=None,
                        help="how long the lateness beat runs (default 3; 0 with --quick)")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts to run, of: {', '.join(PARTS)}")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the largest fan-out (var/bench/fanout.prof)")
    parser.add_argument("--db-prefix", default=None,
                        help="database names <prefix>_beat and <prefix>_dcb")
    parser.add_argument("--broker", default=None,
                        help="measure our fan-out on this broker instead (e.g. "
                             "amqp://guest:guest@127.0.0.1:5672//): the ours part, fan-out only")
    parser.add_argument("--fanout-sizes", default=None,
                        help="comma-separated fan-out sizes (default 1000,10000,100000)")
    parser.add_argument("--markdown", default=None, help="also write the tables here")
    parser.add_argument("--json", default=None, help="also write every figure here")
    parser.add_argument("--no-history", action="store_true",
                        help="do not keep this run in docs/bench/ (a full run is kept)")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    lateness = args.lateness_minutes if args.lateness_minutes is not None else (
        0 if args.quick else 3)
    parts = [p for p in args.only.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")

    targets = Targets.derive(quick=args.quick, prefix=args.db_prefix)
    for url in (targets.ours_db, targets.dcb_db, targets.read_db, targets.ours_redis,
                targets.anchor_redis,
                *([args.broker] if args.broker else [])):
        check_local(url)
    started = time.monotonic()
    load_before = loadavg()
    for url in (targets.ours_db, targets.dcb_db, targets.read_db):
        if ensure_database(url):
            print(f"bench: created database {url.rsplit('/', 1)[1]}", file=sys.stderr)
    info = machine(targets)
    mode = "--quick" if args.quick else "full"
    common = ["--repeat", str(repeat)] + (["--quick"] if args.quick else [])
    rows: list[Row] = []
    failures: list[str] = []
    with Guard(targets.ours_redis, wait=240 if args.quick else 900):
        if "ours" in parts:
            broker = {"CELERY_BROKER_URL": args.broker} if args.broker else {}
            env = child_env(targets, database=targets.ours_db, redis_url=targets.ours_redis,
                            DJANGO_SETTINGS_MODULE="project.settings", **broker)
            argv = [PYTHON, "-m", "bench.ours", *common, "--lateness-minutes", str(lateness)]
            if args.broker:  # the lock and the figures stay in Redis: only the fan-out differs
                argv += ["--sections", "fanout"]
            if args.fanout_sizes:
                argv += ["--fanout-sizes", args.fanout_sizes]
            run_part("ours", argv + (["--profile"] if args.profile else []), env, rows,
                     failures)
        if "dcb" in parts:
            env = child_env(targets, database=targets.dcb_db, redis_url=targets.anchor_redis,
                            DJANGO_SETTINGS_MODULE="bench.settings")
            run_part("django-celery-beat", [PYTHON, "-m", "bench.anchor_dcb", *common], env,
                     rows, failures)
        if "redbeat" in parts and find_spec("redbeat") is None:
            rows.append(Row("idle.redbeat.missing", "RedBeat: not measured", "ms", [],
                            note="celery-redbeat is not installed: pip install -e '.[test,bench]'"))
        elif "redbeat" in parts:
            env = child_env(targets, database=targets.ours_db, redis_url=targets.anchor_redis)
            run_part("RedBeat", [PYTHON, "-m", "bench.anchor_redbeat", *common], env, rows,
                     failures)
        if "calendar" in parts:
            run_calendar(args, targets, rows, failures)
        read_parts = [p for p in ("devices", "analytics") if p in parts]
        if read_parts:
            env = child_env(targets, database=targets.read_db, redis_url=targets.ours_redis,
                            DJANGO_SETTINGS_MODULE="project.settings")
            argv = [PYTHON, "-m", "bench.readside", *read_fleet_args(args.quick),
                    "--parts", ",".join(read_parts),
                    "--runs", "3" if args.quick else str(max(10, args.repeat or 0))]
            run_part("read side", argv, env, rows, failures)

    info["load average (1/5/15 min)"] = f"{load_before} before, {loadavg()} after"
    info["run"] = (f"{mode}, {repeat} run(s) per figure, lateness beat {lateness:g} min, "
                   f"{(time.monotonic() - started) / 60:.1f} min in all, "
                   f"{time.strftime('%Y-%m-%d %H:%M %Z')}")
    main_table = table(rows)
    headline = side_by_side(rows)
    print()
    print("DeviceVault scheduler benchmarks")
    for key, value in info.items():
        print(f"  {key}: {value}")
    print()
    print(render_text(main_table))
    print()
    print("Side by side (medians)")
    print(render_text(headline, skip_repeats=None))
    if failures:
        print()
        print("FAILED: " + "; ".join(failures))
    if args.markdown:
        lines = ["| | |", "|---|---|", *[f"| {k} | {v} |" for k, v in info.items()], "",
                 render_markdown(headline), "", render_markdown_sections(main_table), ""]
        Path(args.markdown).write_text("\n".join(lines))
    run = {"info": info, "rows": [r.__dict__ for r in rows], "failures": failures}
    if args.json:
        Path(args.json).write_text(json.dumps(run, indent=1, default=str))
    if not args.quick and not args.no_history:
        from bench import history

        kept = history.save(run, stamp=time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
        print(f"\nkept as {kept.relative_to(ROOT)}; compare: python -m bench --compare "
              "previous latest")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
