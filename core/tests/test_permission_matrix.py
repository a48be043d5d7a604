"""Every API endpoint × every built-in role: in scope works, out of scope is refused (404/403),
anonymous is refused. Expectations are written out by hand, not derived from the role table."""

import pytest

from conftest import make_user, token_client

ROLES = ["system_admin", "security_admin", "audit_admin", "city_office", "district_office", "social_worker", "police",
         "member_unit", "enterprise", "school", "lab"]

# role -> (list status, an organisation it must see, an organisation it must not see)
ORGANIZATIONS = {
    "system_admin": (200, "huqiu", None),
    "security_admin": (403, None, None),
    "audit_admin": (403, None, None),
    "city_office": (200, "huqiu", "nanjing"),
    "district_office": (200, "pingjiang", "huqiu"),
    "social_worker": (200, "pingjiang", "enterprise2"),
    "police": (200, "enterprise2", "huqiu"),
    "member_unit": (200, "school", "nanjing"),
    "enterprise": (200, "enterprise", "enterprise2"),
    "school": (200, "school", "pingjiang"),
    "lab": (200, "lab", "enterprise2"),
}

# role -> (list status, a user it must see, a user it must not see)
USERS = {
    "system_admin": (200, "u_social_worker", None),
    "security_admin": (200, "u_lab", None),
    "audit_admin": (403, None, None),
    "city_office": (200, "u_social_worker", "nanjing_user"),
    "district_office": (200, "u_social_worker", "u_city_office"),
    "social_worker": (403, None, None),
    "police": (403, None, None),
    "member_unit": (403, None, None),
    "enterprise": (403, None, None),
    "school": (403, None, None),
    "lab": (403, None, None),
}

ONLY = {  # endpoints that exactly one role may read
    "/api/core/changes/": "audit_admin",
    "/api/core/access-logs/": "audit_admin",
    "/api/users/roles/": "security_admin",
}

DIVISIONS_DENIED = {"security_admin", "audit_admin"}


@pytest.fixture
def world(users, orgs):
    from orgs.models import Organization

    extra = make_user("nanjing_user", "district_office", "320102")
    return {"users": {**{u.username: u for u in users.values()}, extra.username: extra}, "orgs": orgs,
            "by_role": users, "org_model": Organization}


@pytest.mark.parametrize("role", ROLES)
def test_organizations(world, role):
    client = token_client(world["by_role"][role])
    list_status, visible, hidden = ORGANIZATIONS[role]
    response = client.get("/api/orgs/organizations/?limit=1000")
    assert response.status_code == list_status
    if list_status != 200:
        assert client.get(f"/api/orgs/organizations/{world['orgs']['pingjiang'].pk}/").status_code in (403, 404)
        return
    names = {row["name"] for row in response.json()["results"]}
    assert world["orgs"][visible].name in names
    assert client.get(f"/api/orgs/organizations/{world['orgs'][visible].pk}/").status_code == 200
    if hidden:
        assert world["orgs"][hidden].name not in names
        assert client.get(f"/api/orgs/organizations/{world['orgs'][hidden].pk}/").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_users(world, role):
    client = token_client(world["by_role"][role])
    list_status, visible, hidden = USERS[role]
    response = client.get("/api/users/users/?limit=1000")
    assert response.status_code == list_status
    if list_status != 200:
        return
    names = {row["username"] for row in response.json()["results"]}
    assert visible in names
    assert client.get(f"/api/users/users/{world['users'][visible].pk}/").status_code == 200
    if hidden:
        assert hidden not in names
        assert client.get(f"/api/users/users/{world['users'][hidden].pk}/").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_divisions(world, role):
    client = token_client(world["by_role"][role])
    response = client.get("/api/geo/divisions/?within=320508")
    if role in DIVISIONS_DENIED:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    codes = {row["code"] for row in response.json()["results"]}
    assert codes == {"320508", "320508001", "320508002", "320508001001"}
    assert client.get("/api/geo/divisions/320505/").status_code == 200


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(ONLY))
def test_single_role_endpoints(world, role, endpoint):
    client = token_client(world["by_role"][role])
    expected = 200 if ONLY[endpoint] == role else 403
    assert client.get(endpoint).status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_jobs_are_private_to_their_owner(world, role):
    from core.models import Job

    me = world["by_role"][role]
    other = world["by_role"]["lab" if role != "lab" else "school"]
    mine = Job.objects.create(kind="test", label="mine", user=me)
    theirs = Job.objects.create(kind="test", label="theirs", user=other)
    client = token_client(me)
    assert client.get(f"/api/core/jobs/{mine.pk}/").status_code == 200
    # operators (global scope) may see every job; everybody else only their own
    expected = 200 if role in ("system_admin", "security_admin", "audit_admin") else 404
    assert client.get(f"/api/core/jobs/{theirs.pk}/").status_code == expected


ANONYMOUS_ENDPOINTS = ["/api/orgs/organizations/", "/api/users/users/", "/api/geo/divisions/", "/api/core/changes/",
                       "/api/core/access-logs/", "/api/core/jobs/", "/api/users/roles/", "/api/schema/"]


@pytest.mark.parametrize("endpoint", ANONYMOUS_ENDPOINTS)
def test_anonymous_is_refused(db, api_client, endpoint):
    assert api_client.get(endpoint).status_code in (401, 403)


def test_bad_token_is_refused(world, api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token jd_not-a-real-token")
    assert api_client.get("/api/orgs/organizations/").status_code in (401, 403)


@pytest.mark.parametrize("role,area,allowed", [
    ("district_office", "320508002", True),
    ("district_office", "320505001", False),
    ("city_office", "320505001", True),
    ("city_office", "320102001", False),
])
def test_writes_recheck_scope(world, role, area, allowed):
    from orgs.models import Organization

    client = token_client(world["by_role"][role])
    response = client.post("/api/orgs/organizations/", {"name": "新单位", "type": "school", "area_code": area},
                           format="json")
    assert response.status_code == (201 if allowed else 403), response.content
    assert Organization.objects.filter(name="新单位").exists() is allowed


def test_write_cannot_move_a_record_out_of_scope(world):
    client = token_client(world["by_role"]["district_office"])
    org = world["orgs"]["pingjiang"]
    response = client.patch(f"/api/orgs/organizations/{org.pk}/", {"area_code": "320505001"}, format="json")
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.area_code == "320508001"


def test_enterprise_cannot_create_other_organisations(world):
    client = token_client(world["by_role"]["enterprise"])
    response = client.post("/api/orgs/organizations/", {"name": "X", "type": "enterprise", "area_code": "320508001"},
                           format="json")
    assert response.status_code == 403


def test_validation_errors_name_the_field(world):
    client = token_client(world["by_role"]["district_office"])
    response = client.post("/api/orgs/organizations/", {"name": "坏代码公司", "type": "enterprise",
                                                         "area_code": "320508001", "uscc": "91320508MA1234567X"},
                           format="json")
    assert response.status_code == 400
    assert "uscc" in response.json()
