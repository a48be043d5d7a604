"""易制毒化学品 catalogue, parameter and special-country tables (precursors.algorithms.catalogue).
Pure Python: run with ``pytest -p no:cacheprovider -o addopts="" -q precursors/tests/test_catalogue.py``."""

import csv
from collections import Counter
from datetime import date, datetime

import pytest

from precursors.algorithms.catalogue import (
    PARAMETER_COLUMNS,
    SPECIAL_COUNTRY_COLUMNS,
    SPECIAL_COUNTRY_RULE_COLUMNS,
    SUBSTANCE_COLUMNS,
    SUBSTANCES_CSV,
    CatalogueError,
    ParameterNotFound,
    cas_check_digit,
    category_on,
    count_listed,
    entry_key,
    find_by_cas,
    in_force,
    is_valid_cas,
    load_parameters,
    load_special_countries,
    load_special_country_rules,
    load_substances,
    normalize_cas,
    parameter_on,
    parameter_row_on,
    special_countries_on,
    special_export_licence_required,
)


@pytest.fixture(autouse=True)
def _clean_state():
    yield


@pytest.fixture(scope="module")
def subs():
    return load_substances()


@pytest.fixture(scope="module")
def params():
    return load_parameters()


@pytest.fixture(scope="module")
def countries():
    return load_special_countries()


def by_code(entries):
    return {e.code: e for e in entries}


