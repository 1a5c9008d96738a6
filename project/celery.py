"""The Celery application (`project.celery:app`) shared by workers, the beat and the web."""

from __future__ import annotations

import logging
import logging.config
import os
from typing import Any

import click
from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("devicevault")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.user_options["worker"].add(
    click.Option(
        ["--all-collection-queues"],
        is_flag=True,
        default=False,
        help="Consume collect.default and every collection group's queue, following new groups.",
    )
)
# The devices app adds the bootstep that acts on it (DevicesConfig.ready).


@setup_logging.connect
def configure_logging(loglevel: int | None = None, **kwargs: Any) -> None:
    """Log from worker and beat exactly as the web does: Django's `settings.LOGGING`.

    Connecting this signal stops Celery from installing its own handlers. `--loglevel` still
    counts: the more verbose of it and `DEVICEVAULT_LOG_LEVEL` (INFO by default) wins, because
    Celery passes its own default (WARNING) when the option is not given.
    """
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    root = logging.getLogger()
    if loglevel and loglevel < root.level:
        root.setLevel(loglevel)
