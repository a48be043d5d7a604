"""Chinese identifier validation, pure Python (no Django).

* 居民身份证号码 — GB 11643-1999, check character per ISO 7064 MOD 11-2.
* 统一社会信用代码 (USCC) — GB 32100-2015, which embeds a 组织机构代码 (GB 11714-1997).
* Mainland mobile numbers (11 digits, ``1[3-9]`` prefix).

Every parser raises :class:`InvalidIdentifier` with a short machine ``code`` that callers
(e.g. :mod:`utilities.validators`) map to translated messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = [
    "InvalidIdentifier",
    "IdNumberInfo",
    "UsccInfo",
    "PROVINCE_CODES",
    "USCC_CHARSET",
    "id_number_check_char",
    "parse_id_number",
    "uscc_check_char",
    "org_code_check_char",
    "parse_uscc",
    "parse_mobile",
    "make_id_number",
    "make_uscc",
]


class InvalidIdentifier(ValueError):
    """An identifier failed validation; ``code`` says which rule, ``message`` says it in English."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"InvalidIdentifier(code={self.code!r}, message={self.message!r})"


# --------------------------------------------------------------------------- ID numbers

#: GB/T 2260 province-level prefixes (first two digits of an administrative division code).
PROVINCE_CODES: frozenset[str] = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82"]
)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_MIN_BIRTH_DATE = date(1900, 1, 1)
_DIGITS17 = re.compile(r"\d{17}")
_ASCII_DIGITS = frozenset("0123456789")


@dataclass(frozen=True, slots=True)
class IdNumberInfo:
    """Facts decoded from a valid 18-character resident ID number."""

    area_code: str
    birth_date: date
    sex: str  # "M" or "F"
    normalized: str


def _is_ascii_digits(value: str) -> bool:
    return bool(value) and all(ch in _ASCII_DIGITS for ch in value)


def id_number_check_char(first17: str) -> str:
    """Return the GB 11643 check character (ISO 7064 MOD 11-2) for 17 body digits."""
    if len(first17) != 17 or not _is_ascii_digits(first17):
        raise ValueError("first17 must be exactly 17 ASCII digits")
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS))
    return _ID_CHECK_CHARS[total % 11]


def _check_area(area_code: str) -> None:
    if area_code[:2] not in PROVINCE_CODES:
        raise InvalidIdentifier("area", "The area code does not start with a valid province code.")
    if area_code[2:6] == "0000":
        raise InvalidIdentifier("area", "The area code names a province, not a county-level division.")


def parse_id_number(value: str, today: date | None = None) -> IdNumberInfo:
    """Validate and decode a GB 11643-1999 resident ID number.

    Surrounding whitespace is ignored and a lower-case ``x`` check character is accepted;
    ``normalized`` is the 18-character form with an upper-case ``X``.
    """
    if not isinstance(value, str):
        raise InvalidIdentifier("charset", "The ID number must be text.")
    text = value.strip().upper()
    if len(text) != 18:
        raise InvalidIdentifier("length", "The ID number must be exactly 18 characters long.")
    body, check = text[:17], text[17]
    if not _is_ascii_digits(body) or not (check == "X" or check in _ASCII_DIGITS):
        raise InvalidIdentifier(
            "charset", "The ID number must be 17 digits followed by a digit or X."
        )
    _check_area(body[:6])
    try:
        birth = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        raise InvalidIdentifier("birth_date", "The birth date is not a real calendar date.") from None
    if today is None:
        today = date.today()
    if birth > today:
        raise InvalidIdentifier("birth_date", "The birth date is in the future.")
    if birth < _MIN_BIRTH_DATE:
        raise InvalidIdentifier("birth_date", "The birth date is before 1900-01-01.")
    if id_number_check_char(body) != check:
        raise InvalidIdentifier("check_digit", "The check character is wrong.")
    sex = "M" if int(body[16]) % 2 == 1 else "F"
    return IdNumberInfo(area_code=body[:6], birth_date=birth, sex=sex, normalized=text)


def make_id_number(area_code: str, birth: date, seq: int) -> str:
    """Build a valid GB 11643 ID number (for tests and fixtures).

    ``seq`` (0–999) fills digits 15–17; its parity sets the sex (odd = male).
    """
    if len(area_code) != 6 or not _is_ascii_digits(area_code):
        raise ValueError("area_code must be 6 ASCII digits")
    if not 0 <= seq <= 999:
        raise ValueError("seq must be in 0..999")
    body = f"{area_code}{birth:%Y%m%d}{seq:03d}"
    if not _DIGITS17.fullmatch(body):
        raise ValueError("birth year must have four digits")
    return body + id_number_check_char(body)


