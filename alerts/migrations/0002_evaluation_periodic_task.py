"""Alert evaluation as a django-celery-beat PeriodicTask row (every 60 s): visible, retimable
and pausable in the admin's "Periodic tasks", sent by the leader beat like any other."""

from django.db import migrations

EVALUATION = "devicevault: alert evaluation"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=EVALUATION).exists():
        return
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.create(
        name=EVALUATION, task="devicevault.alerts.evaluate", interval=every_minute,
        enabled=True,
        description="Evaluates the notification rules: failed and missed backups since the "
                    "last evaluation, stale devices (alerts.stale_after_periods), the "
                    "scheduler's last tick; queues one delivery task per notification.",
    )
    # The beat reads this marker to notice changes (signals do not run in migrations).
    from django.utils import timezone

    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=EVALUATION).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("alerts", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
