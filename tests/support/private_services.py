"""A private Redis (append-only) and a private PostgreSQL cluster for tests that restart them.

Never the shared services: each runs on a free loopback port in a throwaway directory and is
stopped by its own PID.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.sshd import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _wait_port(port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{what} did not answer on port {port} within {timeout}s")


class PrivateRedis:
    """redis-server with `appendonly yes`; `restart()` is a clean shutdown and start."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.dir / "redis.log", "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.dir), "--appendonly", "yes", "--save", "", "--daemonize", "no",
             "--maxmemory-policy", "noeviction"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        _wait_port(self.port, 15, "redis-server")
        self._wait_loaded()

    def _wait_loaded(self) -> None:
        import redis

        client = redis.Redis(port=self.port, socket_timeout=2)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.BusyLoadingError:
                time.sleep(0.05)
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("private redis did not finish loading")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # redis writes and syncs the AOF
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def restart(self, down_for: float = 0.5) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


def pg_bin(name: str) -> str:
    for version in sorted(os.listdir("/usr/lib/postgresql"), reverse=True):
        path = f"/usr/lib/postgresql/{version}/bin/{name}"
        if os.path.exists(path):
            return path
    pytest.skip(f"PostgreSQL's {name} is not installed")
    raise AssertionError("unreachable")


class PrivatePostgres:
    """A throwaway cluster (initdb) run as the `postgres` user, fsync off: it only needs to
    survive clean restarts. `restart()` is `pg_ctl restart -m fast`."""

    def __init__(self) -> None:
        problem = None
        try:
            self.user = pwd.getpwnam("postgres")
        except KeyError:
            problem = "no postgres user to run a private PostgreSQL cluster"
        if os.geteuid() != 0:
            problem = "a private PostgreSQL cluster is started with runuser, which needs root"
        if problem:
            if os.environ.get("CI"):
                pytest.fail(problem)
            pytest.skip(problem)
        self.root = Path(tempfile.mkdtemp(prefix="dv-pg-"))
        os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self.data = self.root / "data"
        self.port = free_port()
        self._as_postgres(pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U",
                          "postgres", "--no-sync", "-E", "UTF8")
        (self.data / "postgresql.auto.conf").write_text(
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.root}'\nfsync = off\n"
            "synchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n"
        )
        self.start()

    def _as_postgres(self, *argv: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True,
                       capture_output=True, cwd=self.root)

    def url(self, name: str = "devicevault") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-l",
                          str(self.root / "pg.log"), "-w", "-t", "60", "start")

    def restart(self) -> None:
        self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-l",
                          str(self.root / "pg.log"), "-m", "fast", "-w", "-t", "60", "restart")

    def stop(self) -> None:
        try:
            self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate",
                              "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