# --------------------------------------------------------------------------- USCC

#: GB 32100 code alphabet (no I, O, Z, S, V); the index of a character is its value.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {ch: i for i, ch in enumerate(USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUES = {
    **{str(d): d for d in range(10)},
    **{chr(ord("A") + i): 10 + i for i in range(26)},
}


@dataclass(frozen=True, slots=True)
class UsccInfo:
    """Parts of a valid 18-character unified social credit code."""

    registration_authority: str
    org_type: str
    area_code: str
    org_code: str  # 9 chars: 8-char body + GB 11714 check char
    normalized: str


def uscc_check_char(first17: str) -> str:
    """Return the GB 32100 check character (MOD 31 over the USCC alphabet)."""
    if len(first17) != 17 or any(ch not in _USCC_VALUES for ch in first17):
        raise ValueError("first17 must be 17 characters from the USCC alphabet")
    total = sum(_USCC_VALUES[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """Return the GB 11714 organisation-code check character (MOD 11; 10 → X, 11 → 0)."""
    if len(first8) != 8 or any(ch not in _ORG_VALUES for ch in first8):
        raise ValueError("first8 must be 8 characters from 0-9 and A-Z")
    total = sum(_ORG_VALUES[ch] * w for ch, w in zip(first8, _ORG_WEIGHTS))
    c = 11 - total % 11
    if c == 10:
        return "X"
    if c == 11:
        return "0"
    return str(c)


def parse_uscc(value: str) -> UsccInfo:
    """Validate and split a GB 32100-2015 unified social credit code.

    Checks length, alphabet, the 6-digit area code, the embedded GB 11714 organisation-code
    check character (position 17) and the final GB 32100 check character (position 18).
    """
    if not isinstance(value, str):
        raise InvalidIdentifier("charset", "The credit code must be text.")
    text = value.strip().upper()
    if len(text) != 18:
        raise InvalidIdentifier("length", "The credit code must be exactly 18 characters long.")
    if any(ch not in _USCC_VALUES for ch in text):
        raise InvalidIdentifier(
            "charset", "The credit code may only use digits and letters other than I, O, Z, S, V."
        )
    area = text[2:8]
    if not _is_ascii_digits(area):
        raise InvalidIdentifier("area", "Characters 3 to 8 must be a 6-digit area code.")
    org_code = text[8:17]
    if org_code_check_char(org_code[:8]) != org_code[8]:
        raise InvalidIdentifier(
            "org_code_check", "The embedded organisation code has a wrong check character."
        )
    if uscc_check_char(text[:17]) != text[17]:
        raise InvalidIdentifier("check_digit", "The check character is wrong.")
    return UsccInfo(
        registration_authority=text[0],
        org_type=text[1],
        area_code=area,
        org_code=org_code,
        normalized=text,
    )


def make_uscc(authority: str, org_type: str, area_code: str, org_body8: str) -> str:
    """Build a valid GB 32100 code (for tests and fixtures), computing both check characters."""
    if len(authority) != 1 or len(org_type) != 1:
        raise ValueError("authority and org_type must be single characters")
    if len(area_code) != 6 or not _is_ascii_digits(area_code):
        raise ValueError("area_code must be 6 ASCII digits")
    org = org_body8 + org_code_check_char(org_body8)
    first17 = f"{authority}{org_type}{area_code}{org}"
    return first17 + uscc_check_char(first17)


# --------------------------------------------------------------------------- mobile

_MOBILE_SEPARATORS = re.compile(r"[\s\-]+")
_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")


def parse_mobile(value: str) -> str:
    """Normalise a mainland China mobile number to its 11 digits.

    Accepts an optional ``+86``/``0086``/``86`` prefix and spaces or hyphens anywhere.
    """
    if not isinstance(value, str):
        raise InvalidIdentifier("mobile", "The mobile number must be text.")
    match = _MOBILE.fullmatch(_MOBILE_SEPARATORS.sub("", value))
    if match is None:
        raise InvalidIdentifier("mobile", "This is not a valid mainland China mobile number.")
    return match.group(1)
