"""Drop DRF's authtoken table: its tokens were stored in clear text and never expired.

API tokens are django-rest-knox's now (stored as digests, expiring); the old ones no longer
authenticate, and a table of working-looking secrets should not linger in backups.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("devices", "0004_second_wave_fields"),
    ]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop),
    ]
