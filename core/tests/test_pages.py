import io

import pytest
from openpyxl import load_workbook

from conftest import ROLE_SETUP, login_client
from core.models import AccessLog

LIST_PAGES = {
    "/orgs/": "orgs.organization",
    "/geo/": "geo.division",
    "/accounts/users/": "users.user",
    "/accounts/roles/": "users.role",
    "/audit/changes/": "core.changelog",
    "/audit/access/": "core.accesslog",
    "/jobs/": "core.job",
}


@pytest.mark.parametrize("role", sorted(ROLE_SETUP))
def test_menu_pages_open_and_others_are_forbidden(client, users, role):
    user = users[role]
    login_client(client, user)
    home = client.get("/")
    assert home.status_code == 200
    for url, resource in LIST_PAGES.items():
        allowed = user.has_resource_perm(resource, "view")
        response = client.get(url)
        assert response.status_code == (200 if allowed else 403), (role, url)
        assert (f'href="{url}"'.encode() in home.content) is allowed, (role, url)


def test_home_is_chinese_by_default_and_english_on_request(client, users):
    login_client(client, users["city_office"])
    page = client.get("/").content.decode()
    assert "全覆盖开展毒品预防教育" in page and "系统管理" in page and 'lang="zh-hans"' in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/").content.decode()
    assert 'lang="en"' in page and "System administration" in page
    assert "Prevention education for everyone" in page


@pytest.mark.parametrize("app", ["education", "casework", "enforcement", "precursors", "monitoring", "governance"])
def test_pillar_pages_list_their_measures(client, users, app):
    from jindu import outline

    login_client(client, users["city_office"])
    page = client.get(f"/pillars/{app}/").content.decode()
    pillar = outline.pillar(app)
    for measure in outline.measures_of(pillar.number):
        assert measure.title in page


def test_list_filters_and_htmx_partial(client, users, orgs):
    login_client(client, users["district_office"])
    full = client.get("/orgs/?q=平江")
    assert b"<html" in full.content and "平江派出所".encode() in full.content
    assert "沧浪医药".encode() not in full.content
    partial = client.get("/orgs/?q=平江&sort=name", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="object-table")
    assert b"<html" not in partial.content and "平江派出所".encode() in partial.content
    assert AccessLog.objects.filter(event="search", object_type="orgs.organization").exists()


def test_list_shows_only_rows_in_scope(client, users, orgs):
    login_client(client, users["district_office"])
    page = client.get("/orgs/?limit=100").content.decode()
    assert "平江派出所" in page and "狮山派出所" not in page and "玄武某公司" not in page


def test_export_respects_scope_is_watermarked_and_logged(client, users, orgs):
    login_client(client, users["district_office"])
    response = client.get("/orgs/?export=xlsx&type=police_station")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    names = {row[0] for row in values[1:] if row and row[0]}
    assert "平江派出所" in names and "狮山派出所" not in names
    assert any("u_district_office" in str(row[0]) for row in values if row and row[0])
    entry = AccessLog.objects.get(event="export")
    assert entry.detail["rows"] == 1 and entry.detail["filters"] == {"type": "police_station"}


def test_export_needs_the_export_permission(client, users, orgs):
    login_client(client, users["social_worker"])
    assert client.get("/orgs/").status_code == 200
    assert client.get("/orgs/?export=xlsx").status_code == 403


def test_detail_out_of_scope_is_404(client, users, orgs):
    login_client(client, users["district_office"])
    assert client.get(f"/orgs/{orgs['pingjiang'].pk}/").status_code == 200
    assert client.get(f"/orgs/{orgs['huqiu'].pk}/").status_code == 404


def test_web_edit_cannot_leave_the_scope(client, users, orgs):
    login_client(client, users["district_office"])
    org = orgs["pingjiang"]
    response = client.post(f"/orgs/{org.pk}/edit/", {"name": org.name, "type": org.type, "area_code": "320505001",
                                                      "is_active": "on"})
    assert response.status_code == 400
    org.refresh_from_db()
    assert org.area_code == "320508001"


def test_web_form_errors_name_the_field(client, users, orgs):
    login_client(client, users["district_office"])
    response = client.post("/orgs/add/", {"name": "坏代码公司", "type": "enterprise", "area_code": "320508001",
                                          "uscc": "91320508MA1234567X"})
    assert response.status_code == 400
    assert "uscc" in response.context["form"].errors


def test_job_page_shows_progress(client, users):
    from core.models import Job

    job = Job.objects.create(kind="x", label="长任务", user=users["city_office"], progress=30, total=120,
                             status=Job.Status.RUNNING)
    login_client(client, users["city_office"])
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "25%" in page and 'hx-trigger="every 1s"' in page
    assert client.get(f"/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode().count("<html") == 0


def test_api_docs_and_schema_are_served(client, users):
    login_client(client, users["city_office"])
    assert client.get("/api/docs/").status_code == 200
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/auth/token/" in schema.content


def test_login_page_works_anonymously(client, db):
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and 'name="viewport"'.encode() in page.content
    assert client.get("/").status_code == 302


def test_one_filterset_serves_page_and_api(client, users, orgs):
    from conftest import token_client

    login_client(client, users["district_office"])
    page = client.get("/orgs/?type=school").content.decode()
    assert "平江中学" in page and "平江派出所" not in page
    api = token_client(users["district_office"]).get("/api/orgs/organizations/?type=school&type=lab").json()
    assert {row["name"] for row in api["results"]} == {"平江中学", "检验实验室"}
