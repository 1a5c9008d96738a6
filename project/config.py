"""Loads and validates the DeviceVault YAML configuration and the environment, once."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = BASE_DIR / "config" / "config.yaml"

DEFAULT_RESTART_WINDOW = 120  # minutes
DEFAULT_LOCK_TTL = 180  # seconds
MIN_LOCK_TTL = 3  # seconds; renewal runs every third of the TTL


class ConfigError(Exception):
    """A configuration problem, phrased as one line naming the file and the dotted key."""

    def __init__(self, path: Path | str, key: str | None, message: str) -> None:
        self.path = str(path)
        self.key = key
        self.message = message
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        super().__init__(f"configuration error: {where}{message}")


@dataclass(frozen=True, kw_only=True)
class SchedulerConfig:
    """The `scheduler:` section."""

    enabled: bool = True
    restart_window_minutes: int = DEFAULT_RESTART_WINDOW
    lock_ttl_seconds: int = DEFAULT_LOCK_TTL


SSH_HOST_KEY_POLICIES = ("tofu", "strict", "off")


@dataclass(frozen=True, kw_only=True)
class CollectionConfig:
    """The `collection:` section: limits and recovery rules of `device.collect`."""

    time_limit_seconds: int = 300  # one device's collection, hard limit
    requeue_after_seconds: int = 900  # a published row still `queued` this long is sent again
    max_attempts: int = 3  # deliveries of one row before it is `failed` ("lost: ...")
    max_config_bytes: int = 10 * 1024 * 1024  # a larger configuration fails the result
    ssh_host_key_policy: str = "tofu"  # tofu | strict | off
    # From the environment only (DEVICEVAULT_*: see COLLECTION_ENV below), for operators who
    # tune a site's network timeouts, retries and batch sizes.
    ssh_connect_timeout_seconds: float = 10.0  # TCP connect, SSH handshake and login
    ssh_command_timeout_seconds: float = 60.0  # the backup command's output
    retry_delays_seconds: tuple[float, ...] = (2.0, 4.0)  # pauses before network retries
    publish_batch: int = 1000  # messages per broker round trip when fanning out
    queue_refresh_seconds: float = 30.0  # how often a worker looks for new collection groups


@dataclass(frozen=True, kw_only=True)
class AlertsConfig:
    """The `alerts:` section."""

    stale_after_periods: int = 2  # no success in this many periods of its schedule: stale
    scheduler_down_after_seconds: int = 300


@dataclass(frozen=True, kw_only=True)
class RetentionConfig:
    """The `retention:` section."""

    results_days: int = 400  # results older than this are pruned (0: keep forever)
    configs_keep_per_device: int = 100  # beyond these, configurations older than results_days go


DEFAULT_SENTINEL_MASTER = "mymaster"  # the name Redis' own Sentinel docs and images use


@dataclass(frozen=True, kw_only=True)
class SentinelConfig:
    """`REDIS_SENTINELS` and `REDIS_SENTINEL_MASTER`: the Sentinels to ask for the current
    master of `master_name`; `db` is the database number of REDIS_URL's path (0 without one)."""

    sentinels: tuple[tuple[str, int], ...]
    master_name: str = DEFAULT_SENTINEL_MASTER
    db: int = 0

    def broker_url(self, redis_url: str) -> str:
        """Kombu's URL for a broker on this master: `sentinel://h:p/db;sentinel://h:p/db`,
        with REDIS_URL's user and password (the master's; Sentinels are asked without)."""
        parts = urlsplit(redis_url)
        auth = ""
        if parts.password is not None or parts.username:
            auth = f"{parts.username or ''}:{parts.password or ''}@"
        return ";".join(
            f"sentinel://{auth}{_host_for_url(host)}:{port}/{self.db}"
            for host, port in self.sentinels
        )


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True, kw_only=True)
class Config:
    """Everything the processes read from the YAML file and the environment."""

    path: str
    display_timezone: str
    scheduler: SchedulerConfig
    collection: CollectionConfig
    alerts: AlertsConfig
    retention: RetentionConfig
    redis_url: str
    redis_configured: bool
    database_url: str | None
    redis_sentinel: SentinelConfig | None = None  # REDIS_SENTINELS set: ask them for the master


