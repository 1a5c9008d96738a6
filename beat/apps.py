"""App config for the beat (its models: SchedulerState)."""

from django.apps import AppConfig


class BeatConfig(AppConfig):
    name = "beat"
    verbose_name = "Scheduler"

    def ready(self) -> None:
        from beat.metrics import collect_metrics
        from project.metrics import register_metrics

        register_metrics(collect_metrics)
