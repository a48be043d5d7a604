"""Hardening found in review: conflicts as JSON, expired passwords on the API, no self-promotion,
area codes checked at every door, trusted proxies only, redacted access-log details, keyed audit
chain, nightly verification, second-factor reset, key rotation."""

import json
from datetime import timedelta
from pathlib import Path

from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from conftest import PASSWORD, login_client, make_org, make_user, token_client
from core.models import AccessLog, ChangeLog
from users.models import Role, User


def test_deleting_a_referenced_record_is_a_json_conflict(users, orgs):
    parent = orgs["gusu_office"]
    make_org("下级单位", "320508001", "school", parent=parent)
    response = token_client(users["system_admin"]).delete(f"/api/orgs/organizations/{parent.pk}/")
    assert response.status_code == 409 and "detail" in response.json()


def test_expired_password_blocks_token_issue_and_use(city, api_client):
    user = make_user("old", "social_worker", "320508001")
    client = token_client(user)
    assert client.get("/api/geo/divisions/").status_code == 200
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=400))
    assert client.get("/api/geo/divisions/").status_code == 401
    response = api_client.post("/api/auth/token/", {"username": "old", "password": PASSWORD}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "password_expired"


def test_system_accounts_are_exempt_from_password_expiry(city):
    user = make_user("lab_system", "social_worker", "320508001", is_system_account=True)
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=400))
    assert token_client(User.objects.get(pk=user.pk)).get("/api/geo/divisions/").status_code == 200


def test_security_admin_cannot_promote_themselves(client, users):
    admin = users["security_admin"]
    login_client(client, admin)
    audit_role = Role.objects.get(code="audit_admin")
    response = client.post(f"/accounts/users/{admin.pk}/role/", {"role": audit_role.pk})
    assert response.status_code == 302
    admin.refresh_from_db()
    assert admin.role.code == "security_admin"


def test_builtin_roles_are_read_only(client, users):
    login_client(client, users["security_admin"])
    role = Role.objects.get(code="city_office")
    assert client.get(f"/accounts/roles/{role.pk}/edit/").status_code == 403
    api = token_client(users["security_admin"])
    assert api.patch(f"/api/users/roles/{role.pk}/", {"permissions": ["*:*"]}, format="json").status_code == 403
    assert api.delete(f"/api/users/roles/{role.pk}/").status_code == 403
    custom = api.post("/api/users/roles/", {"code": "helper", "name": "协助", "scope_kind": "area",
                                            "permissions": ["geo.division:view"], "sections": []}, format="json")
    assert custom.status_code == 201
    assert api.patch(f"/api/users/roles/{custom.json()['id']}/", {"name": "协助人员"}, format="json").status_code == 200


def test_api_rejects_unknown_area_codes(users, orgs):
    response = token_client(users["city_office"]).post("/api/orgs/organizations/", {
        "name": "无区划单位", "type": "school", "area_code": "320599001"}, format="json")
    assert response.status_code == 400 and "area_code" in response.json()


def test_forwarded_for_is_ignored_unless_a_proxy_is_configured(client, users, settings):
    login_client(client, users["district_office"])
    client.get("/orgs/?q=x", HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert AccessLog.objects.filter(event="search").latest("seq").ip == "127.0.0.1"
    settings.JINDU_TRUST_X_FORWARDED_FOR = True
    client.get("/orgs/?q=y", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.1.2.3")
    assert AccessLog.objects.filter(event="search").latest("seq").ip == "10.1.2.3"


def test_search_terms_with_identifiers_are_masked_in_the_access_log(client, users):
    login_client(client, users["district_office"])
    client.get("/orgs/?q=11010519491231002X&contact=13912345678")
    detail = json.dumps(AccessLog.objects.filter(event="search").latest("seq").detail, ensure_ascii=False)
    assert "11010519491231002X" not in detail and "110105********002X" in detail
    assert "13912345678" not in detail


def test_uploaded_file_is_removed_after_commit(users):
    import io

    from openpyxl import Workbook

    from core import imports
    from orgs.imports import ORGANIZATION_IMPORT

    wb = Workbook()
    wb.active.append(["名称", "类型", "区划代码"])
    wb.active.append(["平江第七小学", "学校", "320508001"])
    buffer = io.BytesIO()
    wb.save(buffer)
    batch = imports.start_import(ORGANIZATION_IMPORT, users["district_office"], "x.xlsx", buffer.getvalue())
    assert Path(batch.stored_path).exists()
    imports.commit(batch, users["district_office"])
    assert not Path(batch.stored_path).exists()


def test_chain_rewritten_with_plain_sm3_is_still_detected(city):
    """Someone who can write the table but lacks the key cannot forge a valid chain."""
    from core.audit import _COMMON_FIELDS, _canonical, verify_all
    from utilities.crypto import sm3_hex

    target = ChangeLog.objects.order_by("-seq").first()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS core_changelog_no_update")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS core_changelog_append_only ON core_changelog")
    target.message = "forged"
    payload = {n: _canonical(getattr(target, n)) for n in (*_COMMON_FIELDS, *target.hashed_fields)}
    forged_hash = sm3_hex(json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_changelog SET message = %s, row_hash = %s WHERE id = %s",
                       ["forged", forged_hash, target.pk])
        cursor.execute("UPDATE core_auditchainhead SET last_hash = %s WHERE chain = 'change'", [forged_hash])
    problems = verify_all()
    assert problems and problems[0].seq == target.seq


def test_nightly_verification_records_its_result(city):
    from core.tasks import verify_audit_chains_nightly

    assert verify_audit_chains_nightly.call_local() == []
    entry = AccessLog.objects.filter(event="admin", object_type="core.audit").latest("seq")
    assert entry.result == "success" and entry.detail["check"] == "audit_verify"


def test_security_admin_resets_a_lost_authenticator(client, users):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    target = users["audit_admin"]
    TOTPDevice.objects.create(user=target, name="lost phone", confirmed=True)
    login_client(client, users["security_admin"])
    assert client.post(f"/accounts/users/{target.pk}/reset-otp/").status_code == 302
    assert not TOTPDevice.objects.filter(user=target, name="lost phone").exists()
    assert AccessLog.objects.filter(event="admin", object_id=str(target.pk),
                                    detail__action="reset_second_factor").exists()


def test_key_rotation_reencrypts_everything(city, settings, tmp_path, capsys):
    from core import fields
    from utilities import crypto

    person = make_user("p1", "social_worker", "320508001", id_number="11010519491231002X", phone="13912345678")
    key_file = tmp_path / "keys.json"
    key_file.write_text(fields.key_ring().rotated("k9").to_json())
    settings.JINDU_KEY_FILE = key_file
    fields.key_ring.cache_clear()
    try:
        call_command("rotate_field_keys")
        with connection.cursor() as cursor:
            cursor.execute("SELECT id_number, phone FROM users_user WHERE id = %s", [person.pk])
            tokens = cursor.fetchone()
        assert {crypto.token_kid(t) for t in tokens} == {"k9"}
        fresh = User.objects.get(pk=person.pk)
        assert fresh.id_number == "11010519491231002X" and fresh.phone == "13912345678"
    finally:
        fields.key_ring.cache_clear()


def test_hidden_sections_never_reach_list_tables(client, users, monkeypatch):
    from orgs.models import Organization

    monkeypatch.setattr(Organization, "field_sections", {"police_notes": ("contact_name",)}, raising=False)
    login_client(client, users["member_unit"])
    page = client.get("/orgs/").content.decode()
    assert "联系人" not in page
    login_client(client, users["city_office"])
    assert "联系人" in client.get("/orgs/").content.decode()
