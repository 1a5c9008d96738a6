"""The Celery scheduler class: the default, and side-effect free when built lazily."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from beat.lock import LOCK_KEY
from beat.scheduler import BackupScheduler
from project.celery import app


def test_backup_scheduler_is_the_default_beat_scheduler() -> None:
    assert settings.CELERY_BEAT_SCHEDULER == "beat.scheduler:BackupScheduler"
    assert app.conf.beat_scheduler == "beat.scheduler:BackupScheduler"


def test_lazy_instance_touches_neither_redis_nor_the_database(
    db: None, redis_db: Any, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        scheduler = BackupScheduler(app=app, lazy=True)
        assert scheduler.service is None
        assert scheduler.schedule == {}
        assert "not started" in scheduler.info
        scheduler.close()
    assert redis_db.get(LOCK_KEY) is None
    assert redis_db.dbsize() == 0
