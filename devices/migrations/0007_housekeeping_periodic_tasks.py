"""The product's housekeeping as django-celery-beat PeriodicTask rows: visible, retimable and
pausable in the admin's "Periodic tasks", sent by the leader beat like any other."""

from django.db import migrations

RETENTION = "devicevault: retention"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=RETENTION).exists():
        return
    daily, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.create(
        name=RETENTION, task="devicevault.retention", crontab=daily, enabled=True,
        description="Deletes results older than retention.results_days and the "
                    "configurations no device needs any more (the newest "
                    "retention.configs_keep_per_device of each device always stay).",
    )
    # The beat reads this marker to notice changes (signals do not run in migrations).
    from django.utils import timezone

    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=RETENTION).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("devices", "0006_local_backup_method"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
