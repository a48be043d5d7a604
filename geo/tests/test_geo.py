import pytest
from django.core.management import CommandError, call_command

from geo import codes
from geo.loader import DivisionFileError, load_divisions, parse_division_csv
from geo.models import Division


@pytest.mark.parametrize("code,level,prefix,parent", [
    ("320000", "province", "32", None),
    ("320500", "city", "3205", "320000"),
    ("320505", "district", "320505", "320500"),
    ("320505001", "street", "320505001", "320505"),
    ("320505001002", "community", "320505001002", "320505001"),
    ("320505001002003", "grid", "320505001002003", "320505001002"),
])
def test_code_levels(code, level, prefix, parent):
    assert codes.level_of(code) == level
    assert codes.prefix_of(code) == prefix
    assert codes.parent_of(code) == parent


@pytest.mark.parametrize("bad", ["3205", "32050A", "3205050011", ""])
def test_bad_codes(bad):
    with pytest.raises(ValueError):
        codes.level_of(bad)


def test_contains():
    assert codes.contains("320500", "320581103")
    assert not codes.contains("320505", "320506001")


def test_shipped_file_loads_real_districts_and_is_idempotent(db, capsys):
    call_command("load_divisions")
    first = capsys.readouterr().out
    assert "0 updated" in first
    assert {d.code for d in Division.objects.filter(level="district")} >= {"320505", "320506", "320507", "320508",
                                                                          "320509", "320581", "320582", "320583",
                                                                          "320585"}
    assert Division.objects.get(code="320581").name == "常熟市"
    call_command("load_divisions")
    assert "0 created, 0 updated" in capsys.readouterr().out


def test_prefix_query_finds_the_subtree(db):
    call_command("load_divisions")
    gusu = Division.objects.get(code="320508")
    names = set(gusu.descendants().values_list("name", flat=True))
    assert "平江街道" in names and "狮山街道" not in names
    assert [d.code for d in Division.objects.get(code="320508001").path()] == ["320000", "320500", "320508",
                                                                                "320508001"]


def test_changed_row_is_updated_and_audited(db):
    from core.models import ChangeLog

    load_divisions(parse_division_csv("code,name,parent_code\n320000,江苏省,\n320500,苏州市,320000\n"))
    result = load_divisions(parse_division_csv("code,name,parent_code\n320500,苏州市（新）,320000\n"))
    assert (result.created, result.updated) == (0, 1)
    entry = ChangeLog.objects.filter(object_type="geo.division", object_id="320500").latest("seq")
    assert entry.before["name"] == "苏州市" and entry.after["name"] == "苏州市（新）"


def test_bad_file_names_row_and_column(tmp_path, db):
    path = tmp_path / "bad.csv"
    path.write_text("code,name\n320500,苏州市\n32050X,坏\n", encoding="utf-8")
    with pytest.raises(CommandError, match="row 3, column code"):
        call_command("load_divisions", str(path))
    assert not Division.objects.exists()  # nothing half-loaded
    with pytest.raises(DivisionFileError, match="missing column"):
        parse_division_csv("code\n320500\n")