# section: {key: (type, minimum, maximum)}; str keys take a tuple of allowed values instead.
_SECTION_KEYS: dict[str, dict[str, tuple[type, Any, Any]]] = {
    "scheduler": {
        "enabled": (bool, None, None),
        "restart_window_minutes": (int, 0, 60 * 24 * 366),
        "lock_ttl_seconds": (int, MIN_LOCK_TTL, 86_400),
    },
    "collection": {
        "time_limit_seconds": (int, 5, 86_400),
        "requeue_after_seconds": (int, 10, 7 * 86_400),
        "max_attempts": (int, 1, 100),
        "max_config_bytes": (int, 1024, 1024**3),
        "ssh_host_key_policy": (str, SSH_HOST_KEY_POLICIES, None),
    },
    "alerts": {
        "stale_after_periods": (int, 1, 1000),
        "scheduler_down_after_seconds": (int, 10, 7 * 86_400),
    },
    "retention": {
        "results_days": (int, 0, 100 * 366),
        "configs_keep_per_device": (int, 1, 1_000_000),
    },
}
_SECTION_CLASSES: dict[str, type] = {
    "scheduler": SchedulerConfig,
    "collection": CollectionConfig,
    "alerts": AlertsConfig,
    "retention": RetentionConfig,
}


def _type_name(value: Any) -> str:
    return type(value).__name__ if value is not None else "nothing"


def _check_timezone(path: Path | str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(path, key, f"expected an IANA timezone name, got {value!r}")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(path, key, f"unknown timezone {value!r}") from None
    return value


def _check_value(path: Path | str, dotted: str, spec: tuple[type, Any, Any], value: Any) -> Any:
    kind, low, high = spec
    if kind is str:
        if value not in low:
            raise ConfigError(
                path, dotted, f"expected one of {', '.join(low)}, got {value!r}"
            )
        return value
    # bool is a subclass of int: refuse `true` where a number is expected.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(
            path, dotted, f"expected {'a boolean' if kind is bool else 'an integer'}, "
            f"got {value!r} ({_type_name(value)})"
        )
    if kind is int and low is not None and value < low:
        raise ConfigError(path, dotted, f"must be at least {low}, got {value}")
    if kind is int and high is not None and value > high:
        raise ConfigError(path, dotted, f"must be at most {high}, got {value}")
    return value


def _parse_section(path: Path | str, section: str, raw: Any) -> Any:
    """One optional section of the file as its typed dataclass, every key checked."""
    cls = _SECTION_CLASSES[section]
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise ConfigError(path, section, f"expected a mapping, got {_type_name(raw)}")
    keys = _SECTION_KEYS[section]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        dotted = f"{section}.{key}"
        if key not in keys:
            known = ", ".join(sorted(keys))
            raise ConfigError(path, dotted, f"unknown key (known keys: {known})")
        values[key] = _check_value(path, dotted, keys[key], value)
    return cls(**values)


# collection field: (environment variable, lowest, highest, unit); numbers as text.
COLLECTION_ENV: dict[str, tuple[str, float, float, str]] = {
    "ssh_connect_timeout_seconds": ("DEVICEVAULT_SSH_CONNECT_TIMEOUT", 0.1, 120, "seconds"),
    "ssh_command_timeout_seconds": ("DEVICEVAULT_SSH_COMMAND_TIMEOUT", 0.1, 600, "seconds"),
    "retry_delays_seconds": ("DEVICEVAULT_COLLECT_RETRY_DELAYS", 0, 60, "seconds"),
    "publish_batch": ("DEVICEVAULT_PUBLISH_BATCH", 1, 100_000, "messages"),
    "queue_refresh_seconds": ("DEVICEVAULT_QUEUE_REFRESH_SECONDS", 0.1, 3600, "seconds"),
}
MAX_RETRIES = 5


def env_number(name: str, raw: str, low: float, high: float, unit: str) -> float:
    """The number in environment variable `name` (text `raw`), within [low, high]."""
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # also NaN and words
        raise ConfigError("environment", name, f"expected {low:g} to {high:g} {unit}, got {raw!r}")
    return value


def collection_from_env(collection: CollectionConfig, env: dict[str, str]) -> CollectionConfig:
    """The `collection:` section with the environment's DEVICEVAULT_* tuning applied."""
    values: dict[str, Any] = {}
    for field, (name, low, high, unit) in COLLECTION_ENV.items():
        raw = env.get(name, "").strip()
        if not raw and name not in env:
            continue
        if field == "retry_delays_seconds":
            parts = [p.strip() for p in raw.split(",") if p.strip()]
            if len(parts) > MAX_RETRIES:
                raise ConfigError("environment", name,
                                  f"at most {MAX_RETRIES} retries, got {raw!r}")
            values[field] = tuple(env_number(name, p, low, high, unit) for p in parts)
        elif field == "publish_batch":
            if not raw.isdigit():
                raise ConfigError("environment", name, f"expected a whole number, got {raw!r}")
            values[field] = int(env_number(name, raw, low, high, unit))
        else:
            values[field] = env_number(name, raw, low, high, unit)
    return dataclasses.replace(collection, **values) if values else collection


