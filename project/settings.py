"""Django settings for DeviceVault: every value comes from project.config (YAML + environment)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import dj_database_url

from project.config import ConfigError, load_config

BASE_DIR = Path(__file__).resolve().parent.parent

try:
    DEVICEVAULT = load_config()
except ConfigError as exc:  # one clear line, no traceback, for every entry point
    print(exc, file=sys.stderr)
    raise SystemExit(2) from None

VAR_DIR = Path(os.environ.get("DEVICEVAULT_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    if os.environ.get("DJANGO_SECRET_KEY"):
        return os.environ["DJANGO_SECRET_KEY"]
    # Embedded default: a key generated once per installation and kept under var/.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
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

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "schedules",
    "devices",
    "beat",
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

if DEVICEVAULT.database_url:
    DATABASES = {"default": dj_database_url.parse(DEVICEVAULT.database_url, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "devicevault.sqlite3"),
            "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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

# Celery: everything the worker, the beat and the publisher share.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_ROUTES = ("devices.routing.route_task",)
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULER = "beat.scheduler:BackupScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 1  # seconds; the scheduler computes its own wake-up

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
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


# -- Collection (devices.ssh, devices.tasks, devices.credentials) ---------------------------
def _environment_error(name: str, message: str) -> NoReturn:
    """Stop every entry point with one line, as for the YAML configuration."""
    print(f"configuration error: environment: {name}: {message}", file=sys.stderr)
    raise SystemExit(2)


def _seconds(name: str, raw: str, *, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # also NaN and words
        _environment_error(name, f"expected {low:g} to {high:g} seconds, got {raw!r}")
    return value


def _retry_delays(name: str, raw: str) -> tuple[float, ...]:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if len(parts) > 5:
        _environment_error(name, f"at most 5 retries, got {raw!r}")
    return tuple(_seconds(name, p, low=0, high=60) for p in parts)


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
        if not path.exists():
            tmp = path.with_name(f".credentials_key.{os.getpid()}")
            tmp.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode() + "\n")
            tmp.chmod(0o600)
            try:
                os.link(tmp, path)  # fails when another process made it first: use theirs
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        raw, name = path.read_text().strip(), str(path)
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
# Seconds to open the TCP connection and finish the SSH handshake and login; seconds for the
# backup command to finish.
COLLECT_CONNECT_TIMEOUT = _seconds(
    "DEVICEVAULT_SSH_CONNECT_TIMEOUT", os.environ.get("DEVICEVAULT_SSH_CONNECT_TIMEOUT", "10"),
    low=0.1, high=120,
)
COLLECT_COMMAND_TIMEOUT = _seconds(
    "DEVICEVAULT_SSH_COMMAND_TIMEOUT", os.environ.get("DEVICEVAULT_SSH_COMMAND_TIMEOUT", "60"),
    low=0.1, high=600,
)
# Pauses before retrying a collection that failed on the network (refused, unreachable,
# timed out connecting, connection lost): one retry per value. The group's slot stays held.
COLLECT_RETRY_DELAYS = _retry_delays(
    "DEVICEVAULT_COLLECT_RETRY_DELAYS", os.environ.get("DEVICEVAULT_COLLECT_RETRY_DELAYS", "2,4")
)
# The `local` backup method reads regular files under this directory only (devices.local).
LOCAL_COLLECT_ROOT = Path(
    os.environ.get("DEVICEVAULT_LOCAL_ROOT", "").strip() or VAR_DIR / "local-devices"
)
