import pytest

from conftest import login_client, make_user
from core.models import AccessLog, ChangeLog
from core.sections import hidden_fields
from users.models import Role, User


class FakeModel:
    field_sections = {"tests": ("test_result",), "assistance": ("needs",), "police_notes": ("notes",)}


def test_member_unit_sees_only_identity_and_assistance(users):
    assert hidden_fields(users["member_unit"], FakeModel) == {"test_result", "notes"}
    assert hidden_fields(users["city_office"], FakeModel) == set()
    assert hidden_fields(None, FakeModel) == {"test_result", "needs", "notes"}


def test_system_admin_creates_accounts_but_cannot_assign_roles_or_read_audit(client, users):
    admin = users["system_admin"]
    login_client(client, admin)
    response = client.post("/accounts/users/add/", {"username": "newclerk", "full_name": "新同事",
                                                     "area_code": "320508", "new_password": "Fresh-pass-2026",
                                                     "is_active": "on"})
    assert response.status_code == 302, response.content[:500]
    created = User.objects.get(username="newclerk")
    assert created.role is None and created.check_password("Fresh-pass-2026")
    assert client.get(f"/accounts/users/{created.pk}/role/").status_code == 403
    assert client.get("/audit/changes/").status_code == 403
    assert client.get("/audit/access/").status_code == 403


def test_security_admin_assigns_roles_and_unlocks_but_cannot_create_accounts_or_read_audit(client, users):
    login_client(client, users["security_admin"])
    target = users["social_worker"]
    response = client.post(f"/accounts/users/{target.pk}/role/", {"role": Role.objects.get(code="police").pk})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.role.code == "police"
    assert ChangeLog.objects.filter(object_id=str(target.pk), message="role assigned").exists()
    assert client.post(f"/accounts/users/{target.pk}/unlock/").status_code == 302
    assert client.get("/accounts/users/add/").status_code == 403
    assert client.post("/accounts/users/add/", {"username": "x", "new_password": "Fresh-pass-2026"}).status_code == 403
    assert client.get("/audit/changes/").status_code == 403


def test_audit_admin_reads_and_exports_logs_but_changes_nothing(client, users, orgs):
    login_client(client, users["audit_admin"])
    assert client.get("/audit/changes/").status_code == 200
    export = client.get("/audit/changes/?export=xlsx")
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")
    assert client.get("/audit/access/?event=login").status_code == 200
    assert client.get("/orgs/add/").status_code == 403
    assert client.post(f"/orgs/{orgs['pingjiang'].pk}/edit/", {"name": "x"}).status_code == 403
    assert client.get(f"/accounts/users/{users['lab'].pk}/role/").status_code == 403
    assert AccessLog.objects.filter(event="export", object_type="core.changelog").exists()


def test_reading_a_user_record_is_logged(client, users):
    login_client(client, users["system_admin"])
    assert client.get(f"/accounts/users/{users['lab'].pk}/").status_code == 200
    assert AccessLog.objects.filter(event="read", object_type="users.user", object_id=str(users["lab"].pk)).exists()


@pytest.mark.parametrize("role", ["system_admin", "security_admin"])
def test_no_admin_can_erase_the_audit(client, users, role):
    login_client(client, users[role])
    entry = ChangeLog.objects.first()
    assert client.post(f"/audit/changes/{entry.pk}/delete/").status_code == 404  # no such page exists at all
    assert ChangeLog.objects.filter(pk=entry.pk).exists()


def test_new_user_without_role_sees_nothing(client, city):
    nobody = make_user("nobody", None, "320508")
    login_client(client, nobody)
    assert client.get("/").status_code == 200
    assert client.get("/orgs/").status_code == 403
