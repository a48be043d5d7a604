"""The import pipeline, on the organisation import: template, validation naming row and column,
all-or-nothing commit, idempotent re-upload, progress in a Job."""

import io

import pytest
from openpyxl import Workbook, load_workbook

from conftest import login_client
from core import imports
from core.models import ImportBatch, Job
from orgs.imports import ORGANIZATION_IMPORT
from orgs.models import Organization
from utilities.identifiers import make_uscc

HEADERS = ["名称", "类型", "统一社会信用代码", "区划代码", "联系人"]


def workbook(rows, headers=HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


GOOD_ROWS = [
    ["平江甲化工有限公司", "enterprise", make_uscc("9", "1", "320508", "12345678"), "320508001", "王一"],
    ["平江乙医药有限公司", "企业", make_uscc("9", "1", "320508", "23456789"), 320508001, "李二"],
    ["平江第三小学", "school", None, "320508002", "周三"],
]


@pytest.fixture
def clerk(users):
    return users["district_office"]


def test_template_has_chinese_headers_and_help(client, clerk):
    login_client(client, clerk)
    response = client.get("/imports/orgs.organization/template.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.content))
    headers = [c.value for c in wb.worksheets[0][1]]
    assert headers[:4] == ["名称", "简称", "类型", "条线"] and "统一社会信用代码" in headers
    assert wb["说明"].max_row > 3


def test_good_file_previews_then_commits(clerk):
    batch = imports.start_import(ORGANIZATION_IMPORT, clerk, "orgs.xlsx", workbook(GOOD_ROWS))
    assert batch.status == ImportBatch.Status.READY, batch.errors
    assert (batch.rows_total, batch.rows_created) == (3, 3)
    assert not Organization.objects.filter(name__startswith="平江甲").exists()  # preview writes nothing
    batch = imports.commit(batch, clerk)
    assert batch.status == ImportBatch.Status.COMMITTED
    assert Organization.objects.get(name="平江乙医药有限公司").type == "enterprise"  # label accepted for value
    assert Organization.objects.get(name="平江乙医药有限公司").area_code == "320508001"  # 320508001.0 from Excel
    job = Job.objects.get(pk=batch.job_id)
    assert job.status == Job.Status.SUCCEEDED and job.progress == job.total == 3


def test_bad_rows_are_named_by_row_and_column_and_nothing_is_written(clerk):
    rows = [GOOD_ROWS[0],
            ["坏代码公司", "enterprise", "91320508MA1234567X", "320508001", ""],
            ["", "school", None, "320508001", ""],
            ["未知区划学校", "school", None, "999999", ""]]
    batch = imports.start_import(ORGANIZATION_IMPORT, clerk, "bad.xlsx", workbook(rows))
    assert batch.status == ImportBatch.Status.INVALID
    where = {(e["row"], e["column"]) for e in batch.errors}
    assert {(3, "统一社会信用代码"), (4, "名称"), (5, "区划代码")} <= where
    assert Organization.objects.filter(name="平江甲化工有限公司").count() == 0
    wb = load_workbook(batch.error_file)
    ws = wb.active
    assert [c.value for c in ws[1]][:2] == ["行号", "名称"]
    assert {ws.cell(row=r, column=1).value for r in range(2, ws.max_row + 1)} == {3, 4, 5}
    with pytest.raises(ValueError):
        imports.commit(batch, clerk)


def test_same_file_twice_adds_nothing(clerk):
    content = workbook(GOOD_ROWS)
    imports.commit(imports.start_import(ORGANIZATION_IMPORT, clerk, "orgs.xlsx", content), clerk)
    count = Organization.objects.count()
    again = imports.start_import(ORGANIZATION_IMPORT, clerk, "orgs-copy.xlsx", content)
    assert again.status == ImportBatch.Status.DUPLICATE and again.duplicate_of is not None
    assert Organization.objects.count() == count


def test_changed_file_updates_matching_rows_only(clerk):
    imports.commit(imports.start_import(ORGANIZATION_IMPORT, clerk, "v1.xlsx", workbook(GOOD_ROWS)), clerk)
    changed = [list(r) for r in GOOD_ROWS]
    changed[2][4] = "新联系人"
    batch = imports.start_import(ORGANIZATION_IMPORT, clerk, "v2.xlsx", workbook(changed))
    assert (batch.rows_created, batch.rows_updated, batch.rows_unchanged) == (0, 1, 2)
    imports.commit(batch, clerk)
    assert Organization.objects.get(name="平江第三小学").contact_name == "新联系人"
    assert Organization.objects.filter(name="平江第三小学").count() == 1


def test_failure_during_commit_rolls_everything_back(clerk, monkeypatch):
    batch = imports.start_import(ORGANIZATION_IMPORT, clerk, "orgs.xlsx", workbook(GOOD_ROWS))
    calls = {"n": 0}
    original = imports._save_row

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(imports, "_save_row", flaky)
    batch = imports.commit(batch, clerk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert Job.objects.get(pk=batch.job_id).status == Job.Status.FAILED
    assert not Organization.objects.filter(name__in=[r[0] for r in GOOD_ROWS]).exists()


def test_rows_outside_the_users_scope_are_refused(clerk):
    rows = [["虎丘某学校", "school", None, "320505001", ""]]
    batch = imports.start_import(ORGANIZATION_IMPORT, clerk, "x.xlsx", workbook(rows))
    assert batch.status == ImportBatch.Status.READY  # the form accepts it…
    batch = imports.commit(batch, clerk)  # …but the scope check inside the transaction refuses it
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert not Organization.objects.filter(name="虎丘某学校").exists()


def test_csv_in_gb18030_is_accepted(clerk):
    text = "名称,类型,区划代码\n平江第九中学,学校,320508001\n"
    batch = imports.start_import(ORGANIZATION_IMPORT, clerk, "orgs.csv", text.encode("gb18030"))
    assert batch.status == ImportBatch.Status.READY, batch.errors


def test_missing_columns_are_errors_and_unknown_columns_notices(clerk):
    batch = imports.start_import(ORGANIZATION_IMPORT, clerk, "x.xlsx", workbook([["a", "b"]], ["名称", "颜色"]))
    assert batch.status == ImportBatch.Status.INVALID
    assert "区划代码" in batch.errors[0]["message"] and batch.rows_invalid == 0
    assert "颜色" in batch.notices[0]


def test_a_fixed_error_workbook_can_be_uploaded_again(clerk):
    rows = [GOOD_ROWS[0], ["坏代码公司", "enterprise", "91320508MA1234567X", "320508001", ""]]
    batch = imports.start_import(ORGANIZATION_IMPORT, clerk, "bad.xlsx", workbook(rows))
    wb = load_workbook(batch.error_file)
    ws = wb.active
    headers = [c.value for c in ws[1]]
    ws.cell(row=2, column=headers.index("统一社会信用代码") + 1).value = None  # the clerk clears the bad code
    buffer = io.BytesIO()
    wb.save(buffer)
    fixed = imports.start_import(ORGANIZATION_IMPORT, clerk, "errors-fixed.xlsx", buffer.getvalue())
    assert fixed.status == ImportBatch.Status.READY, fixed.errors
    assert fixed.rows_created == 1 and "行号" in fixed.notices[0]


def test_template_keeps_codes_as_text_and_offers_choices(client, clerk):
    login_client(client, clerk)
    wb = load_workbook(io.BytesIO(client.get("/imports/orgs.organization/template.xlsx").content))
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    assert ws.cell(row=2, column=headers.index("统一社会信用代码") + 1).number_format == "@"
    assert ws.max_row >= 2 and ws.cell(row=2, column=1).value is None  # no example row to trip over
    type_column = ws.cell(row=1, column=headers.index("类型") + 1).column_letter
    validations = [dv for dv in ws.data_validations.dataValidation if f"{type_column}2" in str(dv.sqref)]
    assert validations and "选项" in validations[0].formula1
    assert "学校" in [c.value for c in wb["选项"][type_column]]


def test_duplicate_rows_inside_one_file(clerk):
    batch = imports.start_import(ORGANIZATION_IMPORT, clerk, "x.xlsx", workbook([GOOD_ROWS[2], GOOD_ROWS[2]]))
    assert batch.status == ImportBatch.Status.INVALID
    assert batch.errors[0]["row"] == 3


def test_import_needs_the_import_permission(users):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        imports.start_import(ORGANIZATION_IMPORT, users["social_worker"], "x.xlsx", workbook(GOOD_ROWS))


def test_web_flow(client, clerk):
    login_client(client, clerk)
    page = client.get("/imports/orgs.organization/")
    assert page.status_code == 200
    upload = io.BytesIO(workbook(GOOD_ROWS))
    upload.name = "orgs.xlsx"
    response = client.post("/imports/orgs.organization/", {"file": upload})
    assert response.status_code == 302 and "/jobs/" in response["Location"]
    batch = ImportBatch.objects.get()
    assert client.get(response["Location"]).status_code == 302  # job done → on to the batch page
    page = client.get(f"/imports/batch/{batch.pk}/")
    assert "Commit".encode() in page.content or "写入".encode() in page.content
    client.post(f"/imports/batch/{batch.pk}/")
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.COMMITTED
    assert Organization.objects.filter(name="平江甲化工有限公司").exists()
