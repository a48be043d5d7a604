import pytest
from django.core.management import call_command
from django.db import connection

from core.audit import log_access, verify_all
from core.context import acting_as
from core.models import AccessLog, AppendOnlyError, ChangeLog


def run_verify():
    with pytest.raises(SystemExit) as exc:
        call_command("audit_verify")
    return exc.value.code


def drop_triggers():
    """What a DBA bent on tampering would do first."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for table in ("core_changelog", "core_accesslog"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            for table in ("core_changelog", "core_accesslog"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")


def test_every_write_records_before_and_after(city):
    from orgs.models import Organization

    with acting_as(username="clerk"):
        org = Organization(name="测试单位", area_code="320508001", type="school")
        org.save()
        org.name = "测试单位（更名）"
        org.save()
        pk = org.pk
        org.delete()
    entries = list(ChangeLog.objects.filter(object_type="orgs.organization", object_id=str(pk)).order_by("seq"))
    assert [e.action for e in entries] == ["create", "update", "delete"]
    assert entries[0].before is None and entries[0].after["name"] == "测试单位"
    assert entries[1].before["name"] == "测试单位" and entries[1].after["name"] == "测试单位（更名）"
    assert entries[2].before["name"] == "测试单位（更名）" and entries[2].after is None
    assert len({e.request_id for e in entries}) == 1  # one actor context, one request id


def test_change_log_names_the_request_user(client, users, orgs):
    from conftest import login_client

    login_client(client, users["district_office"])
    response = client.post("/orgs/add/", {"name": "新学校", "type": "school", "area_code": "320508001",
                                          "is_active": "on"})
    assert response.status_code == 302
    entry = ChangeLog.objects.filter(object_type="orgs.organization", action="create").latest("seq")
    assert entry.username == "u_district_office" and entry.user_id == users["district_office"].pk
    assert entry.ip == "127.0.0.1" and entry.channel == "web"


def test_audit_rows_refuse_update_and_delete(city):
    entry = ChangeLog.objects.first()
    entry.message = "edited"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        ChangeLog.objects.filter(pk=entry.pk).update(message="x")
    with pytest.raises(AppendOnlyError):
        AccessLog.objects.all().delete()


def test_database_triggers_refuse_raw_sql(city):
    from django.db import DatabaseError, transaction

    entry = ChangeLog.objects.first()
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE core_changelog SET message = 'x' WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM core_changelog WHERE id = %s", [entry.pk])


def test_chains_verify_when_intact(city):
    log_access(AccessLog.Event.READ, object_type="x", object_id="1")
    assert verify_all() == []
    call_command("audit_verify")  # exits 0: no SystemExit raised


def test_altered_row_is_detected_and_named(city, capsys):
    target = ChangeLog.objects.order_by("seq")[3]
    drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_changelog SET object_repr = 'forged' WHERE id = %s", [target.pk])
    assert run_verify() == 1
    err = capsys.readouterr().err
    assert f"seq={target.seq}" in err and "altered" in err


def test_altered_json_content_is_detected(city):
    target = ChangeLog.objects.order_by("seq")[2]
    drop_triggers()
    with connection.cursor() as cursor:
        after = '{"name": "forged"}'
        cursor.execute("UPDATE core_changelog SET after = %s WHERE id = %s", [after, target.pk])
    problems = verify_all()
    assert problems and problems[0].seq == target.seq


def test_removed_row_is_detected(city, capsys):
    rows = list(ChangeLog.objects.order_by("seq"))
    victim = rows[4]
    drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_changelog WHERE id = %s", [victim.pk])
    assert run_verify() == 1
    assert f"seq={victim.seq}" in capsys.readouterr().err


def test_removed_last_rows_are_detected(city):
    last = ChangeLog.objects.order_by("-seq").first()
    drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_changelog WHERE id = %s", [last.pk])
    problems = verify_all()
    assert problems and "end of the chain" in problems[0].problem


def test_access_log_chain_tampering_is_detected(city):
    for i in range(3):
        log_access(AccessLog.Event.SEARCH, object_type="orgs.organization", detail={"q": str(i)})
    target = AccessLog.objects.order_by("seq")[1]
    drop_triggers()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_accesslog SET username = 'someone_else' WHERE id = %s", [target.pk])
    problems = verify_all()
    assert [p.chain for p in problems] == ["access"] and problems[0].seq == target.seq


def test_hash_links_each_row_to_its_predecessor(city):
    rows = list(ChangeLog.objects.order_by("seq")[:5])
    assert rows[0].prev_hash == "0" * 64
    for previous, row in zip(rows, rows[1:]):
        assert row.prev_hash == previous.row_hash
        assert row.seq == previous.seq + 1


def test_bulk_appends_keep_the_chain(city):
    from core.audit import log_changes_bulk
    from orgs.models import Organization

    orgs = Organization.objects.bulk_create([Organization(name=f"批量{i}", area_code="320508001", type="school")
                                             for i in range(50)])
    assert log_changes_bulk(orgs, "create", message="bulk") == 50
    assert ChangeLog.objects.filter(message="bulk").count() == 50
    assert verify_all() == []
