"""Tests for utilities.identifiers (GB 11643, GB 32100 / GB 11714, mobile numbers)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utilities.identifiers import (
    PROVINCE_CODES,
    USCC_CHARSET,
    InvalidIdentifier,
    id_number_check_char,
    make_id_number,
    make_uscc,
    org_code_check_char,
    parse_id_number,
    parse_mobile,
    parse_uscc,
    uscc_check_char,
)

TODAY = date(2024, 6, 1)

provinces = st.sampled_from(sorted(PROVINCE_CODES))
area_codes = st.builds(
    lambda p, rest: p + rest,
    provinces,
    st.text("0123456789", min_size=4, max_size=4).filter(lambda s: s != "0000"),
)
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
seqs = st.integers(min_value=0, max_value=999)
valid_ids = st.builds(make_id_number, area_codes, birth_dates, seqs)


def code_of(fn, *args, **kwargs) -> str:
    with pytest.raises(InvalidIdentifier) as info:
        fn(*args, **kwargs)
    return info.value.code


# --------------------------------------------------------------------------- ID numbers


def test_gb11643_example_is_valid() -> None:
    info = parse_id_number("11010519491231002X", today=TODAY)
    assert info.area_code == "110105"
    assert info.birth_date == date(1949, 12, 31)
    assert info.sex == "F"
    assert info.normalized == "11010519491231002X"


def test_lower_case_x_and_whitespace_are_normalised() -> None:
    assert parse_id_number(" 11010519491231002x ", today=TODAY).normalized == "11010519491231002X"


def test_check_char_function() -> None:
    assert id_number_check_char("11010519491231002") == "X"
    with pytest.raises(ValueError):
        id_number_check_char("1101051949123100")


def test_wrong_check_digit() -> None:
    assert code_of(parse_id_number, "110105194912310021", today=TODAY) == "check_digit"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("", "length"),
        ("11010519491231002", "length"),
        ("11010519491231002X1", "length"),
        ("1101051949123100XX", "charset"),
        ("11010519491231002Y", "charset"),
        ("１１010519491231002X", "charset"),  # full-width digits
        (make_id_number("990105", date(1990, 1, 1), 1), "area"),  # no province 99
        (make_id_number("100105", date(1990, 1, 1), 1), "area"),
        (make_id_number("110000", date(1990, 1, 1), 1), "area"),  # province only
        ("110105199002300011", "birth_date"),  # 1990-02-30
        ("110105189912310011", "birth_date"),  # before 1900
        (make_id_number("110105", TODAY + timedelta(days=1), 1), "birth_date"),
    ],
)
def test_invalid_id_numbers(value: str, code: str) -> None:
    assert code_of(parse_id_number, value, today=TODAY) == code


def test_future_birth_date_with_default_today() -> None:
    value = make_id_number("320505", date.today() + timedelta(days=1), 123)
    assert code_of(parse_id_number, value) == "birth_date"


def test_non_string_rejected() -> None:
    assert code_of(parse_id_number, 11010519491231002) == "charset"


@given(area_codes, birth_dates, seqs)
def test_make_id_number_round_trips(area: str, birth: date, seq: int) -> None:
    info = parse_id_number(make_id_number(area, birth, seq), today=TODAY)
    assert info.area_code == area
    assert info.birth_date == birth
    assert info.sex == ("M" if seq % 2 else "F")
    assert len(info.normalized) == 18


@given(valid_ids, st.integers(min_value=0, max_value=17), st.integers(1, 9))
def test_single_digit_substitution_is_rejected(value: str, pos: int, delta: int) -> None:
    original = value[pos]
    if original == "X":
        new = str(delta)  # any digit differs from X
    else:
        new = str((int(original) + delta) % 10)
    changed = value[:pos] + new + value[pos + 1 :]
    assert changed != value
    with pytest.raises(InvalidIdentifier):
        parse_id_number(changed, today=TODAY)


# --------------------------------------------------------------------------- USCC

uscc_chars = st.sampled_from(USCC_CHARSET)
org_bodies = st.text(USCC_CHARSET, min_size=8, max_size=8)
digits6 = st.text("0123456789", min_size=6, max_size=6)
valid_usccs = st.builds(make_uscc, uscc_chars, uscc_chars, digits6, org_bodies)


@pytest.mark.parametrize(
    "value",
    [
        "91350100M000100Y43",  # widely cited sample
        "914403001922038216",  # Huawei Technologies Co., Ltd.
        "91110000100006485K",
    ],
)
def test_real_world_usccs(value: str) -> None:
    info = parse_uscc(value.lower())
    assert info.normalized == value
    assert info.registration_authority == value[0]
    assert info.org_type == value[1]
    assert info.area_code == value[2:8]
    assert info.org_code == value[8:17]
    assert make_uscc(value[0], value[1], value[2:8], value[8:16]) == value


def test_org_code_check_char() -> None:
    assert org_code_check_char("M000100Y") == "4"
    assert org_code_check_char("19220382") == "1"
    assert org_code_check_char("00000002") == "7"  # sum 4 -> 11 - 4
    assert org_code_check_char("00000000") == "0"  # sum 0 -> 11 -> "0"
    assert org_code_check_char("00000006") == "X"  # sum 12 -> 11 - 1 = 10 -> "X"


def test_uscc_check_char() -> None:
    assert uscc_check_char("91350100M000100Y4") == "3"
    with pytest.raises(ValueError):
        uscc_check_char("91350100M000100I4")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("91350100M000100Y4", "length"),
        ("91350100M000100Y433", "length"),
        ("91350100M000100I43", "charset"),  # I is not in the alphabet
        ("913501O0M000100Y43", "charset"),
        ("9135010AM000100Y43", "area"),
        ("91350100M000100Y53", "org_code_check"),
        ("91350100M000100Y44", "check_digit"),
    ],
)
def test_invalid_usccs(value: str, code: str) -> None:
    assert code_of(parse_uscc, value) == code


@given(valid_usccs)
def test_make_uscc_is_valid(value: str) -> None:
    info = parse_uscc(value)
    assert info.normalized == value
    assert uscc_check_char(value[:17]) == value[17]


@given(valid_usccs, st.integers(min_value=0, max_value=16), uscc_chars)
def test_single_char_substitution_is_rejected(value: str, pos: int, new: str) -> None:
    if value[pos] == new:
        return
    changed = value[:pos] + new + value[pos + 1 :]
    with pytest.raises(InvalidIdentifier) as info:
        parse_uscc(changed)
    assert info.value.code in {"area", "org_code_check", "check_digit"}


# --------------------------------------------------------------------------- mobile


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0086-138-1234-5678", "13812345678"),
        (" 19912345678 ", "19912345678"),
    ],
)
def test_mobile_normalisation(value: str, expected: str) -> None:
    assert parse_mobile(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12812345678",  # second digit 2
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "+85213812345678",  # Hong Kong prefix
        "025-12345678",  # landline
        "1381234567a",
        "１３８１２３４５６７８",  # full-width
        "+86+8613812345678",
    ],
)
def test_invalid_mobiles(value: str) -> None:
    assert code_of(parse_mobile, value) == "mobile"
