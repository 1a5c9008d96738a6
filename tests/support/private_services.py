"""A private Redis (append-only), a Sentinel-managed Redis pair and a private PostgreSQL
cluster for tests that restart or fail them over.

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
from typing import TYPE_CHECKING

import pytest

from tests.support.sshd import free_port

if TYPE_CHECKING:
    import redis

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


SENTINEL_MASTER = "dvmaster"  # not the default: the tests set REDIS_SENTINEL_MASTER


class PrivateSentinels:
    """A master, its replica and three Sentinels (quorum 2) on free loopback ports, each in a
    throwaway directory (Sentinels rewrite their config file there); stopped by PID.

    Failure detection is quick (`down-after-milliseconds 1000`); `failover()` is `SENTINEL
    FAILOVER` and waits until every Sentinel names the new master. With `replica_writable`
    a test may change the replica's data behind the master's back (a write lost to async
    replication)."""

    def __init__(self, workdir: Path, *, name: str = SENTINEL_MASTER,
                 replica_writable: bool = False) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.processes: list[subprocess.Popen[bytes]] = []
        self.switched_after = self.demoted_after = float("nan")  # of the last failover()
        self.master_port = self._server("master", [])
        self.replica_port = self._server(
            "replica", ["--replicaof", "127.0.0.1", str(self.master_port),
                        "--replica-read-only", "no" if replica_writable else "yes"],
        )
        self.sentinel_ports = [self._sentinel(i) for i in range(3)]
        self._wait_ready()

    @property
    def addresses(self) -> str:
        """The REDIS_SENTINELS value: `127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3`."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True))
        log.close()

    def _server(self, name: str, extra: list[str]) -> int:
        port = free_port()
        workdir = self.dir / name
        workdir.mkdir()
        self._spawn(name, [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir",
                           str(workdir), "--save", "", "--appendonly", "no", "--daemonize",
                           "no", "--maxmemory-policy", "noeviction", *extra])
        _wait_port(port, 15, f"redis-server ({name})")
        return port

    def _sentinel(self, index: int) -> int:
        port = free_port()
        conf = self.dir / f"sentinel{index}.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndaemonize no\ndir {self.dir}\n"
            f"sentinel monitor {self.name} 127.0.0.1 {self.master_port} 2\n"
            f"sentinel down-after-milliseconds {self.name} 1000\n"
            f"sentinel failover-timeout {self.name} 5000\n"
            f"sentinel parallel-syncs {self.name} 1\n"
        )
        self._spawn(f"sentinel{index}", [REDIS_SERVER, str(conf), "--sentinel"])
        _wait_port(port, 15, f"redis-sentinel {index}")
        return port

    def client(self, port: int) -> redis.Redis:
        import redis

        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2,
                           socket_connect_timeout=2)

    def master_address(self, sentinel: int = 0) -> tuple[str, int]:
        host, port = self.client(self.sentinel_ports[sentinel]).execute_command(
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name)
        return (host.decode(), int(port))

    def _wait_ready(self, timeout: float = 20) -> None:
        """Until every Sentinel knows the other two and sees the replica in sync."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._sentinel_ready(port) for port in self.sentinel_ports):
                return
            time.sleep(0.1)
        raise AssertionError(f"the sentinels were not ready within {timeout}s (see {self.dir})")

    def _sentinel_ready(self, port: int) -> bool:
        import redis

        try:
            sentinel = self.client(port)
            master = sentinel.sentinel_master(self.name)
            replicas = sentinel.sentinel_slaves(self.name)
        except redis.RedisError:
            return False
        return master.get("num-other-sentinels") == 2 and any(
            r.get("is_slave") and not r.get("is_sdown")
            and r.get("master-link-status") == "ok" for r in replicas
        )

    def failover(self, timeout: float = 30) -> tuple[str, int]:
        """`SENTINEL FAILOVER`, then wait until it is complete: every Sentinel names the new
        master, which answers as master, and the old master has been turned into its replica
        (until then the old one still takes writes from clients connected to it). Returns the
        new master's address; `switched_after` and `demoted_after` say when (seconds)."""
        old = self.master_address()
        started = time.monotonic()
        self.client(self.sentinel_ports[0]).execute_command("SENTINEL", "FAILOVER", self.name)
        self.switched_after = self.demoted_after = float("nan")
        deadline = started + timeout
        new: tuple[str, int] | None = None
        while time.monotonic() < deadline:
            if new is None:
                addresses = {self.master_address(i) for i in range(3)}
                if len(addresses) == 1 and old not in addresses:
                    candidate = addresses.pop()
                    if self.client(candidate[1]).info("replication")["role"] == "master":
                        new = candidate
                        self.switched_after = time.monotonic() - started
            if new is not None and self.client(old[1]).info("replication")["role"] == "slave":
                self.demoted_after = time.monotonic() - started
                return new
            time.sleep(0.05)
        raise AssertionError(f"no complete failover within {timeout}s (see {self.dir})")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
