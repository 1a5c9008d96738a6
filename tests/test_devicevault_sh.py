"""`./devicevault.sh` and `./start-scheduler.sh` as a newcomer runs them: a fresh clone, no
PostgreSQL, no Redis.

Each module run clones the committed HEAD into a temporary directory and starts it with the
real `./devicevault.sh start` inside a network namespace of its own that has only loopback
(`unshare -n`): nothing the machine runs (a shared PostgreSQL or Redis) is reachable, so the
script takes its embedded defaults (SQLite under var/, the embedded Redis server), ports
8000/6379/5555 are free, and every process it starts can be found afterwards by its
namespace. Every command and HTTP request is run inside the namespace (`nsenter`). The
shared `.venv`, `frontend/node_modules` and a copy of the built front end are reused so
that nothing is installed or built. One started instance serves every test, in file order.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.processes, pytest.mark.timeout(900)]

# Only what a newcomer's shell would have: no DATABASE_URL, REDIS_URL, DEVICEVAULT_* ...
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "TMPDIR", "USER", "LOGNAME")

_HTTP = textwrap.dedent("""
    import json, sys, urllib.error, urllib.request
    method, url, token, body = sys.argv[1:5]
    request = urllib.request.Request(url, method=method, data=body.encode() or None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Token " + token)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode()
    print(json.dumps({"status": status, "text": text}))
""")


def _net_namespace(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


class Instance:
    """A clone of the repository and the network namespace its processes run in."""

    def __init__(self, clone: Path) -> None:
        self.clone = clone
        self.var = clone / "var"
        self.env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
        self.holder = subprocess.Popen(
            ["unshare", "-n", "sh", "-c", "ip link set lo up && echo ready && exec sleep 86400"],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.holder.stdout is not None
        assert self.holder.stdout.readline().strip() == "ready", "unshare -n failed"
        self.namespace = _net_namespace(self.holder.pid)
        self.token = ""
        self.admin_password = ""

    # -- running things inside the namespace ----------------------------------------------
    def run(self, *argv: str, timeout: float = 300, check: bool = False,
            **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", "--", *argv],
            cwd=self.clone, env={**self.env, **env}, capture_output=True, text=True,
            timeout=timeout,
        )
        if check:
            assert done.returncode == 0, f"{argv} exited {done.returncode}:\n{self.output(done)}"
        return done

    @staticmethod
    def output(done: subprocess.CompletedProcess[str]) -> str:
        return done.stdout + done.stderr

    def python(self, code: str, *args: str) -> str:
        return self.output(self.run(str(self.clone / ".venv/bin/python"), "-c", code, *args,
                                    check=True))

    def api(self, method: str, path: str, body: Any = None, *, expect: int = 200) -> Any:
        raw = self.python(_HTTP, method, f"http://127.0.0.1:8000{path}", self.token,
                          json.dumps(body) if body is not None else "")
        reply = json.loads(raw)
        assert reply["status"] == expect, f"{method} {path}: {reply}"
        return json.loads(reply["text"]) if reply["text"] else None

    def redis(self, code: str) -> str:
        """Run `code` with `r`, a client of the embedded Redis (database 0)."""
        return self.python(
            "import redis; r = redis.Redis.from_url('redis://127.0.0.1:6379/0', "
            "decode_responses=True)\n" + code
        )

    # -- the instance's processes ---------------------------------------------------------
    def pid(self, name: str) -> int:
        return int((self.var / "run" / f"{name}.pid").read_text())

    def processes(self) -> dict[int, str]:
        """Every process in the namespace but its holder: pid → command line."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == self.holder.pid:
                continue
            try:
                if _net_namespace(int(entry.name)) == self.namespace:
                    found[int(entry.name)] = _cmdline(int(entry.name))
            except OSError:
                continue  # gone meanwhile
        return found

    def wait_gone(self, pid: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists():  # reaped, not just a zombie: kill -0 fails
                return
            time.sleep(0.1)
        raise AssertionError(f"pid {pid} still running after {timeout} s: {_cmdline(pid)}")

    def start(self) -> str:
        done = self.run("./devicevault.sh", "start")
        text = self.output(done)
        assert done.returncode == 0, text + self.logs()
        return text

    def logs(self) -> str:
        out = []
        for log in sorted((self.var / "log").glob("*.log")):
            out.append(f"--- {log.name}\n{log.read_text(errors='replace')[-2500:]}")
        return "\n".join(out)

    def close(self) -> None:
        try:
            if (self.var / "run").is_dir():
                self.run("./devicevault.sh", "stop", timeout=120)
        finally:
            for pid in self.processes():  # what stop left behind: only after a failure
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.holder.kill()
            self.holder.wait(10)


def _clone(dest: Path) -> Path:
    """A fresh clone of the committed HEAD, with the shared environment and front end."""
    def stamp(path: str) -> str:  # as scripts/bootstrap.sh names its "installed" markers
        return subprocess.run(["sha256sum", path], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout[:16]

    # The clone must not install anything: bootstrap would change the shared directories.
    venv = (ROOT / ".venv").resolve()
    if not list(venv.glob(f".installed-{stamp('pyproject.toml')}*")):
        pytest.fail(f"{venv} is not installed from this pyproject.toml: run "
                    "scripts/bootstrap.sh --test first")
    modules = (ROOT / "frontend" / "node_modules").resolve()
    if shutil.which("npm") and not (
        modules / f".installed-{stamp('frontend/package-lock.json')}"
    ).exists():
        pytest.fail(f"{modules} is not installed from this package-lock.json: run "
                    "scripts/bootstrap.sh --frontend first")
    clone = dest / "devicevault"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    (clone / ".venv").symlink_to(venv)
    if modules.exists():
        (clone / "frontend" / "node_modules").symlink_to(modules)
    if (ROOT / "frontend" / "dist" / "index.html").exists():
        # Copied after the clone with fresh times, so bootstrap finds the build up to date.
        shutil.copytree(ROOT / "frontend" / "dist", clone / "frontend" / "dist",
                        copy_function=shutil.copyfile)
    return clone


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    if sys.platform != "linux" or shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs Linux, unshare and root for a network namespace")
    inst = Instance(_clone(tmp_path_factory.mktemp("newcomer")))
    try:
        text = inst.start()
        match = re.search(r"log in as admin / (\S+)", text)
        assert match, f"no admin password printed:\n{text}"
        inst.admin_password = match.group(1)
        yield inst
    finally:
        inst.close()


@pytest.fixture
def running(instance: Instance) -> Instance:
    """The instance with every process running (`start` starts only what is not)."""
    if instance.run("./devicevault.sh", "status").returncode != 0:
        instance.start()
    return instance


def _login(inst: Instance) -> None:
    if not inst.token:
        inst.token = inst.api("POST", "/api/auth/token/",
                              {"username": "admin", "password": inst.admin_password})["token"]


def _schedule_id(inst: Instance, name: str) -> int:
    rows = inst.api("GET", "/api/backup-schedules/?page_size=100")["results"]
    return next(row["id"] for row in rows if row["name"] == name)


def _results(inst: Instance, schedule_id: int, after: str) -> dict[str, dict[str, Any]]:
    """Device name → the newest result of the schedule scheduled after `after` (ISO)."""
    rows = inst.api(
        "GET", f"/api/scheduled-backups/history/?schedule={schedule_id}&page_size=100"
    )["results"]
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["scheduled_for"] > after:
            newest.setdefault(row["device"]["name"], row)
    return newest


def _run_now(inst: Instance, schedule_id: int, *, final: bool = True,
             timeout: float = 60) -> dict[str, dict[str, Any]]:
    """Press run-now and wait (bounded) until each result is final; name → result."""
    before = inst.api("GET", "/api/scheduled-backups/history/?page_size=1")["results"]
    after = before[0]["scheduled_for"] if before else ""
    enqueued = inst.api("POST", f"/api/scheduled-backups/{schedule_id}/test/", expect=202)
    assert enqueued["enqueued"] >= 1, enqueued
    deadline = time.monotonic() + timeout
    while True:
        results = _results(inst, schedule_id, after)
        done = [r for r in results.values() if r["status"] not in ("queued", "running")]
        if len(results) >= enqueued["enqueued"] and (not final or len(done) == len(results)):
            return results
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not final within {timeout} s: {json.dumps(results, indent=1)}\n{inst.logs()}"
            )
        time.sleep(1)


def test_a_newcomers_first_command_backs_up_the_demo_and_shows_a_change_with_its_diff(
    instance: Instance,
) -> None:
    inst = instance
    assert (inst.var / "devicevault.sqlite3").exists()  # the embedded default database
    assert inst.pid("redis")  # and the embedded Redis: none answers in the namespace
    _login(inst)
    daily = _schedule_id(inst, "Daily 2 AM")

    first = _run_now(inst, daily)
    assert {name: (r["status"], r["error"]) for name, r in first.items()} == {
        "Core-Router-01": ("success", ""), "Core-Router-02": ("success", ""),
        "Branch-Router-01": ("failed", "local: file not found: branch-router-01.cfg "
                                      f"(in {inst.var / 'local-devices'})"),
    }

    config = inst.var / "local-devices" / "core-router-01.cfg"
    config.write_text(config.read_text().replace("ip address 192.0.2.1 ", "ip address 192.0.2.99 "))
    second = _run_now(inst, daily)
    assert (second["Core-Router-01"]["status"], second["Core-Router-01"]["error"]) == (
        "success", "")

    devices = inst.api("GET", "/api/devices/?page_size=100")["results"]
    router = next(d["id"] for d in devices if d["name"] == "Core-Router-01")
    backups = inst.api("GET", f"/api/devices/{router}/backups/")["results"]
    assert [b["changed"] for b in backups] == [True, True]
    diff = inst.api("GET", f"/api/devices/{router}/backups/{backups[0]['id']}/diff/")["diff"]
    assert "- ip address 192.0.2.1 255.255.255.0\n" in diff
    assert "+ ip address 192.0.2.99 255.255.255.0\n" in diff
    other = next(d["id"] for d in devices if d["name"] == "Core-Router-02")
    unchanged = inst.api("GET", f"/api/devices/{other}/backups/")["results"]
    assert [b["changed"] for b in unchanged] == [False, True]


def test_status_exits_0_when_everything_runs_and_3_when_a_process_is_down(
    running: Instance,
) -> None:
    done = running.run("./devicevault.sh", "status")
    assert done.returncode == 0, running.output(done)
    for name in ("web", "worker", "beat", "flower", "redis (embedded)"):
        assert f"{name}: running (pid " in done.stdout
    assert f"Lock held by PID {running.pid('beat')} on " in done.stdout

    flower = running.pid("flower")
    os.kill(flower, signal.SIGTERM)
    running.wait_gone(flower)
    done = running.run("./devicevault.sh", "status")
    assert done.returncode == 3, running.output(done)
    assert "flower: not running" in done.stdout and "web: running" in done.stdout


def test_restart_after_a_crash_clears_the_stale_lock_reports_the_new_holder_and_keeps_the_queue(
    instance: Instance,
) -> None:
    running = instance  # web, beat, worker and Redis run; Flower need not (restart starts it)
    _login(running)
    old = running.pid("beat")
    check = running.run("./start-scheduler.sh", "--check-lock")
    assert (check.returncode, check.stdout.strip()) == (
        0, f"Lock held by PID {old} on {os.uname().nodename} (process is alive)"
    ), running.output(check)
    # The crash: the beat is killed (its lock stays, stale) and no worker consumes, so
    # run-now's messages wait in the embedded Redis, which restart stops and starts again.
    os.kill(old, signal.SIGKILL)
    worker = running.pid("worker")
    os.kill(worker, signal.SIGTERM)
    running.wait_gone(old)
    running.wait_gone(worker)
    check = running.run("./start-scheduler.sh", "--check-lock")
    assert check.returncode == 1 and "(stale lock)" in check.stdout, running.output(check)
    daily = _schedule_id(running, "Daily 2 AM")
    queued = _run_now(running, daily, final=False)
    assert {r["status"] for r in queued.values()} == {"queued"}, queued
    assert int(running.redis("print(sum(r.llen(q) for q in r.keys('collect.*')))")) == 3
    redis_before = running.pid("redis")

    done = running.run("./devicevault.sh", "restart")
    text = running.output(done)
    assert done.returncode == 0, text + running.logs()
    new = running.pid("beat")
    assert new != old and running.pid("redis") != redis_before
    assert f"Cleared stale lock of PID {old}" in text  # the lock outlived the Redis restart
    assert re.search(rf"beat: lock held by the new beat \(PID {new} on \S+\)", text), text
    check = running.run("./start-scheduler.sh", "--check-lock")
    assert check.stdout.strip().startswith(f"Lock held by PID {new} on "), check.stdout

    # The messages survived the restart: the new worker collects each row once.
    ids = {r["id"] for r in queued.values()}
    deadline = time.monotonic() + 60
    while True:
        rows = running.api(
            "GET", f"/api/scheduled-backups/history/?schedule={daily}&page_size=100"
        )["results"]
        mine = [r for r in rows if r["id"] in ids]
        if all(r["status"] in ("success", "failed") for r in mine):
            break
        assert time.monotonic() < deadline, f"still not collected: {mine}"
        time.sleep(1)
    assert all(r["started_at"] and not r["error"].startswith("lost:") for r in mine), mine


def test_restart_says_why_and_exits_1_when_the_new_beat_cannot_take_the_lock(
    running: Instance,
) -> None:
    # Another host's live lock: restart may not clear it (no --force), so its new beat can
    # only stand by. It replaces the lock of a beat killed first, so no beat releases it.
    foreign = json.dumps({"host": "beat-on-another-host", "pid": 4242, "token": "t",
                          "acquired_at": "2026-01-01T00:00:00+00:00"})
    beat = running.pid("beat")
    os.kill(beat, signal.SIGKILL)
    running.wait_gone(beat)
    running.redis(f"r.set('devicevault:scheduler:lock', {foreign!r}, ex=600)")
    try:
        done = running.run("./devicevault.sh", "restart", DEVICEVAULT_RESTART_LOCK_WAIT="5")
        text = running.output(done)
        assert done.returncode == 1, text
        assert "refusing to clear (held from another host)" in text
        assert re.search(
            rf"beat: the new beat \(PID {running.pid('beat')}\) does not hold the scheduler "
            r"lock after 5 s: Lock held by PID 4242 on another host beat-on-another-host "
            r"\(cannot check liveness\); it stands by", text
        ), text
        assert running.run("./devicevault.sh", "status").returncode == 0
    finally:
        running.redis("r.delete('devicevault:scheduler:lock')")


def test_stop_stops_the_beat_first_so_it_releases_the_lock_and_leaves_no_process(
    running: Instance,
) -> None:
    beat = running.pid("beat")
    deadline = time.monotonic() + 60  # a beat that stood by takes the lock within seconds
    while not running.run("./start-scheduler.sh", "--check-lock").stdout.startswith(
        f"Lock held by PID {beat} on "
    ):
        assert time.monotonic() < deadline, "the beat does not take the lock"
        time.sleep(1)
    beat_log = running.var / "log" / "beat.log"
    released_before = beat_log.read_text().count("lock released")
    done = running.run("./devicevault.sh", "stop")
    assert done.returncode == 0, running.output(done)
    stopped = re.findall(r"^(\S+): stopped$", done.stdout, re.M)
    assert stopped == ["beat", "worker", "flower", "web", "redis"], done.stdout
    assert beat_log.read_text().count("lock released") == released_before + 1
    assert running.processes() == {}

    done = running.run("./devicevault.sh", "status")
    assert done.returncode == 3
    check = running.run("./start-scheduler.sh", "--check-lock")
    assert check.returncode == 2 and "Redis unreachable" in check.stderr, running.output(check)
