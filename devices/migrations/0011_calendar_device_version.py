"""A version of the calendar's device lists, bumped by PostgreSQL on every write that could
change them (docs/design.md, "The calendar's device lists").

One row, `devices_calendar_version`, holds a value from a sequence. A statement-level trigger
on `devices_device` takes a new value on every INSERT, DELETE and TRUNCATE and every UPDATE
that sets a column the calendar shows or selects by (name, ip_address, enabled, device_group,
backup_schedule): whatever wrote it (a model save, QuerySet.update, bulk_create, raw SQL, the
SET NULL of a deleted group or schedule). A sequence never hands a value out twice, also
across rolled-back transactions, so a version is never reused for other contents.

Not a model: no column of the tables the benchmark fleet fills changes, and Django's flush
leaves it alone. SQLite gets nothing: there the calendar reads its devices on every request.
"""

from django.db import migrations

TABLE = "devices_calendar_version"
COLUMNS = "name, ip_address, enabled, device_group_id, backup_schedule_id"

CREATE = [
    f"CREATE SEQUENCE {TABLE}_seq",
    f"CREATE TABLE {TABLE} (id smallint PRIMARY KEY CHECK (id = 1), version bigint NOT NULL)",
    f"INSERT INTO {TABLE} (id, version) VALUES (1, nextval('{TABLE}_seq'))",
    f"""CREATE FUNCTION {TABLE}_bump() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {TABLE} (id, version) VALUES (1, nextval('{TABLE}_seq'))
        ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
        RETURN NULL;
    END
    $$""",
    f"""CREATE TRIGGER {TABLE}_write
        AFTER INSERT OR DELETE OR UPDATE OF {COLUMNS} ON devices_device
        FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_bump()""",
    f"""CREATE TRIGGER {TABLE}_truncate AFTER TRUNCATE ON devices_device
        FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_bump()""",
]

DROP = [
    f"DROP TRIGGER IF EXISTS {TABLE}_truncate ON devices_device",
    f"DROP TRIGGER IF EXISTS {TABLE}_write ON devices_device",
    f"DROP FUNCTION IF EXISTS {TABLE}_bump()",
    f"DROP TABLE IF EXISTS {TABLE}",
    f"DROP SEQUENCE IF EXISTS {TABLE}_seq",
]


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql, params=None)
    return apply


class Migration(migrations.Migration):
    dependencies = [("devices", "0010_result_indexes_allow_hot_publication")]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]
