"""App config for devices."""

from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "Devices"

    def ready(self) -> None:
        # Schedules know nothing of devices: devices add `device_count` to schedule reads.
        from devices.selectors import annotate_visible_device_count
        from schedules.selectors import register_schedule_annotator

        register_schedule_annotator(annotate_visible_device_count)
