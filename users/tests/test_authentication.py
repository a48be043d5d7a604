import time

import pytest
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD, login_client, make_user
from core.models import AccessLog
from users.middleware import SESSION_LAST_SEEN


def web_login(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password})


def api_login(api_client, username, password, otp=None):
    body = {"username": username, "password": password}
    if otp is not None:
        body["otp"] = otp
    return api_client.post("/api/auth/token/", body, format="json")


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


@pytest.fixture
def worker(city):
    return make_user("worker", "social_worker", "320508001")


def test_web_login_success_and_failure_are_logged(client, worker):
    assert web_login(client, "worker", "wrong").status_code == 200
    assert web_login(client, "worker", PASSWORD).status_code == 302
    events = list(AccessLog.objects.order_by("seq").values_list("event", "username", "result"))
    assert ("login_failed", "worker", "failure") in events
    assert ("login", "worker", "success") in events


def test_lockout_after_five_failures_on_the_web(client, worker):
    for _ in range(5):
        web_login(client, "worker", "wrong")
    response = web_login(client, "worker", PASSWORD)  # right password, but locked
    assert response.status_code in (403, 429)
    assert "_auth_user_id" not in client.session
    assert AccessLog.objects.filter(event="locked_out", username="worker").exists()


def test_four_failures_do_not_lock(client, worker):
    for _ in range(4):
        web_login(client, "worker", "wrong")
    assert web_login(client, "worker", PASSWORD).status_code == 302


def test_web_and_api_share_the_lockout_counter(client, api_client, worker):
    for _ in range(3):
        web_login(client, "worker", "wrong")
    assert api_login(api_client, "worker", "wrong").status_code == 401
    fifth = api_login(api_client, "worker", "wrong")  # the fifth failure locks the account
    assert fifth.status_code == 403 and fifth.json()["code"] == "locked_out"
    response = api_login(api_client, "worker", PASSWORD)
    assert response.status_code == 403
    assert response.json()["code"] == "locked_out"
    assert web_login(client, "worker", PASSWORD).status_code in (403, 429)


@override_settings(AXES_COOLOFF_TIME=None)
def test_api_lockout_alone(api_client, worker):
    for _ in range(5):
        api_login(api_client, "worker", "wrong")
    assert api_login(api_client, "worker", PASSWORD).status_code == 403


def test_token_endpoint_issues_a_working_token(api_client, worker):
    response = api_login(api_client, "worker", PASSWORD)
    assert response.status_code == 200
    key = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/geo/divisions/").status_code == 200
    assert AccessLog.objects.filter(event="token_issued", username="worker").exists()
    from users.models import ApiToken

    assert not ApiToken.objects.filter(key_hash=key).exists()  # only the hash is stored


def test_token_endpoint_rejects_missing_fields(api_client, db):
    response = api_client.post("/api/auth/token/", {"username": "x"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()


def test_idle_timeout_logs_out(client, worker, settings):
    login_client(client, worker)
    assert client.get("/").status_code == 200
    session = client.session
    session[SESSION_LAST_SEEN] = time.time() - settings.JINDU_IDLE_TIMEOUT_SECONDS - 5
    session.save()
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/").status_code == 302  # still logged out
    assert AccessLog.objects.filter(event="idle_timeout", username="worker").exists()


def test_activity_within_the_timeout_keeps_the_session(client, worker, settings):
    login_client(client, worker)
    session = client.session
    session[SESSION_LAST_SEEN] = time.time() - settings.JINDU_IDLE_TIMEOUT_SECONDS + 60
    session.save()
    assert client.get("/").status_code == 200


@pytest.fixture
def no_otp_throttle(settings):
    # django-otp slows down retries after a wrong code; these tests try a wrong code then the right one
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


@pytest.mark.parametrize("role", ["system_admin", "security_admin", "audit_admin"])
def test_privileged_roles_must_enrol_totp(client, city, role, no_otp_throttle):
    admin = make_user("adm", role)
    client.force_login(admin)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/otp/enrol/")
    page = client.get("/accounts/otp/enrol/")
    assert b"<svg" in page.content  # the QR code
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    assert client.post("/accounts/otp/enrol/", {"otp": "000000" if current_code(device) != "000000" else "111111"}
                       ).status_code == 200
    assert client.get("/").status_code == 302
    assert client.post("/accounts/otp/enrol/", {"otp": current_code(device)}).status_code == 302
    assert client.get("/").status_code == 200
    assert AccessLog.objects.filter(event="otp_enrolled", username="adm").exists()


def test_enrolled_admin_must_verify_each_login(client, city, no_otp_throttle):
    admin = make_user("adm", "system_admin")
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    client.force_login(admin)
    response = client.get("/orgs/")
    assert response["Location"].startswith("/accounts/otp/verify/")
    assert client.post("/accounts/otp/verify/", {"otp": "12345x"}).status_code == 200
    assert client.post("/accounts/otp/verify/?next=/orgs/", {"otp": current_code(device)})["Location"] == "/orgs/"
    assert client.get("/orgs/").status_code == 200


def test_non_privileged_roles_need_no_second_factor(client, worker):
    client.force_login(worker)
    assert client.get("/").status_code == 200


def test_api_token_for_privileged_role_requires_otp(api_client, city, no_otp_throttle):
    admin = make_user("adm", "audit_admin")
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    response = api_login(api_client, "adm", PASSWORD)
    assert response.status_code == 401 and "otp" in response.json()
    assert api_login(api_client, "adm", PASSWORD, otp="000001" if current_code(device) != "000001" else "000002"
                     ).status_code == 401
    assert api_login(api_client, "adm", PASSWORD, otp=current_code(device)).status_code == 200


def test_password_policy(city):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("short1A", "alllowercaseletters", "abcdefgh12"):
        with pytest.raises(ValidationError):
            validate_password(weak)
    validate_password("Good-pass-2026")


def test_expired_password_must_be_changed(client, worker, settings):
    from datetime import timedelta

    from django.utils import timezone

    worker.password_changed_at = timezone.now() - timedelta(days=settings.JINDU_PASSWORD_MAX_AGE_DAYS + 1)
    worker.save()
    client.force_login(worker)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/accounts/password/change/"
    response = client.post("/accounts/password/change/", {"old_password": PASSWORD, "new_password1": "New-pass-2026x",
                                                          "new_password2": "New-pass-2026x"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_passwords_are_hashed_with_argon2_outside_tests(settings):
    from jindu import settings as project_settings

    assert "Argon2PasswordHasher" in [h for h in project_settings.PASSWORD_HASHERS if "Argon2" in h][0]
    assert project_settings.PASSWORD_HASHERS.index("django.contrib.auth.hashers.Argon2PasswordHasher") <= 1
