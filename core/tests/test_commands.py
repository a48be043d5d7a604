import pytest
from django.core.management import CommandError, call_command

from core.models import AccessLog, ChangeLog
from users.models import ApiToken, User


def test_jindu_user_creates_then_updates_and_is_audited(city, orgs, capsys):
    call_command("jindu_user", "li", "--role", "district_office", "--area", "320508", "--password", "Strong-pass-1")
    user = User.objects.get(username="li")
    assert user.role.code == "district_office" and user.area_code == "320508" and user.check_password("Strong-pass-1")
    call_command("jindu_user", "li", "--role", "police", "--org", str(orgs["pingjiang"].pk))
    user.refresh_from_db()
    assert user.role.code == "police" and user.org == orgs["pingjiang"] and user.area_code == "320508"
    assert ChangeLog.objects.filter(object_type="users.user", object_id=str(user.pk)).count() == 2
    assert AccessLog.objects.filter(event="admin", object_id=str(user.pk)).count() == 2
    assert ChangeLog.objects.filter(object_id=str(user.pk)).latest("seq").username == "command:jindu_user"


@pytest.mark.parametrize("args,message", [
    (["--role", "nope", "--password", "Strong-pass-1"], "--role"),
    (["--role", "police", "--area", "999999", "--password", "Strong-pass-1"], "--area"),
    (["--role", "police", "--password", "weak"], "--password"),
    (["--role", "police"], "--password"),
    (["--role", "enterprise", "--password", "Strong-pass-1"], "--org"),
])
def test_jindu_user_errors_name_the_option(city, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("jindu_user", "x", *args)
    assert not User.objects.filter(username="x").exists()


def test_issue_token_prints_a_working_token(city, capsys, api_client):
    from conftest import make_user

    make_user("collector", "social_worker", "320508001")
    call_command("issue_token", "collector")
    key = capsys.readouterr().out.strip()
    assert key.startswith("jd_")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/geo/divisions/").status_code == 200
    assert AccessLog.objects.filter(event="token_issued", object_repr="collector").exists()
    assert ApiToken.objects.get().expires is None


def test_revoked_and_expired_tokens_fail(city, api_client):
    from datetime import timedelta

    from django.utils import timezone

    from conftest import make_user

    user = make_user("t", "social_worker", "320508001")
    token, key = ApiToken.issue(user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/geo/divisions/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires=timezone.now() - timedelta(seconds=1))
    assert api_client.get("/api/geo/divisions/").status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(expires=None, revoked=True)
    assert api_client.get("/api/geo/divisions/").status_code == 401


def test_demo_city_is_idempotent_and_reproducible(db, capsys):
    from orgs.models import Organization
    from users.roles import BUILTIN_CODES

    call_command("jindu_demo", "--scale", "small", "--seed", "7", "--password", "Demo-pass-2026", "--quiet")
    out = capsys.readouterr().out
    counts = (Organization.objects.count(), User.objects.count(), ChangeLog.objects.count())
    snapshot = sorted(Organization.objects.values_list("name", "uscc", "area_code"))
    assert {u.role.code for u in User.objects.select_related("role")} == set(BUILTIN_CODES)
    for role in BUILTIN_CODES:
        assert role in out
    assert Organization.objects.filter(type="narcotics_office").count() >= 11  # city + every district
    assert Organization.objects.filter(is_member_unit=True, area_code="320500").count() >= 29
    call_command("jindu_demo", "--scale", "small", "--seed", "7", "--quiet")
    assert (Organization.objects.count(), User.objects.count(), ChangeLog.objects.count()) == counts
    assert sorted(Organization.objects.values_list("name", "uscc", "area_code")) == snapshot
    assert User.objects.get(username="city").check_password("Demo-pass-2026")
