"""Real beat and worker processes for tests: start, signal, wait for a log line, stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CELERY = str(Path(PYTHON).with_name("celery"))


class Proc:
    """A child process whose combined output goes to a log file we can search."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 30, after: int = 0) -> re.Match[str]:
        """Wait until `pattern` appears in the log (past character `after`)."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            match = rx.search(self.log(), after)
            if match:
                return match
            if self.popen.poll() is not None:
                match = rx.search(self.log(), after)
                if match:
                    return match
                raise AssertionError(
                    f"{self.name} exited ({self.popen.returncode}) before {pattern!r}:\n"
                    + self.log()[-3000:]
                )
            time.sleep(0.05)
        raise AssertionError(
            f"{self.name}: no {pattern!r} within {timeout}s:\n{self.log()[-3000:]}"
        )

    def signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            os.kill(self.pid, sig)

    def wait(self, timeout: float = 30) -> int:
        return self.popen.wait(timeout)

    def stop(self, timeout: float = 15) -> int | None:
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        self._log.close()
        return self.popen.returncode


class Processes:
    """Starts beats and workers against the test database and Redis; stops them all."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: list[Proc] = []
        self._count = 0

    def _start(self, kind: str, argv: list[str], **env: Any) -> Proc:
        self._count += 1
        merged = {**self.env, **{k: str(v) for k, v in env.items()}}
        proc = Proc(f"{kind}{self._count}", argv, merged, self.log_dir)
        self.procs.append(proc)
        return proc

    def beat(self, *, celery_cli: bool = False, **env: Any) -> Proc:
        argv = (
            [CELERY, "-A", "project", "beat", "-l", "info"]
            if celery_cli
            else [PYTHON, "-m", "beat", "--loglevel", "info"]
        )
        return self._start("beat", argv, **env)

    def worker(self, *queues: str, concurrency: int = 2, all_queues: bool = True,
               **env: Any) -> Proc:
        argv = [CELERY, "-A", "tests.support.worker_app", "worker", "-l", "info",
                "-c", str(concurrency), "-n", f"w{self._count + 1}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if all_queues:
            argv.append("--all-collection-queues")
        argv += ["-Q", ",".join(queues or ("collect.default",))]
        return self._start("worker", argv, **env)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            try:
                proc.stop()
            except Exception:  # noqa: BLE001 - best effort in teardown
                pass
