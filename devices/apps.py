"""App config for devices."""

from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "Devices"

    def ready(self) -> None:
        # Schedules know nothing of devices: devices add `device_count` to schedule reads.
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from devices import housekeeping, metrics  # noqa: F401 - registers the housekeeping tasks
        from devices.access import can_change_devices
        from devices.capacity import attach_capacity_warnings
        from devices.collection import tasks  # noqa: F401 - registers device.collect
        from devices.dispatch.queues import install_collection_queues
        from devices.dispatch.worker import CollectionQueues, DeclaredQueues
        from devices.models import MaintenanceWindow
        from devices.selectors import annotate_visible_device_count
        from devices.services import maintenance_windows_changed
        from project.auth_api import register_user_capability
        from project.celery import app
        from project.metrics import register_metrics
        from schedules.selectors import (
            register_schedule_annotator,
            register_schedule_enricher,
            register_window_source,
        )

        register_schedule_annotator(annotate_visible_device_count)
        register_schedule_enricher(attach_capacity_warnings)
        register_user_capability("can_change_devices", can_change_devices)
        # `celery worker --all-collection-queues` (the option is the Celery app's).
        app.steps["consumer"].add(CollectionQueues)
        app.steps["consumer"].add(DeclaredQueues)
        # Every `collect.*` queue is declared alike wherever it is declared (RabbitMQ refuses
        # a second declaration with other arguments).
        install_collection_queues(app)
        register_metrics(metrics.collect_metrics)
        # When a schedule fires for its whole fleet depends on the maintenance windows.
        register_window_source(MaintenanceWindow.enabled_specs)
        for signal in (post_save, post_delete):
            signal.connect(maintenance_windows_changed, sender=MaintenanceWindow,
                           dispatch_uid=f"windows-{signal is post_save}")
        for through in (MaintenanceWindow.device_groups.through,
                        MaintenanceWindow.collection_groups.through):
            m2m_changed.connect(maintenance_windows_changed, sender=through,
                                dispatch_uid=f"windows-{through.__name__}")
