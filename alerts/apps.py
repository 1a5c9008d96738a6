"""App config for alerts."""

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from alerts import metrics, tasks  # noqa: F401 - registers the tasks
        from alerts.worker import SchedulerWatch
        from project.celery import app
        from project.metrics import register_metrics

        app.steps["consumer"].add(SchedulerWatch)
        register_metrics(metrics.collect_metrics)
