"""App config for schedules."""

from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    name = "schedules"
    verbose_name = "Backup schedules"

    def ready(self) -> None:
        from schedules import signals  # noqa: F401
