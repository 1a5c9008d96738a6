"""Benchmark-only settings: the project's, plus django-celery-beat, on a database of its own.

Used only by the django-celery-beat anchor of `python -m bench` (never by the product): its
`DatabaseScheduler` needs `django_celery_beat` in INSTALLED_APPS and its tables migrated.
"""

from __future__ import annotations

import json
import os

import dj_database_url

from project.settings import *  # noqa: F403
from project.settings import INSTALLED_APPS

# The product runs django-celery-beat's PeriodicTasks itself, so the app is there already.
assert "django_celery_beat" in INSTALLED_APPS

# The benchmark runner names the database; never fall back to the project's own.
_targets = json.loads(os.environ.get("BENCH_TARGETS", "{}"))
if _targets.get("dcb_db"):
    DATABASES = {"default": dj_database_url.parse(_targets["dcb_db"], conn_max_age=60)}

# django-celery-beat as its users run it: its scheduler and its own loop interval (5 s),
# not the 1 s our beat asks for.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL: int | None = None  # type: ignore[no-redef]
