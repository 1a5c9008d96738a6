"""Analytics summaries (PostgreSQL only; docs/design.md, "Analytics summaries").

Two tables outside the ORM: `devices_analytics_day`, the local days whose results are
summarised (one row per display zone and day, `ready` once its cells are in), and
`devices_analytics_cell`, that day's figures per schedule, collection group and device group,
each split by device group (the access rule's unit). Triggers forget a summarised day as soon
as anything that feeds it changes: a result of that day inserted, updated (its outcome,
times, error, schedule or device) or deleted, the results table truncated, or a device moved
to another device or collection group (figures follow a device's groups now, as the access
rule does: every summarised day is forgotten). The triggers fire only for results scheduled
more than an hour before (`devices.analytics_summary.CLOSED_AFTER`): the summaries never hold
a day that ended less than an hour ago, so the fan-out and the workers finishing today's
results never run them.
"""

from django.db import migrations

TASK_NAME = "devicevault: analytics summaries"

FORWARD = """
CREATE TABLE devices_analytics_day (
    id bigserial PRIMARY KEY,
    zone varchar(64) NOT NULL,
    day date NOT NULL,
    begins timestamptz NOT NULL,
    ends timestamptz NOT NULL,
    ready boolean NOT NULL DEFAULT false,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (zone, day)
);
CREATE INDEX devices_analytics_day_span ON devices_analytics_day (begins, ends);
CREATE TABLE devices_analytics_cell (
    day_id bigint NOT NULL,
    kind char(1) NOT NULL,
    key integer NOT NULL,
    device_group integer NOT NULL,
    total integer NOT NULL,
    success integer NOT NULL,
    failed integer NOT NULL,
    missed_window integer NOT NULL,
    skipped integer NOT NULL,
    durations bigint[] NOT NULL,
    duration_counts integer[] NOT NULL,
    errors text[] NOT NULL,
    error_counts integer[] NOT NULL
);
CREATE INDEX devices_analytics_cell_day ON devices_analytics_cell (day_id, kind);

CREATE FUNCTION devices_analytics_forget_result() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM devices_analytics_day
        WHERE begins <= OLD.scheduled_for AND OLD.scheduled_for < ends;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        DELETE FROM devices_analytics_day
        WHERE begins <= NEW.scheduled_for AND NEW.scheduled_for < ends;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION devices_analytics_forget_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM devices_analytics_day;
    RETURN NULL;
END $$;

CREATE TRIGGER analytics_result_insert AFTER INSERT ON devices_devicebackupresult
    FOR EACH ROW WHEN (NEW.scheduled_for < clock_timestamp() - interval '1 hour')
    EXECUTE FUNCTION devices_analytics_forget_result();
CREATE TRIGGER analytics_result_update
    AFTER UPDATE OF status, started_at, finished_at, error, schedule_id, device_id, scheduled_for
    ON devices_devicebackupresult
    FOR EACH ROW WHEN (OLD.scheduled_for < clock_timestamp() - interval '1 hour'
                       OR NEW.scheduled_for < clock_timestamp() - interval '1 hour')
    EXECUTE FUNCTION devices_analytics_forget_result();
CREATE TRIGGER analytics_result_delete AFTER DELETE ON devices_devicebackupresult
    FOR EACH ROW WHEN (OLD.scheduled_for < clock_timestamp() - interval '1 hour')
    EXECUTE FUNCTION devices_analytics_forget_result();
CREATE TRIGGER analytics_result_truncate AFTER TRUNCATE ON devices_devicebackupresult
    FOR EACH STATEMENT EXECUTE FUNCTION devices_analytics_forget_all();
CREATE TRIGGER analytics_device_moved
    AFTER UPDATE OF device_group_id, collection_group_id ON devices_device
    FOR EACH ROW WHEN (OLD.device_group_id IS DISTINCT FROM NEW.device_group_id
                       OR OLD.collection_group_id IS DISTINCT FROM NEW.collection_group_id)
    EXECUTE FUNCTION devices_analytics_forget_all();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS analytics_device_moved ON devices_device;
DROP TRIGGER IF EXISTS analytics_result_truncate ON devices_devicebackupresult;
DROP TRIGGER IF EXISTS analytics_result_delete ON devices_devicebackupresult;
DROP TRIGGER IF EXISTS analytics_result_update ON devices_devicebackupresult;
DROP TRIGGER IF EXISTS analytics_result_insert ON devices_devicebackupresult;
DROP FUNCTION IF EXISTS devices_analytics_forget_all();
DROP FUNCTION IF EXISTS devices_analytics_forget_result();
DROP TABLE IF EXISTS devices_analytics_cell;
DROP TABLE IF EXISTS devices_analytics_day;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    every_ten, _ = CrontabSchedule.objects.get_or_create(
        minute="*/10", hour="*", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.create(
        name=TASK_NAME, task="devicevault.analytics_summaries", crontab=every_ten,
        enabled=True,
        description="Summarises the results of closed local days for the analytics page "
                    "(PostgreSQL only; the days a change touches are summarised again).",
    )
    from django.utils import timezone

    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("devices", "0011_calendar_device_version"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
