"""Database triggers that refuse UPDATE and DELETE on the EPCIS event store (SQLite and PostgreSQL).

Events are append-only (research §2.6: corrections are new events with an errorDeclaration, never edits). The
application never updates them; the triggers stop raw SQL too.
"""

from django.db import migrations

from core.triggers import append_only

TABLES = ("precursors_event", "precursors_eventepc")


# jindu_audit_append_only() (PostgreSQL) is created by core.0003
create_triggers, drop_triggers = append_only(TABLES)


class Migration(migrations.Migration):
    dependencies = [("precursors", "0001_initial"), ("core", "0003_audit_append_only_triggers")]
    operations = [migrations.RunPython(create_triggers, drop_triggers)]
