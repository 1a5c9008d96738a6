"""App config for the beat (its models: SchedulerState)."""

from django.apps import AppConfig


class BeatConfig(AppConfig):
    name = "beat"
    verbose_name = "Scheduler"
