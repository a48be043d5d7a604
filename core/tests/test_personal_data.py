"""Personal data is SM4-GCM ciphertext at rest, searchable through the blind index, masked in the
change log, and no dump of the database contains it in plain text."""

import pytest
from django.db import connection

from conftest import make_user
from core.fields import blind_index_for
from core.models import AccessLog, ChangeLog
from users.models import User
from utilities.identifiers import make_id_number
from utilities.masking import mask_id_number

ID_NUMBER = "11010519491231002X"
PHONE = "13912345678"


@pytest.fixture
def person(city):
    return make_user("realname", "social_worker", "320508001", id_number=ID_NUMBER, phone=PHONE)


def all_database_text() -> str:
    """Every value of every table, as a dump would show it."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                chunks.append(" ".join(str(v) for v in row))
    return "\n".join(chunks)


def test_values_round_trip(person):
    fresh = User.objects.get(pk=person.pk)
    assert fresh.id_number == ID_NUMBER and fresh.phone == PHONE


def test_stored_value_is_sm4_ciphertext(person):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone FROM users_user WHERE id = %s", [person.pk])
        stored_id, stored_phone = cursor.fetchone()
    assert stored_id.startswith("sm4gcm$") and ID_NUMBER not in stored_id
    assert stored_phone.startswith("sm4gcm$") and PHONE not in stored_phone


def test_database_dump_contains_no_plaintext(person):
    other = make_id_number("320508", __import__("datetime").date(1990, 5, 17), 123)
    make_user("second", "social_worker", "320508001", id_number=other)
    dump = all_database_text()
    for secret in (ID_NUMBER, other, PHONE, ID_NUMBER[6:14]):
        assert secret not in dump
    if connection.vendor == "sqlite":  # the SQL dump format, byte for byte
        assert not any(ID_NUMBER in line for line in connection.connection.iterdump())


def test_change_log_holds_masked_values(person):
    entry = ChangeLog.objects.filter(object_type="users.user", object_id=str(person.pk)).latest("seq")
    assert entry.after["id_number"] == mask_id_number(ID_NUMBER) == "110105********002X"
    assert entry.after["password"] == "<redacted>"


def test_exact_search_through_blind_index(person):
    found = User.objects.filter(id_number_index=blind_index_for("id_number", "11010519491231002x",
                                                                normalizer=str.upper))
    assert list(found) == [person]


def test_equality_lookup_on_ciphertext_is_refused(person):
    from django.core.exceptions import FieldError

    with pytest.raises(FieldError):
        list(User.objects.filter(id_number=ID_NUMBER))


def test_same_id_number_cannot_be_registered_twice(person):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        make_user("dup", "social_worker", "320508001", id_number=ID_NUMBER.lower())


def test_invalid_id_number_is_rejected_by_the_form(city):
    from users.admin_views import UserForm

    form = UserForm(data={"username": "x1", "id_number": "110105194912310021", "new_password": "Good-pass-2026"})
    assert not form.is_valid()
    assert list(form.errors) == ["id_number"]
    assert form.errors.as_data()["id_number"][0].code == "check_digit"


def test_edit_form_never_shows_the_clear_value(person):
    from users.admin_views import UserForm

    form = UserForm(instance=person)
    html = str(form["id_number"])
    assert ID_NUMBER not in html and "110105********002X" in html
    kept = UserForm(data={"username": person.username, "id_number": "", "is_active": "on"}, instance=person)
    assert kept.is_valid(), kept.errors
    kept.save()
    assert User.objects.get(pk=person.pk).id_number == ID_NUMBER


def test_api_masks_unless_the_caller_may_unmask(person, users):
    from conftest import token_client

    masked = token_client(users["district_office"]).get(f"/api/users/users/{person.pk}/").json()
    assert masked["id_number"] == "110105********002X" and masked["phone"] == "139****5678"
    assert not AccessLog.objects.filter(event="unmask").exists()
    clear = token_client(users["system_admin"]).get(f"/api/users/users/{person.pk}/").json()
    assert clear["id_number"] == ID_NUMBER
    logged = AccessLog.objects.filter(event="unmask", object_id=str(person.pk), username="u_system_admin")
    assert {e.detail["field"] for e in logged} == {"id_number", "phone"}


def test_web_unmask_needs_the_permission_and_is_logged(client, person, users):
    from conftest import login_client

    url = f"/unmask/users.user/{person.pk}/id_number/"
    login_client(client, users["district_office"])
    assert client.post(url).status_code == 403
    client.logout()
    login_client(client, users["system_admin"])
    page = client.get(f"/accounts/users/{person.pk}/")
    assert ID_NUMBER.encode() not in page.content and b"110105********002X" in page.content
    response = client.post(url, {"reason": "核对身份"})
    assert response.status_code == 200 and ID_NUMBER.encode() in response.content
    entry = AccessLog.objects.get(event="unmask")
    assert entry.reason == "核对身份" and entry.username == "u_system_admin"


def test_key_rotation_keeps_old_values_readable(person, settings, tmp_path):
    from core import fields
    from utilities import crypto

    old_ring = fields.key_ring()
    new_ring = old_ring.rotated("k2")
    key_file = tmp_path / "keys.json"
    key_file.write_text(new_ring.to_json())
    settings.JINDU_KEY_FILE = key_file
    fields.key_ring.cache_clear()
    try:
        assert User.objects.get(pk=person.pk).id_number == ID_NUMBER  # old kid still decrypts
        person.phone = "13800000000"
        person.save()
        with connection.cursor() as cursor:
            cursor.execute("SELECT phone FROM users_user WHERE id = %s", [person.pk])
            assert crypto.token_kid(cursor.fetchone()[0]) == "k2"
    finally:
        fields.key_ring.cache_clear()
