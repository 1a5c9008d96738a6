"""The Celery application (`project.celery:app`) shared by workers, the beat and the web."""

from __future__ import annotations

import os

import click
from celery import Celery

from devices.worker import CollectionQueues

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
app.steps["consumer"].add(CollectionQueues)
