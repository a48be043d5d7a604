"""Masked display of personal data (pure Python, no Django).

Masks keep the length of the value (one ``*`` per hidden character), so the display of
``320505199001011234`` is ``320505********1234``. Values too short to keep anything are masked
entirely; empty or ``None`` input gives ``""``.
"""

from __future__ import annotations

import re

__all__ = ["MASK_CHAR", "mask_generic", "mask_id_number", "mask_mobile", "mask_name", "redact_identifiers"]

MASK_CHAR = "*"


def mask_generic(value: str | None, keep_start: int, keep_end: int) -> str:
    """Keep ``keep_start`` leading and ``keep_end`` trailing characters, star the rest.

    If the value is not longer than ``keep_start + keep_end`` it is masked entirely, so a
    mask never reveals the whole value.
    """
    if keep_start < 0 or keep_end < 0:
        raise ValueError("keep_start and keep_end must be >= 0")
    if not value:
        return ""
    n = len(value)
    if n <= keep_start + keep_end:
        return MASK_CHAR * n
    tail = value[n - keep_end :] if keep_end else ""
    return value[:keep_start] + MASK_CHAR * (n - keep_start - keep_end) + tail


def mask_id_number(value: str | None) -> str:
    """Mask a resident ID number: keep the 6-digit area code and the last 4 characters."""
    return mask_generic(value.strip() if value else value, 6, 4)


def mask_mobile(value: str | None) -> str:
    """Mask a mobile number: keep the first 3 and last 4 digits (``138****5678``)."""
    return mask_generic(value.strip() if value else value, 3, 4)


def mask_name(value: str | None) -> str:
    """Mask a personal name: keep the first character (``张三丰`` → ``张**``)."""
    return mask_generic(value.strip() if value else value, 1, 0)


_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def redact_identifiers(text: str) -> str:
    """Mask anything in free text that looks like an ID number or a mainland mobile number
    (search terms and filters end up in the access log; personal data must not)."""
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
    return _MOBILE.sub(lambda m: mask_mobile(m.group(0)), text)
