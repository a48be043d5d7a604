"""Database triggers that refuse UPDATE and DELETE on the EPCIS event store (SQLite and PostgreSQL).

Events are append-only (research §2.6: corrections are new events with an errorDeclaration, never edits). The
application never updates them; the triggers stop raw SQL too.
"""

from django.db import migrations

TABLES = ("precursors_event", "precursors_eventepc")


def append_only(tables):
    """(create, drop) functions for RunPython: triggers refusing UPDATE and DELETE on ``tables`` (also used by later
    migrations for tables added since)."""

    def create_triggers(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for table in tables:
            if vendor == "sqlite":
                for op in ("UPDATE", "DELETE"):
                    schema_editor.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;")
            elif vendor == "postgresql":
                # jindu_audit_append_only() is created by core.0003
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION jindu_audit_append_only();")

    def drop_triggers(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for table in tables:
            if vendor == "sqlite":
                for op in ("update", "delete"):
                    schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
            elif vendor == "postgresql":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")

    return create_triggers, drop_triggers


create_triggers, drop_triggers = append_only(TABLES)


class Migration(migrations.Migration):
    dependencies = [("precursors", "0001_initial"), ("core", "0003_audit_append_only_triggers")]
    operations = [migrations.RunPython(create_triggers, drop_triggers)]
