"""Redis Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER): the configuration, the broker URL
kombu gets, one-line errors, and real clients following a real `SENTINEL FAILOVER`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from kombu import Connection

import project.redis_client
from project.config import ConfigError, SentinelConfig, redis_sentinel_from_env
from project.redis_client import new_redis_client, redis_client
from tests.support.private_services import PrivateSentinels

ROOT = Path(__file__).resolve().parents[2]


def test_sentinels_are_read_with_the_default_master_name_and_the_database_of_redis_url() -> None:
    config = redis_sentinel_from_env(
        {"REDIS_SENTINELS": " s1.example:26379, 10.0.0.2:26380 ,[::1]:26381"},
        "redis://:secret@ignored:6379/4",
    )
    assert config == SentinelConfig(
        sentinels=(("s1.example", 26379), ("10.0.0.2", 26380), ("::1", 26381)),
        master_name="mymaster", db=4,
    )


def test_no_sentinels_when_the_variable_is_unset_or_empty() -> None:
    assert redis_sentinel_from_env({}, "redis://localhost:6379/0") is None
    assert redis_sentinel_from_env({"REDIS_SENTINELS": " "}, "redis://localhost:6379/0") is None


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.1:", ":26379", "host:port",
                                   "127.0.0.1:70000", "127.0.0.1:0", "a:1,,b:2", "a b:1",
                                   "127.0.0.1:26379/0"])
def test_a_bad_sentinel_address_is_a_config_error_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        redis_sentinel_from_env({"REDIS_SENTINELS": value}, "redis://localhost:6379/0")
    assert str(caught.value).startswith("configuration error: environment: REDIS_SENTINELS: ")
    assert "host:port" in str(caught.value)


def test_a_bad_master_name_or_database_is_a_config_error_naming_its_variable() -> None:
    with pytest.raises(ConfigError, match="REDIS_SENTINEL_MASTER"):
        redis_sentinel_from_env(
            {"REDIS_SENTINELS": "a:1", "REDIS_SENTINEL_MASTER": "my master"}, "redis://x/0"
        )
    with pytest.raises(ConfigError, match="REDIS_URL"):
        redis_sentinel_from_env({"REDIS_SENTINELS": "a:1"}, "redis://x:6379/zero")


def test_the_broker_url_names_every_sentinel_and_the_database_for_kombu() -> None:
    config = SentinelConfig(sentinels=(("127.0.0.1", 26379), ("::1", 26380)), master_name="m",
                            db=5)
    url = config.broker_url("redis://:p%40ss@ignored:6379/5")
    assert url == "sentinel://:p%40ss@127.0.0.1:26379/5;sentinel://:p%40ss@[::1]:26380/5"
    connection = Connection(url, transport_options={"master_name": "m"})
    # kombu reads the database and password from the first URL of the failover list.
    assert connection.transport_cls == "sentinel"
    assert connection.virtual_host == "5" and connection.password == "p@ss"
    assert len(connection.alt) == 2


def _run(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **env}
    return subprocess.run([sys.executable, *argv], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("argv", [("-m", "beat"), ("-m", "beat", "--check-lock"),
                                  ("-m", "project.config")])
def test_an_invalid_redis_sentinels_stops_every_entry_point_with_one_line(
    argv: tuple[str, ...]
) -> None:
    proc = _run(*argv, REDIS_SENTINELS="127.0.0.1:26379,sentinel-2")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "configuration error: environment: REDIS_SENTINELS: expected host:port[,host:port...] "
        "(a port from 1 to 65535), got 'sentinel-2'"
    ]


def test_settings_put_the_celery_broker_on_the_sentinels_unless_it_is_set() -> None:
    script = ("from django.conf import settings as s; print(s.CELERY_BROKER_URL); "
              "print(sorted(s.CELERY_BROKER_TRANSPORT_OPTIONS.items()))")
    env = {"DJANGO_SETTINGS_MODULE": "project.settings", "REDIS_SENTINELS": "127.0.0.1:1",
           "REDIS_SENTINEL_MASTER": "dv", "REDIS_URL": "redis://127.0.0.1:6379/3",
           "CELERY_BROKER_URL": ""}
    lines = _run("-c", script, **env).stdout.splitlines()
    assert lines == ["sentinel://127.0.0.1:1/3",
                     "[('master_name', 'dv'), ('priority_steps', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), "
                     "('visibility_timeout', 3600)]"]
    lines = _run("-c", script, **{**env, "CELERY_BROKER_URL": "amqp://x//"}).stdout.splitlines()
    # RabbitMQ's own options (publisher confirms), and no master name
    assert lines == ["amqp://x//", "[('confirm_publish', True)]"]


@pytest.mark.processes
@pytest.mark.timeout(90)
def test_redis_client_talks_to_the_current_master_and_follows_a_failover(
    sentinels: PrivateSentinels
) -> None:
    # Undone at the end of the test, before the autouse fixtures' teardown uses the shared
    # client again (pytest-django's `settings` would be undone after it).
    with pytest.MonkeyPatch.context() as patch:
        # REDIS_URL's host and port point nowhere: only the Sentinels can find the master.
        patch.setattr(settings, "REDIS_URL", "redis://127.0.0.1:1/3")
        patch.setattr(settings, "REDIS_SENTINEL", SentinelConfig(
            sentinels=tuple(("127.0.0.1", p) for p in sentinels.sentinel_ports),
            master_name=sentinels.name, db=3,
        ))
        patch.setattr(project.redis_client, "_shared", None)
        _follow_a_failover(sentinels)


def _follow_a_failover(sentinels: PrivateSentinels) -> None:
    client = redis_client()
    client.set("dv:sentinel:before", "1")
    on_master = sentinels.client(sentinels.master_port)
    on_master.execute_command("SELECT", 3)
    assert on_master.get("dv:sentinel:before") == b"1"

    new_host, new_port = sentinels.failover()
    print(f"failover: sentinels switched after {sentinels.switched_after:.2f}s, "
          f"old master demoted after {sentinels.demoted_after:.2f}s")
    assert new_port == sentinels.replica_port
    # The same client: its next command finds the old master gone or read-only, asks the
    # Sentinels again and lands on the new master.
    client.set("dv:sentinel:after", "2")
    new_master = sentinels.client(new_port)
    new_master.execute_command("SELECT", 3)
    assert new_master.get("dv:sentinel:after") == b"2"
    assert new_master.get("dv:sentinel:before") == b"1"  # replicated before the failover
    # A client built after the failover goes straight to the new master.
    fresh = new_redis_client(settings.REDIS_URL)
    assert fresh.connection_pool.get_master_address() == (new_host, new_port)
    assert fresh.get("dv:sentinel:after") == b"2"


def test_metrics_read_queue_depths_from_the_sentinels_master() -> None:
    from project import metrics

    config = SentinelConfig(sentinels=(("127.0.0.1", 26379),), master_name="dv", db=3)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "REDIS_URL", "redis://127.0.0.1:1/3")
        patch.setattr(settings, "REDIS_SENTINEL", config)
        patch.setattr(project.redis_client, "_shared", None)
        patch.setattr(metrics, "_broker_clients", {})
        # The broker settings derive from REDIS_SENTINELS: the shared client is the broker's.
        patch.setattr(settings, "CELERY_BROKER_URL", config.broker_url(settings.REDIS_URL))
        assert metrics.broker_client() is redis_client()
        # A sentinel:// broker of its own: a client of the master the transport options name.
        patch.setattr(settings, "CELERY_BROKER_URL",
                      "sentinel://127.0.0.1:26390/5;sentinel://127.0.0.1:26391/5")
        patch.setattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {"master_name": "other"})
        client = metrics.broker_client()
        assert client is not None and client is not redis_client()
        pool = client.connection_pool
        assert pool.service_name == "other" and pool.connection_kwargs["db"] == 5
        assert [s.connection_pool.connection_kwargs["port"]
                for s in pool.sentinel_manager.sentinels] == [26390, 26391]
        assert pool.connection_kwargs["socket_timeout"] == project.redis_client.SOCKET_TIMEOUT