def redis_url_from_env(env: dict[str, str]) -> tuple[str, bool]:
    """The Redis URL and whether anything in the environment chose it."""
    if env.get("REDIS_URL"):
        return env["REDIS_URL"], True
    configured = any(env.get(k) for k in ("REDIS_HOST", "REDIS_PORT", "REDIS_DB"))
    host = env.get("REDIS_HOST") or "localhost"
    port = env.get("REDIS_PORT") or "6379"
    db = env.get("REDIS_DB") or "0"
    for key, value in (("REDIS_PORT", port), ("REDIS_DB", db)):
        if not value.isdigit():
            raise ConfigError("environment", key, f"expected a whole number, got {value!r}")
    return f"redis://{host}:{port}/{db}", configured


# host:port or [IPv6]:port
_SENTINEL_ADDRESS = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9._-]+)):(?P<port>\d{1,5})$"
)


def redis_sentinel_from_env(env: dict[str, str], redis_url: str) -> SentinelConfig | None:
    """`REDIS_SENTINELS` (`host:port,host:port`) and `REDIS_SENTINEL_MASTER` (default
    `mymaster`), or None when REDIS_SENTINELS is unset or empty."""
    raw = env.get("REDIS_SENTINELS", "").strip()
    if not raw:
        return None
    sentinels = []
    for item in raw.split(","):
        match = _SENTINEL_ADDRESS.match(item.strip())
        port = int(match["port"]) if match else 0
        if not match or not 1 <= port <= 65535:
            raise ConfigError(
                "environment", "REDIS_SENTINELS",
                f"expected host:port[,host:port...] (a port from 1 to 65535), got {item.strip()!r}",
            )
        sentinels.append((match["v6"] or match["host"], port))
    master = env.get("REDIS_SENTINEL_MASTER", "").strip() or DEFAULT_SENTINEL_MASTER
    if not re.fullmatch(r"[A-Za-z0-9._:-]+", master):
        raise ConfigError(
            "environment", "REDIS_SENTINEL_MASTER",
            f"expected a master name such as {DEFAULT_SENTINEL_MASTER}, got {master!r}",
        )
    path = urlsplit(redis_url).path.strip("/") or "0"
    if not path.isdigit():
        raise ConfigError("environment", "REDIS_URL",
                          f"expected a database number as the path, got {path!r}")
    return SentinelConfig(sentinels=tuple(sentinels), master_name=master, db=int(path))


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the YAML file named by DEVICEVAULT_CONFIG (or `path`) and the environment."""
    env = dict(os.environ) if env is None else env
    if path is None:
        path = env.get("DEVICEVAULT_CONFIG") or DEFAULT_CONFIG_PATH
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, None, "file not found (set DEVICEVAULT_CONFIG)") from None
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(path, None, f"invalid YAML{where}: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(path, None, f"expected a mapping at the top, got {_type_name(raw)}")
    known = {"display_timezone", *_SECTION_CLASSES}
    for key in raw:
        if key not in known:
            names = ", ".join(sorted(known))
            raise ConfigError(path, str(key), f"unknown key (known keys: {names})")

    tz_name = _check_timezone(path, "display_timezone", raw.get("display_timezone", "UTC"))
    if env.get("DEVICEVAULT_DISPLAY_TIMEZONE"):
        tz_name = _check_timezone(
            "environment", "DEVICEVAULT_DISPLAY_TIMEZONE", env["DEVICEVAULT_DISPLAY_TIMEZONE"]
        )
    sections = {name: _parse_section(path, name, raw.get(name)) for name in _SECTION_CLASSES}
    sections["collection"] = collection_from_env(sections["collection"], env)
    redis_url, redis_configured = redis_url_from_env(env)
    redis_sentinel = redis_sentinel_from_env(env, redis_url)
    database_url = env.get("DATABASE_URL") or None
    if database_url and database_url.split(":", 1)[0] not in {
        "postgres", "postgresql", "sqlite", "pgsql", "postgis"
    }:
        raise ConfigError("environment", "DATABASE_URL", "expected a postgres:// or sqlite:// URL")
    return Config(
        path=str(path),
        display_timezone=tz_name,
        **sections,
        redis_url=redis_url,
        redis_configured=redis_configured or redis_sentinel is not None,
        database_url=database_url,
        redis_sentinel=redis_sentinel,
    )


def main() -> int:
    """`python -m project.config`: validate the configuration, print one line, exit 0 or 2."""
    import sys

    try:
        cfg = load_config()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(
        f"configuration ok: {cfg.path} (display_timezone={cfg.display_timezone}, "
        f"scheduler.enabled={cfg.scheduler.enabled}, "
        f"restart_window_minutes={cfg.scheduler.restart_window_minutes}, "
        f"lock_ttl_seconds={cfg.scheduler.lock_ttl_seconds})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
