"""Publication becomes a HOT update in PostgreSQL (docs/benchmarks.md, "Fan-out profile
before/after").

The fan-out sets `published_at` and `attempts` on every row it publishes. Both partial indexes
named `published_at` in their condition, so each of those updates wrote a new entry into every
index of the table. Now: the occurrence index's condition names `status` only; the held rows'
index keys on a new `held` flag, set on a held row until it is published (only those rows'
publication changes an indexed column); the index on `device_id` alone goes (the unique
(device, schedule, scheduled_for) index starts with it); and the table keeps half of each new
page free (fillfactor 50, PostgreSQL only), so the updated row fits in its page.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "devices_devicebackupresult"


def fillfactor(value):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {TABLE} SET (fillfactor = {int(value)})")
    return run


def mark_held(apps, schema_editor):
    """The held rows waiting for their time when this runs."""
    Result = apps.get_model("devices", "DeviceBackupResult")
    Result.objects.filter(status="queued", published_at__isnull=True,
                          publish_after__isnull=False).update(held=True)


class Migration(migrations.Migration):

    dependencies = [
        ('devices', '0009_result_read_indexes'),
        ('schedules', '0002_schedule_policy'),
    ]

    operations = [
        migrations.RunPython(fillfactor(50), fillfactor(100), elidable=False),
        migrations.RemoveIndex(
            model_name='devicebackupresult',
            name='result_unpublished',
        ),
        migrations.RemoveIndex(
            model_name='devicebackupresult',
            name='result_held',
        ),
        migrations.AddField(
            model_name='devicebackupresult',
            name='held',
            field=models.BooleanField(default=False, editable=False, help_text="Held (publish_after) and not yet published: the leader's index of held rows keys on it, so that publishing the rows nobody holds changes no indexed column"),
        ),
        migrations.RunPython(mark_held, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name='devicebackupresult',
            name='device',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='backup_results', to='devices.device'),
        ),
        migrations.AddIndex(
            model_name='devicebackupresult',
            index=models.Index(condition=models.Q(('status', 'queued')), fields=['schedule', 'scheduled_for', 'id'], name='result_queued_occurrence'),
        ),
        migrations.AddIndex(
            model_name='devicebackupresult',
            index=models.Index(condition=models.Q(('held', True), ('status', 'queued')), fields=['publish_after', 'id'], name='result_held_waiting'),
        ),
    ]
