"""Django settings for DeviceVault: every value comes from project.config (YAML + environment)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

import dj_database_url

from project.broker import QUEUE_TYPES, celery_broker_settings, is_amqp_url
from project.config import ConfigError, env_number, load_config

BASE_DIR = Path(__file__).resolve().parent.parent

try:
    DEVICEVAULT = load_config()
except ConfigError as exc:  # one clear line, no traceback, for every entry point
    print(exc, file=sys.stderr)
    raise SystemExit(2) from None

VAR_DIR = Path(os.environ.get("DEVICEVAULT_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _environment_error(name: str, message: str) -> NoReturn:
    """Stop every entry point with one line, as for the YAML configuration."""
    print(f"configuration error: environment: {name}: {message}", file=sys.stderr)
    raise SystemExit(2)


MAKE_SECRET_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"


def secret_key_problem(key: str) -> str | None:
    """Why `key` is no secret (a placeholder or obviously weak), or None. Never echoes it.

    Weak is what Django's `check --deploy` calls weak (fewer than 50 characters, fewer than
    5 different ones, a `django-insecure-` development key), so an accepted key passes it.
    """
    lowered = key.lower()
    if any(marker in lowered for marker in ("change-me", "changeme", "placeholder")):
        return "still the placeholder of the example env file"
    if lowered.startswith("django-insecure-"):
        return "a development key (django-insecure-...)"
    if len(key) < 50:
        return f"too short to be a secret ({len(key)} characters, at least 50)"
    if len(set(key)) < 5:
        return "too few different characters to be a secret"
    return None


def _secret_key() -> str:
    key = os.environ.get("DJANGO_SECRET_KEY", "")
    if key:
        problem = secret_key_problem(key)
        if problem:
            _environment_error("DJANGO_SECRET_KEY", f"{problem}; make one with {MAKE_SECRET_KEY}")
        return key
    # Embedded default: a key generated once per installation and kept under var/.
    import secrets

    return _embedded_secret(VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(50))


def _embedded_secret(path: Path, make: Callable[[], str]) -> str:
    """The secret kept in `path`, made with `make()` the first time: created readable by its
    owner only (never world-readable, not even for a moment) and whole or not at all, so
    processes that start together agree on it."""
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            file.write(make() + "\n")
        try:
            os.link(tmp, path)  # fails when another process made it first: use theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("DJANGO_DEBUG", "").lower() in {"1", "true", "yes"}
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]


# -- HTTPS behind a TLS-terminating proxy (docs/operations.md, "Security") -----------------
# Off by default: `./devicevault.sh start` serves http://localhost:8000. The compose env file
# turns them on; `manage.py check --deploy` is then clean.
def _flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in {"", "0", "false", "no", "off"}:
        return False
    if raw in {"1", "true", "yes", "on"}:
        return True
    return _environment_error(name, f"expected true or false, got {raw!r}")


def _whole_number(name: str, *, high: int) -> int:
    raw = os.environ.get(name, "").strip() or "0"
    if not (raw.isascii() and raw.isdigit()) or int(raw) > high:
        _environment_error(
            name, f"expected a whole number of seconds from 0 to {high}, got {raw!r}"
        )
    return int(raw)


def _proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """`X-Forwarded-Proto` -> Django's ("HTTP_X_FORWARDED_PROTO", "https"): the header the
    proxy sets to `https`. Trust it only when every request comes through that proxy."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not all(part.isascii() and part.isalnum() for part in raw.split("-")):
        _environment_error(name, f"expected a header name such as X-Forwarded-Proto, got {raw!r}")
    return "HTTP_" + raw.upper().replace("-", "_"), "https"


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header("DJANGO_SECURE_PROXY_SSL_HEADER")
SECURE_SSL_REDIRECT = _flag("DJANGO_SECURE_SSL_REDIRECT")
# Health checks and Prometheus scrape the web container over plain HTTP from inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = _flag("DJANGO_SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = _flag("DJANGO_CSRF_COOKIE_SECURE")
SECURE_HSTS_SECONDS = _whole_number("DJANGO_SECURE_HSTS_SECONDS", high=2 * 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = _flag("DJANGO_SECURE_HSTS_PRELOAD")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "schedules",
    "devices",
    "beat",
    "alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "project.login_throttle.LoginThrottleMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite (the embedded default) is shared by web, worker and beat: WAL lets readers run beside
# the one writer, the busy timeout makes a writer wait instead of failing with "database is
# locked", and IMMEDIATE transactions take the write lock up front, so two transactions never
# deadlock upgrading a read lock (where a busy timeout cannot help).
SQLITE_OPTIONS = {
    "timeout": 30,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}

if DEVICEVAULT.database_url:
    DATABASES = {"default": dj_database_url.parse(DEVICEVAULT.database_url, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "devicevault.sqlite3"),
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
    # Tests on SQLite use a file, so the beat and worker processes they start share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's username/password check behind the per-username login throttle (every login path:
# API token, SPA session, admin).
AUTHENTICATION_BACKENDS = ["project.login_throttle.ThrottledModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = DEVICEVAULT.display_timezone  # how the admin shows times; storage is UTC
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from it once collectstatic ran
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.is_dir() else []
WHITENOISE_USE_FINDERS = True
LOGIN_URL = "/login"

REDIS_URL = DEVICEVAULT.redis_url
# REDIS_SENTINELS: every Redis client (project.redis_client) and, unless CELERY_BROKER_URL says
# otherwise, the broker ask these Sentinels for the current master.
REDIS_SENTINEL = DEVICEVAULT.redis_sentinel

# When set, GET /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` (else 401).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "").strip()

# Celery: everything the worker, the beat and the publisher share.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or (
    REDIS_SENTINEL.broker_url(REDIS_URL) if REDIS_SENTINEL else REDIS_URL
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ROUTES = ("devices.dispatch.routing.route_task",)
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis or RabbitMQ (`amqp://`): project/broker.py says what differs (on RabbitMQ durable
# quorum queues and publisher confirms). RabbitMQ older than 3.8 has no quorum queues: set
# DEVICEVAULT_AMQP_QUEUE_TYPE=classic (durable classic queues).
BROKER_IS_AMQP = is_amqp_url(CELERY_BROKER_URL)
AMQP_QUEUE_TYPE = os.environ.get("DEVICEVAULT_AMQP_QUEUE_TYPE", "quorum").strip()
if AMQP_QUEUE_TYPE not in QUEUE_TYPES:
    _environment_error("DEVICEVAULT_AMQP_QUEUE_TYPE",
                       f"must be quorum or classic, not {AMQP_QUEUE_TYPE!r}")
_broker = celery_broker_settings(CELERY_BROKER_URL, queue_type=AMQP_QUEUE_TYPE)
if REDIS_SENTINEL and str(CELERY_BROKER_URL).startswith("sentinel://"):
    _broker["broker_transport_options"]["master_name"] = REDIS_SENTINEL.master_name
for _name, _value in _broker.items():
    globals()[f"CELERY_{_name.upper()}"] = _value
CELERY_BEAT_SCHEDULER = "beat.scheduler:BackupScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 1  # seconds; the scheduler computes its own wake-up

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "knox.auth.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "project.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "project.schema.AutoSchema",
    "EXCEPTION_HANDLER": "project.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DeviceVault scheduler API",
    "DESCRIPTION": (
        "Backup schedules, devices, the scheduled-backups calendar and history.\n\n"
        "Conventions: authenticate with a session (writes need the X-CSRFToken header) or "
        "`Authorization: Token <token>` from `POST /api/auth/token/`. A device you may not "
        "see is a 404, exactly like a missing one; only then is a write you may not make a "
        "403. Request bodies are JSON objects and values must have the documented JSON type "
        "(no \"5\" for 5); unknown body fields are refused. Query parameters an endpoint "
        "does not know, empty values and malformed values are a 400 naming the parameter. "
        "Instants are ISO 8601 in UTC; calendar dates and times are local to the display "
        "timezone (`GET /api/auth/session/` names it)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's static files: /api/docs/ needs no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ScheduleTypeEnum": "schedules.choices.BackupScheduleTypeChoices",
        "DayOfWeekEnum": "schedules.choices.DayOfWeekChoices",
        "ResultStatusEnum": "devices.choices.DeviceBackupResultStatusChoices",
    },
}

# One line per event in every process (web, worker, beat: project.celery applies LOGGING to
# Celery's processes too): logfmt key=value text, or one JSON object per line.
LOG_FORMAT = os.environ.get("DEVICEVAULT_LOG_FORMAT", "text").strip().lower() or "text"
if LOG_FORMAT not in {"text", "json"}:
    print(
        f"configuration error: environment: DEVICEVAULT_LOG_FORMAT: expected text or json, "
        f"got {os.environ['DEVICEVAULT_LOG_FORMAT']!r}",
        file=sys.stderr,
    )
    raise SystemExit(2)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"()": "project.logging.KeyValueFormatter"},
        "json": {"()": "project.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {
        "handlers": ["console"],
        "level": os.environ.get("DEVICEVAULT_LOG_LEVEL", "INFO").upper(),
    },
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # netmiko's DEBUG lines carry everything read from a device: whole configurations.
        "netmiko": {"level": "INFO"},
    },
}


