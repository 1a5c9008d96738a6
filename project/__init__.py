"""The DeviceVault Django project: settings, URLs, the Celery app and configuration loading."""

from project.celery import app as celery_app

__all__ = ["celery_app"]
