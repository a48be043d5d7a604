"""Django validators for Chinese identifiers (wrapping :mod:`utilities.identifiers`).

Each validator raises ``ValidationError`` with ``code`` set to the ``InvalidIdentifier`` code
and ``params={"value": value}``. The English message ids are collected in the dicts below so
translators find them in one place.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .identifiers import InvalidIdentifier, parse_id_number, parse_mobile, parse_uscc

__all__ = [
    "ID_NUMBER_MESSAGES",
    "USCC_MESSAGES",
    "MOBILE_MESSAGES",
    "validate_id_number",
    "validate_uscc",
    "validate_mobile",
]

ID_NUMBER_MESSAGES: dict[str, Promise] = {
    "length": _("Invalid ID number: it must be 18 characters long."),
    "charset": _("Invalid ID number: it must be 17 digits followed by a digit or X."),
    "area": _("Invalid ID number: the area code is not valid."),
    "birth_date": _("Invalid ID number: the birth date is not valid."),
    "check_digit": _("Invalid ID number: wrong check digit."),
}

USCC_MESSAGES: dict[str, Promise] = {
    "length": _("Invalid unified social credit code: it must be 18 characters long."),
    "charset": _(
        "Invalid unified social credit code: only digits and letters other than "
        "I, O, Z, S and V are allowed."
    ),
    "area": _("Invalid unified social credit code: characters 3 to 8 must be an area code."),
    "org_code_check": _(
        "Invalid unified social credit code: the organisation code has a wrong check character."
    ),
    "check_digit": _("Invalid unified social credit code: wrong check character."),
}

MOBILE_MESSAGES: dict[str, Promise] = {
    "mobile": _("Invalid mobile number: enter an 11-digit mainland China mobile number."),
}


def _raise(messages: dict[str, Promise], exc: InvalidIdentifier, value: object) -> None:
    message = messages.get(exc.code, exc.message)
    raise ValidationError(message, code=exc.code, params={"value": value}) from exc


def validate_id_number(value: str) -> None:
    """Validate a resident ID number (GB 11643-1999)."""
    try:
        parse_id_number(value)
    except InvalidIdentifier as exc:
        _raise(ID_NUMBER_MESSAGES, exc, value)


def validate_uscc(value: str) -> None:
    """Validate a unified social credit code (GB 32100-2015, with its GB 11714 org code)."""
    try:
        parse_uscc(value)
    except InvalidIdentifier as exc:
        _raise(USCC_MESSAGES, exc, value)


def validate_mobile(value: str) -> None:
    """Validate a mainland China mobile number."""
    try:
        parse_mobile(value)
    except InvalidIdentifier as exc:
        _raise(MOBILE_MESSAGES, exc, value)