# -- Collection (devices.collection: ssh, tasks, credentials) --------------------------------
def _seconds(name: str, raw: str, *, low: float, high: float, unit: str = "seconds") -> float:
    try:
        return env_number(name, raw, low, high, unit)
    except ConfigError as exc:
        _environment_error(name, exc.message)


def _credentials_keys() -> list[str]:
    """Fernet keys for the credential sets: the first encrypts, every one decrypts (rotation).

    From DEVICEVAULT_CREDENTIALS_KEY (comma-separated) or, when unset, an embedded default:
    a key generated once per installation under var/ (created atomically, so processes that
    start together agree on it). Whoever has it can read every stored password.
    """
    import base64
    import binascii

    name = "DEVICEVAULT_CREDENTIALS_KEY"
    raw = os.environ.get("DEVICEVAULT_CREDENTIALS_KEY", "").strip()
    if not raw:
        path = VAR_DIR / "credentials_key"
        raw = _embedded_secret(path, lambda: base64.urlsafe_b64encode(os.urandom(32)).decode())
        name = str(path)
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    for key in keys:
        try:
            valid = len(base64.urlsafe_b64decode(key.encode())) == 32
        except (binascii.Error, ValueError):
            valid = False
        if not valid:
            _environment_error(
                name, "not a Fernet key (32 url-safe base64-encoded bytes; how to make one: "
                "deploy/devicevault.env.example)",
            )
    return keys


