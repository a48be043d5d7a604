"""Shared test fixtures: a tiny city (two districts of 320500 plus one district outside it),
organisations in and out of each scope, and one user per built-in role."""

import pytest
from django.core.cache import cache

from core.context import acting_as

PASSWORD = "Test-pass-2026!"


@pytest.fixture(autouse=True)
def _clean_state(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    # the precursor lineage index is process-wide (web and worker keep it warm); each test starts without one
    from precursors import tracing

    tracing.reset()
    yield


@pytest.fixture
def city(db):
    from geo.loader import load_divisions

    rows = [
        ("320000", "江苏省", None), ("320500", "苏州市", "320000"), ("320508", "姑苏区", "320500"),
        ("320505", "虎丘区", "320500"), ("320508001", "平江街道", "320508"), ("320508002", "沧浪街道", "320508"),
        ("320505001", "狮山街道", "320505"), ("320508001001", "平江第1社区", "320508001"),
        ("320100", "南京市", "320000"), ("320102", "玄武区", "320100"), ("320102001", "梅园新村街道", "320102"),
    ]
    with acting_as(username="test"):
        load_divisions([{"code": c, "name": n, "parent_id": p, "source": "test", "population": None}
                        for c, n, p in rows])
    return rows


def make_org(name, area_code, type="other", **extra):
    from orgs.models import Organization

    with acting_as(username="test"):
        org = Organization(name=name, area_code=area_code, type=type, **extra)
        org.save()
    return org


@pytest.fixture
def orgs(city):
    return {
        "gusu_office": make_org("姑苏区禁毒办", "320508", "narcotics_office"),
        "pingjiang": make_org("平江派出所", "320508001", "police_station"),
        "huqiu": make_org("狮山派出所", "320505001", "police_station"),
        "nanjing": make_org("玄武某公司", "320102001", "enterprise"),
        "enterprise": make_org("平江化工有限公司", "320508001", "enterprise"),
        "enterprise2": make_org("沧浪医药有限公司", "320508002", "enterprise"),
        "school": make_org("平江中学", "320508001", "school"),
        "lab": make_org("检验实验室", "320508002", "lab"),
    }


ROLE_SETUP = {
    # role: (area, org key)
    "system_admin": ("", None),
    "security_admin": ("", None),
    "audit_admin": ("", None),
    "city_office": ("320500", None),
    "district_office": ("320508", "gusu_office"),
    "social_worker": ("320508001", None),
    "police": ("320508", "pingjiang"),
    "member_unit": ("320508", None),
    "enterprise": ("", "enterprise"),
    "school": ("", "school"),
    "lab": ("", "lab"),
}


def make_user(username, role_code, area="", org=None, password=PASSWORD, **extra):
    from users.models import Role, User

    with acting_as(username="test"):
        user = User(username=username, role=Role.objects.get(code=role_code) if role_code else None,
                    area_code=area, org=org, **extra)
        user.set_password(password)
        user.save()
    return user


@pytest.fixture
def users(orgs):
    return {role: make_user(f"u_{role}", role, area, orgs[org_key] if org_key else None)
            for role, (area, org_key) in ROLE_SETUP.items()}


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


def token_client(user):
    from rest_framework.test import APIClient

    from users.models import ApiToken

    _token, key = ApiToken.issue(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def login_client(client, user):
    """A Django test client logged in as ``user``, past the second factor when the role needs it."""
    client.force_login(user)
    if user.requires_otp:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client
