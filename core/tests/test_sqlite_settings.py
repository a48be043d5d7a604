"""The SQLite connection settings (jindu/settings.py): a new database file gets the configured page size and WAL."""

import sqlite3

import pytest
from django.conf import settings
from django.db import connection


def test_a_new_sqlite_database_gets_16_kb_pages_and_wal(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    path = tmp_path / "new.sqlite3"
    db = sqlite3.connect(path)
    try:
        db.executescript(settings.DATABASES["default"]["OPTIONS"]["init_command"])
        db.execute("CREATE TABLE t (x)")
        assert db.execute("PRAGMA page_size").fetchone()[0] == 16384
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 2500
    finally:
        db.close()