CREDENTIALS_KEYS = _credentials_keys()
# Collection timeouts, retries and batch sizes: settings.DEVICEVAULT.collection (the YAML's
# `collection:` section and the DEVICEVAULT_* variables, read by project.config).


# -- API tokens (django-rest-knox): stored as SHA-512 digests, expiring, revoked on logout ----
TOKEN_TTL_HOURS = _seconds(
    "DEVICEVAULT_TOKEN_TTL_HOURS", os.environ.get("DEVICEVAULT_TOKEN_TTL_HOURS", "10"),
    low=0.01, high=24 * 366, unit="hours",
)
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=TOKEN_TTL_HOURS),
    "AUTH_HEADER_PREFIX": "Token",  # `Authorization: Token <token>`, as before
}

# The `local` backup method reads regular files under this directory only
# (devices.collection.local).
LOCAL_COLLECT_ROOT = Path(
    os.environ.get("DEVICEVAULT_LOCAL_ROOT", "").strip() or VAR_DIR / "local-devices"
)


# -- Alerts (alerts/): e-mail through Django's backend, webhook retries ----------------------
# SMTP from the environment (deploy/devicevault.env.example); the console backend prints
# messages instead of sending them when EMAIL_HOST is unset.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "").strip()
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = int(_seconds("EMAIL_PORT", os.environ.get("EMAIL_PORT", "25"), low=1, high=65535,
                          unit="(a TCP port)"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _flag("EMAIL_USE_TLS")
EMAIL_USE_SSL = _flag("EMAIL_USE_SSL")
EMAIL_TIMEOUT = 30  # seconds
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "devicevault@localhost")
# A failed delivery is retried after ALERTS_RETRY_BASE_SECONDS, doubling up to
# ALERTS_RETRY_MAX_SECONDS between tries (below the broker's visibility timeout), until
# ALERTS_GIVE_UP_SECONDS after the notification was created: then it is `failed`.
ALERTS_RETRY_BASE_SECONDS = _seconds(
    "DEVICEVAULT_ALERTS_RETRY_BASE_SECONDS",
    os.environ.get("DEVICEVAULT_ALERTS_RETRY_BASE_SECONDS", "30"), low=0.05, high=3600,
)
ALERTS_RETRY_MAX_SECONDS = 1800.0  # seconds
ALERTS_GIVE_UP_SECONDS = 86_400.0  # seconds: 24 hours
# Every worker checks the leader's last tick this often (scheduler_down without any beat).
ALERTS_WATCH_SECONDS = _seconds(
    "DEVICEVAULT_ALERTS_WATCH_SECONDS",
    os.environ.get("DEVICEVAULT_ALERTS_WATCH_SECONDS", "60"), low=0.5, high=3600,
)
