"""What every benchmark process shares: where its data lives, results, logs and processes.

No Django here: the runner (`python -m bench`) imports this module before any settings exist,
and each measuring process sets its environment from it before Django starts.
"""

from __future__ import annotations

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CELERY = str(Path(PYTHON).with_name("celery"))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/devicevault"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Redis databases of the benchmark: ours and the anchors (django-celery-beat, RedBeat) apart,
# so a lock key or a queue of one can never be seen by the other. `--quick` (the smoke test)
# uses two others, so the test suite never disturbs a full run going on at the same time.
REDIS_DBS = {"full": (10, 9), "quick": (12, 11)}
# Held (SET NX) in our Redis database for the length of a run: two runs sharing the Redis
# databases wait for each other instead of flushing each other's queues.
GUARD_KEY = "devicevault:bench:running"
GUARD_TTL = 1800  # seconds; a run that dies leaves it to expire


@dataclass(frozen=True)
class Targets:
    """The databases of one run, derived from DATABASE_URL/REDIS_URL (or their defaults)."""

    ours_db: str  # PostgreSQL URL: our fleet, our beat, and the calendar benchmark after it
    dcb_db: str  # PostgreSQL URL: django-celery-beat's PeriodicTask tables
    ours_redis: str  # Redis URL: our broker, lock and metrics
    anchor_redis: str  # Redis URL: the anchors' broker (and RedBeat's schedule)
    var_dir: str  # logs and the configuration file of the child processes
    # PostgreSQL URL: the read side's fleet (calendar, devices list, analytics), kept between
    # runs while its fingerprint matches (bench/readfleet.py)
    read_db: str = ""

    @classmethod
    def derive(cls, *, quick: bool, prefix: str | None = None) -> Targets:
        db_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        if not db_url.startswith(("postgres://", "postgresql://")):
            db_url = DEFAULT_DATABASE_URL  # the benchmark measures PostgreSQL, never SQLite
        parts = urlsplit(db_url)
        base = prefix or f"{parts.path.lstrip('/') or 'devicevault'}_bench" + (
            "_quick" if quick else ""
        )

        def db(role: str) -> str:
            return urlunsplit(parts._replace(path=f"/{base}_{role}"))

        redis_parts = urlsplit(os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
        ours, anchors = REDIS_DBS["quick" if quick else "full"]
        ours = int(os.environ.get("BENCH_REDIS_DB", ours))
        anchors = int(os.environ.get("BENCH_ANCHOR_REDIS_DB", anchors))

        def redis(n: int) -> str:
            return urlunsplit(redis_parts._replace(path=f"/{n}"))

        var = Path(os.environ.get("DEVICEVAULT_VAR_DIR") or ROOT / "var") / (
            "bench-quick" if quick else "bench"
        )
        return cls(ours_db=db("beat"), dcb_db=db("dcb"), ours_redis=redis(ours),
                   anchor_redis=redis(anchors), var_dir=str(var), read_db=db("read"))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Targets:
        return cls(**json.loads(text))


def check_local(url: str) -> None:
    """Refuse any service outside 127.0.0.0/8 (or localhost): a benchmark floods what it hits."""
    host = urlsplit(url).hostname or ""
    if host != "localhost" and not host.startswith("127."):
        raise SystemExit(f"bench: refusing {host!r}: benchmarks only run against 127.0.0.0/8")


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database when missing; True when it was created."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    conn = psycopg2.connect(host=parts.hostname, port=parts.port or 5432,
                            user=parts.username or "postgres", password=parts.password,
                            dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is not None:
                return False
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    finally:
        conn.close()


def write_config(var_dir: Path, **scheduler: Any) -> Path:
    """The YAML configuration of our child processes: the shipped defaults (lock TTL 180 s)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    lines = ["display_timezone: Australia/Sydney", "scheduler:", "  enabled: true",
             "  restart_window_minutes: 120"]
    lines += [f"  {key}: {value}" for key, value in scheduler.items()]
    path = var_dir / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def child_env(targets: Targets, *, database: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Environment of a measuring process or of a beat it starts."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DEVICEVAULT_DISPLAY_TIMEZONE", "CELERY_BROKER_URL", "REDIS_HOST",
                        "REDIS_PORT", "REDIS_DB", "DJANGO_SETTINGS_MODULE"}}
    var = Path(targets.var_dir)
    env.update({
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "DEVICEVAULT_CONFIG": str(write_config(var)),
        "DEVICEVAULT_VAR_DIR": str(var / "var"),
        "DEVICEVAULT_LOG_FORMAT": "text",
        "DEVICEVAULT_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        "C_FORCE_ROOT": "1",
        "BENCH_TARGETS": targets.to_json(),
        **extra,
    })
    return env


def reset_redis(client: Any) -> None:
    """Empty a benchmark Redis database, keeping the run's guard key."""
    batch = [key for key in client.scan_iter(count=1000) if key != GUARD_KEY.encode()]
    for start in range(0, len(batch), 1000):
        client.unlink(*batch[start:start + 1000])


def loadavg() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


# -- results -------------------------------------------------------------------------------
@dataclass
class Row:
    """One measured figure: every run's value (a median per run where a run has many)."""

    key: str
    label: str
    unit: str
    samples: list[float]
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None


class Results:
    """Rows written by a measuring process, read back by the runner."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, key: str, label: str, unit: str, samples: list[float], note: str = "",
            **extra: Any) -> Row:
        row = Row(key, label, unit, [float(s) for s in samples], note, extra)
        self.rows.append(row)
        shown = f"{row.median:.4g}" if row.median is not None else "-"
        print(f"  {label}: {shown} {unit} {note}".rstrip(), file=sys.stderr, flush=True)
        return row

    def dump(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps([asdict(r) for r in self.rows], indent=1))

    @staticmethod
    def load(path: str | Path) -> list[Row]:
        return [Row(**r) for r in json.loads(Path(path).read_text())]


def section(name: str) -> None:
    now = time.strftime("%H:%M:%S", time.gmtime())
    print(f"[{now}] {name} (load {loadavg()})", file=sys.stderr, flush=True)


# -- logs of child processes ---------------------------------------------------------------
_TS = re.compile(r"ts=(\S+)|^(\d{9,}\.\d+) ")


def line_time(line: str) -> float | None:
    """The wall-clock time (epoch seconds) a log line was written, from its own timestamp:
    `ts=<ISO 8601>` (our logfmt) or a leading epoch (the anchors' beats, bench.redbeat_app)."""
    match = _TS.search(line)
    if not match:
        return None
    if match.group(1):
        return datetime.fromisoformat(match.group(1)).timestamp()
    return float(match.group(2))


class Proc:
    """A child process whose output goes to a log file we can search."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def lines(self, pattern: str) -> list[str]:
        rx = re.compile(pattern)
        return [line for line in self.log().splitlines() if rx.search(line)]

    def wait_for(self, pattern: str, timeout: float = 60, after: int = 0) -> str:
        """Wait for a log line matching `pattern` (past character `after`); returns the line."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            text = self.log()
            match = rx.search(text, after)
            if match:
                start = text.rfind("\n", 0, match.start()) + 1
                end = text.find("\n", match.end())
                return text[start:end if end >= 0 else len(text)]
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}) before "
                                   f"{pattern!r}; log: {self.log_path}\n{text[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: no {pattern!r} within {timeout}s; "
                                   f"log: {self.log_path}\n{text[-2000:]}")
            time.sleep(0.02)

    def status(self) -> dict[str, int]:
        """VmRSS/VmHWM (kB) of the process, from /proc."""
        out = {}
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
        return out

    def kill9(self) -> float:
        """SIGKILL; returns the wall-clock instant it was sent."""
        at = time.time()
        os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(10)
        return at

    def stop(self, timeout: float = 20) -> None:
        if self.popen.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._log.close()


