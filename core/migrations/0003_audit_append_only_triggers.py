"""Database triggers that refuse UPDATE and DELETE on the audit tables (SQLite and PostgreSQL).

The application already refuses them; the triggers stop a raw SQL statement too. A DBA who drops a
trigger to tamper with a row is still caught by the hash chain (``manage.py audit_verify``).
TRUNCATE is left alone on PostgreSQL because the test runner empties tables with it; removing rows
that way is caught by the chain head check.
"""

from django.db import migrations

from core.triggers import PG_FUNCTION, create_append_only, drop_append_only

TABLES = ("core_changelog", "core_accesslog")


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)  # no parameters: the % belongs to plpgsql
    create_append_only(schema_editor, TABLES)


def drop_triggers(apps, schema_editor):
    drop_append_only(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_initial")]
    operations = [migrations.RunPython(create_triggers, drop_triggers)]
