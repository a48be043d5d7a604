"""Tests for utilities.masking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from utilities.masking import mask_generic, mask_id_number, mask_mobile, mask_name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("320505199001011234", "320505********1234"),
        ("11010519491231002X", "110105********002X"),
        ("1234567890", "**********"),  # too short to keep anything
        ("12345", "*****"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_id_number(value: str | None, expected: str) -> None:
    assert mask_id_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "138****5678"),
        ("1381234", "*******"),
        ("", ""),
    ],
)
def test_mask_mobile(value: str, expected: str) -> None:
    assert mask_mobile(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("张三丰", "张**"),
        ("张三", "张*"),
        ("欧阳娜娜", "欧***"),
        ("张", "*"),
        ("", ""),
    ],
)
def test_mask_name(value: str, expected: str) -> None:
    assert mask_name(value) == expected


def test_mask_generic() -> None:
    assert mask_generic("abcdefgh", 2, 3) == "ab***fgh"
    assert mask_generic("abcdefgh", 0, 0) == "********"
    assert mask_generic("abcdefgh", 0, 2) == "******gh"
    assert mask_generic("abcde", 2, 3) == "*****"
    with pytest.raises(ValueError):
        mask_generic("abc", -1, 0)


@given(st.text(), st.integers(0, 6), st.integers(0, 6))
def test_mask_generic_properties(value: str, start: int, end: int) -> None:
    masked = mask_generic(value, start, end)
    assert len(masked) == len(value)
    if value:
        assert masked != value or set(value) == {"*"}
    if len(value) > start + end:
        assert masked[:start] == value[:start]
        assert masked[len(value) - end :] == value[len(value) - end :]
        assert set(masked[start : len(value) - end]) == {"*"}