class Procs:
    """Every child started by a measuring process, stopped on the way out whatever happens."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(f"{name}{len(self.procs) + 1}", argv, env, self.log_dir)
        self.procs.append(proc)
        return proc

    def __enter__(self) -> Procs:
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            try:
                proc.stop()
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass


def wait_settled_rss(proc: Proc, *, quiet_for: float = 2.0,
                     timeout: float = 60) -> dict[str, int]:
    """Poll the process's RSS until it has not grown for `quiet_for` seconds."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rss = proc.status()["VmRSS"]
        if rss > last:
            last, since = rss, time.monotonic()
        elif time.monotonic() - since >= quiet_for:
            break
        time.sleep(0.2)
    return proc.status()


# -- the fleet, the same for us and the anchors ----------------------------------------------
DISPLAY_TIMEZONE = "Australia/Sydney"
ZONES = 8  # collection groups, hence broker queues


def idle_schedule_times(n: int, *, now: datetime | None = None) -> list[tuple[int, int, int]]:
    """(day of week with Monday = 0, hour, minute), local time, of `n` weekly schedules that
    are never due during a run: three days from now, at times within an hour of now (so that
    django-celery-beat, which loads only crontabs within about ±2 h of the current hour,
    loads every one of them and is measured at the size it is given)."""
    from datetime import UTC, timedelta
    from zoneinfo import ZoneInfo

    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(DISPLAY_TIMEZONE))
    day = (local.weekday() + 3) % 7
    out = []
    for i in range(n):
        at = local + timedelta(minutes=-60 + 120 * i / max(n, 1))
        out.append((day, at.hour, at.minute))
    return out


def device_payload(i: int, *, result_id: int | None = None, schedule_id: int = 1,
                   scheduled_for: str = "2027-01-01T00:00:00Z") -> str:
    """A `device.collect` argument like ours (DESIGN.md, "Queues"), for the anchors' entries."""
    return json.dumps({
        "result_id": result_id, "device_id": i, "device_name": f"dev-{i:06d}",
        "ip_address": loopback(i), "schedule_id": schedule_id, "scheduled_for": scheduled_for,
        "is_catchup": False, "manual": False, "collection_group": f"zone-{i % ZONES}",
    }, separators=(",", ":"))


def loopback(i: int) -> str:
    return f"127.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]
