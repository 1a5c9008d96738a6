"""Configuration: the YAML file and the environment, and the one-line errors every entry
point prints for a bad file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from project.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_shipped_config_loads_with_the_documented_values() -> None:
    cfg = load_config(ROOT / "config" / "config.yaml", env={})
    assert cfg.display_timezone == "Australia/Sydney"
    assert cfg.scheduler.enabled is True
    assert cfg.scheduler.restart_window_minutes == 120
    assert cfg.scheduler.lock_ttl_seconds == 180
    assert cfg.redis_url == "redis://localhost:6379/0"
    assert cfg.database_url is None


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("scheduler:\n  restart_window_minutes: abc\n", "scheduler.restart_window_minutes",
         "expected an integer"),
        ("scheduler:\n  restart_window_minutes: -1\n", "scheduler.restart_window_minutes",
         "at least 0"),
        ("scheduler:\n  enabled: 'yes'\n", "scheduler.enabled", "expected a boolean"),
        ("scheduler:\n  lock_ttl_seconds: true\n", "scheduler.lock_ttl_seconds",
         "expected an integer"),
        ("scheduler:\n  lock_ttl_seconds: 1\n", "scheduler.lock_ttl_seconds", "at least 3"),
        ("scheduler:\n  restart_windw_minutes: 5\n", "scheduler.restart_windw_minutes",
         "unknown key"),
        ("display_timezone: Mars/Olympus\n", "display_timezone", "unknown timezone"),
        ("displaytimezone: UTC\n", "displaytimezone", "unknown key"),
        ("scheduler: 5\n", "scheduler", "expected a mapping"),
    ],
)
def test_bad_values_name_the_dotted_key_and_the_file(
    tmp_path: Path, text: str, key: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    message = str(err.value)
    assert f"{path}: {key}: " in message and words in message
    assert "\n" not in message


def test_broken_yaml_and_missing_file_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config.yaml: invalid YAML at line 3"):
        load_config(write(tmp_path, "scheduler:\n  enabled: [\n"), env={})
    with pytest.raises(ConfigError, match=r"nope.yaml: file not found"):
        load_config(tmp_path / "nope.yaml", env={})


def test_zero_restart_window_is_allowed(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "scheduler:\n  restart_window_minutes: 0\n"), env={})
    assert cfg.scheduler.restart_window_minutes == 0


def test_environment_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "display_timezone: UTC\n")
    cfg = load_config(path, env={"DEVICEVAULT_DISPLAY_TIMEZONE": "Europe/London",
                                 "REDIS_HOST": "127.0.0.5", "REDIS_PORT": "6390", "REDIS_DB": "3",
                                 "DATABASE_URL": "postgresql://u@127.0.0.1/x"})
    assert cfg.display_timezone == "Europe/London"
    assert cfg.redis_url == "redis://127.0.0.5:6390/3" and cfg.redis_configured
    assert cfg.database_url == "postgresql://u@127.0.0.1/x"
    cfg = load_config(path, env={"REDIS_URL": "redis://127.0.0.9:1/2", "REDIS_HOST": "x"})
    assert cfg.redis_url == "redis://127.0.0.9:1/2"
    with pytest.raises(ConfigError, match="DEVICEVAULT_DISPLAY_TIMEZONE: unknown timezone"):
        load_config(path, env={"DEVICEVAULT_DISPLAY_TIMEZONE": "Nowhere/Land"})
    with pytest.raises(ConfigError, match="REDIS_PORT"):
        load_config(path, env={"REDIS_PORT": "sixty"})


@pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "manage.py", "check"],
        [sys.executable, "-m", "beat"],
        [sys.executable, "-m", "celery", "-A", "project", "worker", "--pool=solo", "-Q", "x"],
        [sys.executable, "-c", "import project.wsgi"],
    ],
    ids=["manage.py", "beat", "worker", "web"],
)
def test_every_entry_point_stops_with_one_line_naming_key_and_file(
    tmp_path: Path, argv: list[str]
) -> None:
    path = write(tmp_path, "scheduler:\n  restart_window_minutes: soon\n")
    env = {**os.environ, "DEVICEVAULT_CONFIG": str(path), "DEVICEVAULT_VAR_DIR": str(tmp_path)}
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [
        f"configuration error: {path}: scheduler.restart_window_minutes: "
        "expected an integer, got 'soon' (str)"
    ]
    assert "Traceback" not in proc.stdout + proc.stderr


def test_utc_iso_writes_instants_in_utc_with_a_z_and_refuses_naive_ones() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from project.utc import utc_iso

    sydney = datetime(2027, 10, 3, 3, 0, tzinfo=ZoneInfo("Australia/Sydney"))
    assert utc_iso(sydney) == "2027-10-02T16:00:00Z"
    assert utc_iso(datetime(2027, 1, 1, 0, 0, 0, 5, tzinfo=UTC)) == "2027-01-01T00:00:00.000005Z"
    with pytest.raises(ValueError, match="naive"):
        utc_iso(datetime(2027, 1, 1))


def test_collection_tuning_comes_from_the_environment_into_the_typed_config(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "collection:\n  max_attempts: 4\n")
    defaults = load_config(path, env={}).collection
    assert (defaults.ssh_connect_timeout_seconds, defaults.ssh_command_timeout_seconds,
            defaults.retry_delays_seconds, defaults.publish_batch,
            defaults.queue_refresh_seconds) == (10.0, 60.0, (2.0, 4.0), 1000, 30.0)
    tuned = load_config(path, env={
        "DEVICEVAULT_SSH_CONNECT_TIMEOUT": "2.5", "DEVICEVAULT_SSH_COMMAND_TIMEOUT": "90",
        "DEVICEVAULT_COLLECT_RETRY_DELAYS": "1, 3,9", "DEVICEVAULT_PUBLISH_BATCH": "250",
        "DEVICEVAULT_QUEUE_REFRESH_SECONDS": "5",
    }).collection
    assert (tuned.ssh_connect_timeout_seconds, tuned.ssh_command_timeout_seconds,
            tuned.retry_delays_seconds, tuned.publish_batch,
            tuned.queue_refresh_seconds) == (2.5, 90.0, (1.0, 3.0, 9.0), 250, 5.0)
    assert tuned.max_attempts == 4  # the file's keys stay
    no_retries = load_config(path, env={"DEVICEVAULT_COLLECT_RETRY_DELAYS": ""}).collection
    assert no_retries.retry_delays_seconds == ()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEVICEVAULT_SSH_CONNECT_TIMEOUT", "soon", "expected 0.1 to 120 seconds, got 'soon'"),
        ("DEVICEVAULT_SSH_COMMAND_TIMEOUT", "601", "expected 0.1 to 600 seconds"),
        ("DEVICEVAULT_COLLECT_RETRY_DELAYS", "1,2,3,4,5,6", "at most 5 retries"),
        ("DEVICEVAULT_COLLECT_RETRY_DELAYS", "1,-2", "expected 0 to 60 seconds, got '-2'"),
        ("DEVICEVAULT_PUBLISH_BATCH", "1e3", "expected a whole number, got '1e3'"),
        ("DEVICEVAULT_PUBLISH_BATCH", "0", "expected 1 to 100000 messages"),
        ("DEVICEVAULT_QUEUE_REFRESH_SECONDS", "nan", "expected 0.1 to 3600 seconds"),
    ],
)
def test_bad_collection_tuning_is_one_line_naming_the_variable(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, ""), env={name: value})
    assert str(err.value).startswith(f"configuration error: environment: {name}: ")
    assert message in str(err.value)