def write_csv(path, columns, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([r.get(c, "") for c in columns] if isinstance(r, dict) else r)
    return path


def shipped_row(code):
    with open(SUBSTANCES_CSV, encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["code"] == code:
                return dict(r)
    raise KeyError(code)


def assert_located(err, path, row, column):
    assert err.file == str(path) and err.row == row and err.column == column
    msg = str(err)
    assert path.name in msg and f"row {row}" in msg
    if column:
        assert f"column {column}" in msg


# --- the shipped files ------------------------------------------------------------------------------------------
def test_shipped_files_load(subs, params, countries):
    rules = load_special_country_rules(substances=subs, countries=countries)
    assert len(subs) == 53          # 25 Cat 1 rows (row 12 split into 7) + 18 Cat 2 + 8 Cat 3 + 2 watch
    assert Counter(e.category for e in subs) == {1: 25, 2: 18, 3: 8, None: 2}
    assert len(params) == 40
    assert [c.country for c in countries] == ["MM", "LA", "AF", "US", "MX", "CA"]
    assert rules == []              # no (chemical, country) pair is in the research: see the README
    assert load_substances(SUBSTANCES_CSV) == subs


@pytest.mark.parametrize(("on", "expected"), [
    (date(2005, 10, 31), 0),        # before the 条例 took effect
    (date(2005, 11, 1), 23),
    (date(2005, 12, 31), 23),       # 23 items (2005)
    (date(2008, 7, 31), 23),
    (date(2008, 8, 1), 24),         # + hydroxylimine, in force 2008-08-01 [V]
    (date(2008, 12, 31), 24),
    (date(2012, 12, 31), 25),       # + 1 (2012, year only [M])
    (date(2014, 12, 31), 27),       # + 2 (2014, year only [M])
    (date(2018, 1, 31), 27),
    (date(2018, 3, 1), 32),         # + 5 (2017/18 batch, NPP/ANPP in force 2018-02-01) = 32 "三类共32种"
    (date(2021, 12, 31), 38),       # + 6 (2021) = 38 "三大类38个品种"
    (date(2024, 8, 31), 38),
    (date(2024, 9, 1), 45),         # + 7 (2024-09-01) = 45
    (date(2026, 1, 1), 45),         # the watch rows are not listed
])
def test_count_listed(subs, on, expected):
    assert count_listed(subs, on) == expected


def test_batches_add_up_to_45(subs):
    first = {}
    for e in subs:
        if e.listed_from is not None:
            first.setdefault(e.entry_key, e.listed_from.year)
    assert Counter(first.values()) == {2005: 23, 2008: 1, 2012: 1, 2014: 2, 2018: 5, 2021: 6, 2024: 7}


def test_ephedrine_type_row_is_one_entry(subs):
    members = [e for e in subs if e.entry_key == "C1-12"]
    assert [e.code for e in members] == [f"C1-12{x}" for x in "abcdefg"]
    assert all(e.is_pharma and e.category == 1 for e in members)
    assert entry_key("C1-12c") == "C1-12" and entry_key("C2-16") == "C2-16" and entry_key("W-01") == "W-01"
    on = date(2005, 12, 31)
    assert len(in_force(subs, on)) == 29 and count_listed(subs, on) == 23


def test_flags_and_classes(subs):
    assert {e.code for e in subs if e.is_pharma} == {"C1-09", "C1-10", "C1-11"} | {f"C1-12{x}" for x in "abcdefg"}
    assert {e.code for e in subs if e.volatile} == {"C3-01", "C3-02", "C3-03", "C2-03", "C2-04"}
    groups = [e for e in subs if e.is_group]
    assert [e.code for e in groups] == ["C2-16", "C2-17", "C2-18"]
    assert all(e.category == 2 and not e.category_confirmed and e.tag == "U" for e in groups)
    assert all(e.listed_from == date(2024, 9, 1) for e in groups)
    assert {e.salt_to_base_factor for e in subs} == {1.0}
    # the research does not say which substances are on the 国际核查目录 / special-country catalogue: unknown
    assert all(e.intl_verification is None and e.special_country is None for e in subs)
    c = by_code(subs)
    assert c["C1-12a"].criminal_threshold_kg == 1 and c["C2-02"].criminal_threshold_kg == 10
    assert c["C3-04"].criminal_threshold_kg == 100 and c["C1-17"].criminal_threshold_kg is None


def test_watch_rows_are_pending(subs):
    c = by_code(subs)
    for code, cas in (("W-01", "41661-47-6"), ("W-02", "79099-07-3")):
        e = c[code]
        assert e.watch and e.category is None and e.listed_from is None and e.cas == cas
        assert category_on(e, date(2030, 1, 1)) is None
    assert not any(e.watch for e in in_force(subs, date(2030, 1, 1)))


def test_uncertain_values_are_tagged_and_explained(subs, params):
    for e in subs:
        assert e.source
        if e.tag != "V":
            assert e.notes, e.code
        if e.category is not None and not e.cas and not e.is_group:
            # no CAS: either an extract without a single CAS, or a CAS the research marks [U]
            assert e.tag == "U" or "no single CAS" in e.notes, e.code
        if e.listed_from and (e.listed_from.month, e.listed_from.day) == (1, 1):
            assert e.tag in ("M", "U") and "placeholder" in e.notes, e.code
    assert {e.code for e in subs if e.tag == "U"} == {"C1-13", "C1-19", "C2-10", "C2-16", "C2-17", "C2-18"}
    for p in params:
        assert p.source and p.description, p.name
        if p.effective_from.month == 1 and p.effective_from.day == 1:
            assert p.tag in ("M", "U") and "placeholder" in p.description, p.name


# --- CAS --------------------------------------------------------------------------------------------------------
def test_cas_check_digits_of_shipped_file(subs):
    numbers = [cas for e in subs for cas in e.all_cas]
    assert len(numbers) == 47 and len(set(numbers)) == 47
    assert all(is_valid_cas(n) for n in numbers)


def test_cas_algorithm():
    assert cas_check_digit("6764") == 1                 # acetone 67-64-1
    assert cas_check_digit("773218") == 5               # water 7732-18-5
    assert is_valid_cas("67-64-1") and is_valid_cas("125541-22-2")
    assert not is_valid_cas("67-64-2")                  # known bad check digit
    assert not is_valid_cas("6764-1") and not is_valid_cas("1-23-4") and not is_valid_cas("12345678-90-1")
    assert normalize_cas(" 67641 ") == "67-64-1"
    with pytest.raises(ValueError, match="check digit"):
        normalize_cas("67-64-2")
    with pytest.raises(ValueError, match="malformed"):
        normalize_cas("acetone")


def test_find_by_cas(subs):
    assert [e.code for e in find_by_cas(subs, "67-64-1")] == ["C3-02"]
    assert [e.code for e in find_by_cas(subs, "67641")] == ["C3-02"]
    # a member (ester) of a class entry: ethyl methylphenylglycidate under "BMK glycidic acid and its esters"
    assert [e.code for e in find_by_cas(subs, "77-83-8")] == ["C2-16"]
    assert find_by_cas(subs, "77-83-8", on=date(2024, 8, 31)) == []
    assert [e.code for e in find_by_cas(subs, "77-83-8", on=date(2024, 9, 1))] == ["C2-16"]
    assert [e.code for e in find_by_cas(subs, "299-42-3")] == ["C1-12a"]
    assert [e.code for e in find_by_cas(subs, "41661-47-6")] == ["W-01"]
    assert find_by_cas(subs, "41661-47-6", on=date(2026, 1, 1)) == []
    assert find_by_cas(subs, "7732-18-5") == []         # water: valid CAS, not listed
    with pytest.raises(ValueError):
        find_by_cas(subs, "67-64-2")                    # never "not controlled" because of a typo


def test_category_on(subs):
    assert category_on("C3-02", date(2024, 1, 1)) == 3
    assert category_on("C2-12", date(2024, 8, 31)) is None
    assert category_on("C2-12", date(2024, 9, 1)) == 2
    assert category_on("C1-13", date(2008, 7, 31)) is None and category_on("C1-13", date(2008, 8, 1)) == 1
    assert category_on(by_code(subs)["C2-16"], date(2025, 1, 1)) == 2
    assert category_on("C2-08", date(2021, 12, 31), entries=subs) == 2
    with pytest.raises(KeyError):
        category_on("C9-99", date(2024, 1, 1))
    with pytest.raises(TypeError):
        category_on("C3-02", datetime(2024, 1, 1, 12))


def test_listed_to_is_the_last_listed_day(tmp_path):
    row = shipped_row("C3-02") | {"listed_to": "2029-12-31"}
    entries = load_substances(write_csv(tmp_path / "s.csv", SUBSTANCE_COLUMNS, [row]))
    assert count_listed(entries, date(2029, 12, 31)) == 1 and count_listed(entries, date(2030, 1, 1)) == 0
    one_day = shipped_row("C3-02") | {"listed_from": "2030-01-01", "listed_to": "2030-01-01"}
    entries = load_substances(write_csv(tmp_path / "d.csv", SUBSTANCE_COLUMNS, [one_day]))
    assert category_on("C3-02", date(2030, 1, 1), entries) == 3 and category_on("C3-02", date(2030, 1, 2), entries) is None


# --- parameters -------------------------------------------------------------------------------------------------
def test_parameter_lookups(params):
    on = date(2024, 1, 1)
    assert parameter_on(params, "sales_filing_days_cat1", on) == 5
    assert parameter_on(params, "sales_filing_days_cat23", on) == 30
    assert parameter_on(params, "annual_report_month_day", on) == [3, 31]
    assert parameter_on(params, "refiling_working_days", on) == 30
    assert parameter_on(params, "record_retention_years", on) == 2
    assert parameter_on(params, "transport_licence_validity_months_cat2", on) == 3
    assert parameter_on(params, "transport_licence_extended_validity_months_cat2", on) == 12
    assert parameter_on(params, "trade_filing_validity_years_cat3", on) == 3
    assert parameter_on(params, "loss_report_late_fine_cny", on) == [10000, 50000]
    assert parameter_on(params, "mixture_share_thresholds", on) == {
        "C3-01": 0.4, "C3-02": 0.4, "C3-03": 0.4, "C3-05": 0.4, "C3-06": 0.1}
    assert parameter_on(params, "ephedrine_transport_exempt_tablets", on) == 60000
    kmno4 = parameter_row_on(params, "kmno4_individual_small_qty_kg", on)
    assert kmno4.value is None and kmno4.tag == "U"      # no number in the law: set locally
    assert parameter_row_on(params, "loss_report_hours", on).tag == "U"
    assert parameter_row_on(params, "purchase_permit_validity_months", on).tag == "U"


def test_parameter_effective_dates(params):
    # the 条例 took effect 2005-11-01, 87号令 2006-10-01, the mixture announcement is of 2007-05-16
    with pytest.raises(ParameterNotFound, match="sales_filing_days_cat1"):
        parameter_on(params, "sales_filing_days_cat1", date(2005, 10, 31))
    assert parameter_on(params, "sales_filing_days_cat1", date(2005, 11, 1)) == 5
    with pytest.raises(ParameterNotFound):
        parameter_on(params, "annual_report_month_day", date(2006, 9, 30))
    with pytest.raises(ParameterNotFound):
        parameter_on(params, "mixture_share_thresholds", date(2007, 5, 15))
    with pytest.raises(LookupError):
        parameter_on(params, "no_such_parameter", date(2024, 1, 1))


def test_parameter_versions(tmp_path):
    path = write_csv(tmp_path / "p.csv", PARAMETER_COLUMNS, [
        {"name": "x_days", "value": "5", "effective_from": "2020-01-01", "effective_to": "2023-12-31", "tag": "V",
         "source": "test"},
        {"name": "x_days", "value": "7", "effective_from": "2024-01-01", "tag": "M", "source": "test"},
    ])
    rows = load_parameters(path)
    assert parameter_on(rows, "x_days", date(2023, 12, 31)) == 5
    assert parameter_on(rows, "x_days", date(2024, 1, 1)) == 7
    with pytest.raises(ParameterNotFound):
        parameter_on(rows, "x_days", date(2019, 12, 31))


# --- validation errors name file, row and column ------------------------------------------------------------------
@pytest.mark.parametrize(("change", "column", "message"), [
    ({"cas": "67-64-2"}, "cas", "check digit"),
    ({"cas": "6764-1"}, "cas", "malformed"),
    ({"category": "4"}, "category", "unknown category"),
    ({"category": "2"}, "category", "does not match"),
    ({"listed_from": "2005-13-01"}, "listed_from", "bad date"),
    ({"listed_from": "2005/11/01"}, "listed_from", "bad date"),
    ({"listed_from": ""}, "listed_from", "needs listed_from"),
    ({"listed_to": "2005-10-31"}, "listed_to", "is before"),
    ({"is_pharma": "yes"}, "is_pharma", "true or false"),
    ({"intl_verification": "maybe"}, "intl_verification", "true or false"),
    ({"tag": "X"}, "tag", "unknown tag"),
    ({"criminal_threshold_kg": "-1"}, "criminal_threshold_kg", "positive"),
    ({"salt_to_base_factor": "1.2"}, "salt_to_base_factor", "factor"),
    ({"group_members_cas": "77-83-8"}, "group_members_cas", "is_group is false"),
    ({"is_group": "true", "group_members_cas": "77-83-8;77-83-9"}, "group_members_cas", "check digit"),
    ({"category_confirmed": "false"}, "tag", "tagged U"),
    ({"source": ""}, "source", "empty"),
    ({"name_zh": "", "name_en": ""}, "name_zh", "empty"),
    ({"code": "C3-2"}, "code", "bad code"),
])
def test_substance_row_errors(tmp_path, change, column, message):
    good = shipped_row("C3-01")
    path = write_csv(tmp_path / "substances.csv", SUBSTANCE_COLUMNS, [good, shipped_row("C3-02") | change])
    with pytest.raises(CatalogueError, match=message) as info:
        load_substances(path)
    assert_located(info.value, path, 3, column)


def test_duplicate_code_and_cas(tmp_path):
    row = shipped_row("C3-02")
    path = write_csv(tmp_path / "dup.csv", SUBSTANCE_COLUMNS, [row, row])
    with pytest.raises(CatalogueError, match="duplicate code") as info:
        load_substances(path)
    assert_located(info.value, path, 3, "code")
    path = write_csv(tmp_path / "dupcas.csv", SUBSTANCE_COLUMNS, [row, row | {"code": "C3-09"}])
    with pytest.raises(CatalogueError, match="already the CAS of C3-02") as info:
        load_substances(path)
    assert_located(info.value, path, 3, "cas")


def test_header_and_shape_errors(tmp_path):
    path = write_csv(tmp_path / "nohdr.csv", SUBSTANCE_COLUMNS[:-1], [])
    with pytest.raises(CatalogueError, match="missing") as info:
        load_substances(path)
    assert_located(info.value, path, 1, "notes")
    path = write_csv(tmp_path / "extra.csv", (*PARAMETER_COLUMNS, "comment"), [])
    with pytest.raises(CatalogueError, match="unknown column") as info:
        load_parameters(path)
    assert_located(info.value, path, 1, "comment")
    row = [shipped_row("C3-02")[c] for c in SUBSTANCE_COLUMNS] + ["stray"]
    path = write_csv(tmp_path / "cells.csv", SUBSTANCE_COLUMNS, [row])
    with pytest.raises(CatalogueError, match="cells") as info:
        load_substances(path)
    assert_located(info.value, path, 2, None)
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(CatalogueError, match="empty file"):
        load_parameters(tmp_path / "empty.csv")
    (tmp_path / "gbk.csv").write_bytes(",".join(PARAMETER_COLUMNS).encode() + "\n立即".encode("gbk"))
    with pytest.raises(CatalogueError, match="not UTF-8"):
        load_parameters(tmp_path / "gbk.csv")


GOOD_PARAM = {"name": "sales_filing_days_cat1", "value": "5", "unit": "days", "effective_from": "2005-11-01",
              "tag": "V", "source": "条例 art. 19"}


@pytest.mark.parametrize(("change", "column", "message"), [
    ({"value": "立即"}, "value", "not a JSON literal"),
    ({"value": "'03-31'"}, "value", "not a JSON literal"),
    ({"value": "NaN"}, "value", "not a JSON literal"),
    ({"value": ""}, "value", "empty"),
    ({"effective_from": ""}, "effective_from", "empty"),
    ({"effective_from": "2005-02-30"}, "effective_from", "bad date"),
    ({"effective_to": "2005-10-31"}, "effective_to", "is before"),
    ({"name": "Sales-Days"}, "name", "bad parameter name"),
    ({"tag": "v?"}, "tag", "unknown tag"),
])
def test_parameter_row_errors(tmp_path, change, column, message):
    other = GOOD_PARAM | {"name": "sales_filing_days_cat23", "value": "30"}
    path = write_csv(tmp_path / "parameters.csv", PARAMETER_COLUMNS, [other, GOOD_PARAM | change])
    with pytest.raises(CatalogueError, match=message) as info:
        load_parameters(path)
    assert_located(info.value, path, 3, column)


def test_parameter_overlap(tmp_path):
    path = write_csv(tmp_path / "parameters.csv", PARAMETER_COLUMNS, [
        GOOD_PARAM | {"effective_to": "2023-06-01"},
        GOOD_PARAM | {"value": "7", "effective_from": "2023-06-01"},   # shares 2023-06-01 (to is inclusive)
    ])
    with pytest.raises(CatalogueError, match="overlaps the period of row 2") as info:
        load_parameters(path)
    assert_located(info.value, path, 3, "effective_from")


# --- special countries --------------------------------------------------------------------------------------------
def test_special_countries(countries):
    assert [c.country for c in special_countries_on(countries, date(2005, 8, 31))] == []
    assert [c.country for c in special_countries_on(countries, date(2005, 9, 1))] == ["MM", "LA", "AF"]
    assert [c.country for c in special_countries_on(countries, date(2025, 11, 9))] == ["MM", "LA", "AF"]
    assert len(special_countries_on(countries, date(2025, 11, 10))) == 6
    assert not any(c.chemical_list_confirmed for c in countries)      # lists not in the research


def test_special_export_licence_required(tmp_path, subs, countries):
    shipped = load_special_country_rules(substances=subs, countries=countries)
    # the country is special but its chemical list is not known: cannot tell (None), never a silent False
    assert special_export_licence_required("C3-02", "MM", date(2024, 1, 1), shipped, countries) is None
    assert special_export_licence_required("C3-02", "US", date(2025, 11, 9), shipped, countries) is False
    assert special_export_licence_required("C3-02", "US", date(2025, 11, 10), shipped, countries) is None
    assert special_export_licence_required("C3-02", "DE", date(2025, 11, 10), shipped, countries) is False
    # with a (test) rule and a confirmed list
    path = write_csv(tmp_path / "r.csv", SPECIAL_COUNTRY_RULE_COLUMNS, [
        {"substance_code": "C3-02", "country": "MM", "effective_from": "2005-09-01", "tag": "V", "source": "t"},
        {"substance_code": "C1-12", "country": "MM", "effective_from": "2005-09-01", "tag": "V", "source": "t"},
    ])
    rules = load_special_country_rules(path, substances=subs, countries=countries)
    confirmed = load_special_countries(write_csv(tmp_path / "c.csv", SPECIAL_COUNTRY_COLUMNS, [
        {"country": "MM", "name_zh": "缅甸", "effective_from": "2005-09-01", "chemical_list_confirmed": "true",
         "tag": "V", "source": "t"}]))
    assert special_export_licence_required("C3-02", "MM", date(2024, 1, 1), rules, confirmed) is True
    assert special_export_licence_required("C1-12b", "MM", date(2024, 1, 1), rules, confirmed) is True
    assert special_export_licence_required("C3-01", "MM", date(2024, 1, 1), rules, confirmed) is False
    assert special_export_licence_required("C3-02", "MM", date(2005, 8, 31), rules, confirmed) is False


@pytest.mark.parametrize(("change", "column", "message"), [
    ({"country": "Myanmar"}, "country", "ISO 3166-1"),
    ({"country": "DE"}, "country", "not in special_countries.csv"),
    ({"substance_code": "C9-01"}, "substance_code", "bad code"),
    ({"substance_code": "C1-99"}, "substance_code", "unknown substance code"),
    ({"effective_from": "2005-9-1"}, "effective_from", "bad date"),
    ({"effective_to": "2005-08-31"}, "effective_to", "is before"),
    ({"effective_from": "2010-01-01"}, "effective_from", "overlaps the period of row 2"),
])
def test_special_country_rule_errors(tmp_path, subs, countries, change, column, message):
    good = {"substance_code": "C3-02", "country": "MM", "effective_from": "2005-09-01", "tag": "U", "source": "t"}
    path = write_csv(tmp_path / "special_country_rules.csv", SPECIAL_COUNTRY_RULE_COLUMNS, [good, good | change])
    with pytest.raises(CatalogueError, match=message) as info:
        load_special_country_rules(path, substances=subs, countries=countries)
    assert_located(info.value, path, 3, column)


def test_special_country_errors(tmp_path):
    good = {"country": "MM", "name_zh": "缅甸", "effective_from": "2005-09-01", "chemical_list_confirmed": "false",
            "tag": "V", "source": "t"}
    path = write_csv(tmp_path / "special_countries.csv", SPECIAL_COUNTRY_COLUMNS,
                     [good, good | {"country": "LA", "chemical_list_confirmed": ""}])
    with pytest.raises(CatalogueError, match="true or false") as info:
        load_special_countries(path)
    assert_located(info.value, path, 3, "chemical_list_confirmed")
