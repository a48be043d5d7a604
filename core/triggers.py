"""Append-only tables: triggers that refuse UPDATE and DELETE (SQLite and PostgreSQL), for the migrations that put
them on the audit log (core 0003) and the EPCIS event store (precursors 0002, 0006, 0008). The SQL must stay as it
is: migrations already applied made exactly these triggers."""

#: the PostgreSQL function every trigger calls (created by core 0003)
PG_FUNCTION = ("CREATE OR REPLACE FUNCTION jindu_audit_append_only() RETURNS trigger AS $$ "
               "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql;")


def create_append_only(schema_editor, tables) -> None:
    vendor = schema_editor.connection.vendor
    for table in tables:
        if vendor == "sqlite":
            for op in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;")
        elif vendor == "postgresql":
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION jindu_audit_append_only();")


def drop_append_only(schema_editor, tables) -> None:
    vendor = schema_editor.connection.vendor
    for table in tables:
        if vendor == "sqlite":
            for op in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
        elif vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")


def append_only(tables):
    """(create, drop) functions for ``migrations.RunPython``."""
    return (lambda apps, schema_editor: create_append_only(schema_editor, tables),
            lambda apps, schema_editor: drop_append_only(schema_editor, tables))
