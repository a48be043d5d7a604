"""易制毒化学品 catalogue and parameter tables: loader, validation and effective-dated lookups.

Pure Python (no Django). Reads the CSV files in ``precursors/data/catalogue/`` (see the README there for the
columns, sources and what is still to be confirmed); research: ``shared/research/precursors.md`` §1.2–§1.5, §3.1, §6.

* :func:`load_substances`, :func:`load_parameters`, :func:`load_special_country_rules` and
  :func:`load_special_countries` read one file each (``path=None`` = the shipped file), validate every row and
  raise :class:`CatalogueError` naming the file, the row and the column of the first problem.
* Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row is row 2.
* Date intervals are closed, as elsewhere in the project (``registry.py``, rule R20): a row applies on ``d`` when
  ``from <= d`` and (``to`` is empty or ``d <= to``), so ``listed_to`` / ``effective_to`` is the **last** day the
  row applies, and a successor row starts the day after.
* Lookups take a :class:`datetime.date` (the China Standard Time calendar date); a ``datetime`` is refused rather
  than silently cut to its UTC or local date.
* Catalogue-entry counting: the members of catalogue row 12 (麻黄素类: codes ``C1-12a`` … ``C1-12g``) are one
  catalogue entry, and each "X and its esters" class entry (``is_group``) is one entry. :func:`entry_key` maps a
  code to its catalogue entry; :func:`count_listed` counts entries, not rows.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "catalogue"
SUBSTANCES_CSV = DATA_DIR / "substances.csv"
PARAMETERS_CSV = DATA_DIR / "parameters.csv"
SPECIAL_COUNTRY_RULES_CSV = DATA_DIR / "special_country_rules.csv"
SPECIAL_COUNTRIES_CSV = DATA_DIR / "special_countries.csv"

SUBSTANCE_COLUMNS = (
    "code", "category", "name_zh", "name_en", "cas", "is_pharma", "is_group", "group_members_cas", "listed_from",
    "listed_to", "listed_by", "criminal_threshold_kg", "salt_to_base_factor", "volatile", "intl_verification",
    "special_country", "watch", "watch_threshold_kg", "category_confirmed", "tag", "source", "notes",
)
PARAMETER_COLUMNS = ("name", "value", "unit", "effective_from", "effective_to", "tag", "source", "description")
SPECIAL_COUNTRY_RULE_COLUMNS = ("substance_code", "country", "effective_from", "effective_to", "tag", "source",
                                "notes")
SPECIAL_COUNTRY_COLUMNS = ("country", "name_zh", "effective_from", "effective_to", "chemical_list_confirmed", "tag",
                           "source", "notes")

CATEGORIES = (1, 2, 3)
TAGS = ("V", "M", "U")          # research confidence: seen in a source / from memory / uncertain
MEMBER_SEPARATOR = ";"          # group_members_cas: "77-83-8;…"

_CODE_RE = re.compile(r"^(?:C(?P<cat>[123])-\d{2}(?P<member>[a-z])?|W-\d{2})$")
_CAS_RE = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PARAM_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


# --- errors -------------------------------------------------------------------------------------------------------
class CatalogueError(ValueError):
    """A catalogue file is invalid, or a lookup cannot be answered. ``file``, ``row`` and ``column`` locate the
    problem when it comes from a file (row 1 = the header)."""

    def __init__(self, message: str, file: str | None = None, row: int | None = None, column: str | None = None):
        self.message, self.file, self.row, self.column = message, file, row, column
        where = ", ".join(part for part in (
            file or "",
            f"row {row}" if row is not None else "",
            f"column {column}" if column else "",
        ) if part)
        super().__init__(f"{where}: {message}" if where else message)


class ParameterNotFound(CatalogueError, LookupError):
    """No row of the parameter is in force on the date asked for."""


# --- CAS numbers --------------------------------------------------------------------------------------------------
def cas_check_digit(digits: str) -> int:
    """The CAS check digit of the registry number's digits without the check digit (e.g. ``"6764"`` → 1):
    Σ (position from the right, starting at 1) × digit, modulo 10."""
    if not digits.isdigit():
        raise ValueError(f"not digits: {digits!r}")
    return sum(i * int(d) for i, d in enumerate(reversed(digits), start=1)) % 10


def is_valid_cas(cas: str) -> bool:
    """True for a well-formed CAS RN (``NNNNNNN-NN-N``, 2–7 leading digits) whose check digit is right."""
    m = _CAS_RE.match(cas)
    return bool(m) and cas_check_digit(m.group(1) + m.group(2)) == int(m.group(3))


def normalize_cas(cas: str) -> str:
    """``" 67-64-1 "`` / ``"67641"`` → ``"67-64-1"``; raises ValueError for anything that is not a valid CAS RN
    (a lookup must never answer "not controlled" because of a typo)."""
    s = cas.strip()
    if s.isdigit() and 5 <= len(s) <= 10:
        s = f"{s[:-3]}-{s[-3:-1]}-{s[-1]}"
    if not _CAS_RE.match(s):
        raise ValueError(f"malformed CAS number {cas!r}")
    if not is_valid_cas(s):
        raise ValueError(f"bad CAS check digit in {cas!r}")
    return s


# --- records ------------------------------------------------------------------------------------------------------
def entry_key(code: str) -> str:
    """The catalogue entry a code belongs to: ``"C1-12c"`` → ``"C1-12"`` (members of a split row), else the code."""
    m = _CODE_RE.match(code)
    if m and m.group("member"):
        return code[:-1]
    return code


def _applies(start: date | None, end: date | None, on: date) -> bool:
    return start is not None and start <= on and (end is None or on <= end)


def _overlap(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    """Do the closed intervals [a_start, a_end] and [b_start, b_end] (None = open-ended) share a day?"""
    return (a_end is None or b_start <= a_end) and (b_end is None or a_start <= b_end)


def _check_date(on: Any) -> date:
    if isinstance(on, datetime) or not isinstance(on, date):
        raise TypeError(f"expected a datetime.date (China Standard Time calendar date), got {on!r}")
    return on


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One row of substances.csv. ``category`` is None for watch rows that are not (yet) listed; tri-state flags
    (``intl_verification``, ``special_country``) are None when the research does not say."""

    code: str
    category: int | None
    name_zh: str
    name_en: str
    cas: str | None
    is_pharma: bool
    is_group: bool
    group_members_cas: tuple[str, ...]
    listed_from: date | None
    listed_to: date | None
    listed_by: str
    criminal_threshold_kg: float | None
    salt_to_base_factor: float
    volatile: bool
    intl_verification: bool | None
    special_country: bool | None
    watch: bool
    watch_threshold_kg: float | None
    category_confirmed: bool
    tag: str
    source: str
    notes: str

    @property
    def entry_key(self) -> str:
        return entry_key(self.code)

    @property
    def all_cas(self) -> tuple[str, ...]:
        """The entry's own CAS (if any) followed by its group members' CAS numbers."""
        return ((self.cas,) if self.cas else ()) + self.group_members_cas

    @property
    def name(self) -> str:
        return self.name_zh or self.name_en

    def listed_on(self, on: date) -> bool:
        """Listed (in a category) on that date."""
        return self.category is not None and _applies(self.listed_from, self.listed_to, _check_date(on))


@dataclass(frozen=True, slots=True)
class ParameterRow:
    name: str
    value: Any                    # decoded JSON: number, string, list, object, bool or None
    unit: str
    effective_from: date
    effective_to: date | None
    tag: str
    source: str
    description: str

    def in_force(self, on: date) -> bool:
        return _applies(self.effective_from, self.effective_to, _check_date(on))


@dataclass(frozen=True, slots=True)
class SpecialCountryRule:
    """(substance or group entry, destination country): exports need the extra 向特定国家(地区)出口 licence."""

    substance_code: str
    country: str                  # ISO 3166-1 alpha-2
    effective_from: date
    effective_to: date | None
    tag: str
    source: str
    notes: str = ""

    def in_force(self, on: date) -> bool:
        return _applies(self.effective_from, self.effective_to, _check_date(on))


@dataclass(frozen=True, slots=True)
class SpecialCountry:
    """A destination named by the 向特定国家(地区)出口 regime. ``chemical_list_confirmed`` is False while the list of
    chemicals for it is not (fully) in special_country_rules.csv."""

    country: str
    name_zh: str
    effective_from: date
    effective_to: date | None
    chemical_list_confirmed: bool
    tag: str
    source: str
    notes: str = ""

    def in_force(self, on: date) -> bool:
        return _applies(self.effective_from, self.effective_to, _check_date(on))


# --- CSV reading and cell parsing -----------------------------------------------------------------------------------
class _Row:
    __slots__ = ("cells", "file", "rownum")

    def __init__(self, file: str, rownum: int, cells: dict[str, str]):
        self.file, self.rownum, self.cells = file, rownum, cells

    def error(self, column: str | None, message: str) -> CatalogueError:
        return CatalogueError(message, self.file, self.rownum, column)

    def text(self, col: str, required: bool = False) -> str:
        value = self.cells[col]
        if required and not value:
            raise self.error(col, "required value is empty")
        return value

    def date(self, col: str, required: bool = False) -> date | None:
        value = self.text(col, required)
        if not value:
            return None
        if not _DATE_RE.match(value):
            raise self.error(col, f"bad date {value!r} (expected YYYY-MM-DD)")
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise self.error(col, f"bad date {value!r} ({exc})") from None

    def interval(self, col_from: str, col_to: str, required: bool = True) -> tuple[date | None, date | None]:
        start, end = self.date(col_from, required), self.date(col_to)
        if end is not None:
            if start is None:
                raise self.error(col_to, f"{col_to} is set but {col_from} is empty")
            if end < start:
                raise self.error(col_to, f"{col_to} {end} is before {col_from} {start}")
        return start, end

    def flag(self, col: str) -> bool:
        value = self.cells[col].lower()
        if value not in ("true", "false"):
            raise self.error(col, f"expected true or false, got {self.cells[col]!r}")
        return value == "true"

    def optional_flag(self, col: str) -> bool | None:
        return None if not self.cells[col] else self.flag(col)

    def number(self, col: str, required: bool = False) -> float | None:
        value = self.text(col, required)
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            raise self.error(col, f"not a number: {value!r}") from None
        if not math.isfinite(number) or number <= 0:
            raise self.error(col, f"expected a positive number, got {value!r}")
        return number

    def cas(self, col: str, value: str | None = None) -> str:
        value = self.cells[col] if value is None else value
        if not _CAS_RE.match(value):
            raise self.error(col, f"malformed CAS number {value!r} (expected NNNNNNN-NN-N)")
        if not is_valid_cas(value):
            raise self.error(col, f"bad CAS check digit in {value!r}")
        return value

    def tag(self, col: str = "tag") -> str:
        value = self.text(col, required=True)
        if value not in TAGS:
            raise self.error(col, f"unknown tag {value!r} (expected one of {', '.join(TAGS)})")
        return value

    def country(self, col: str = "country") -> str:
        value = self.text(col, required=True)
        if not _COUNTRY_RE.match(value):
            raise self.error(col, f"expected an ISO 3166-1 alpha-2 code such as MM, got {value!r}")
        return value


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _read(path: str | Path, columns: Sequence[str]) -> Iterator[_Row]:
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"not UTF-8 ({exc.reason} at byte {exc.start})", file) from None
    except OSError as exc:
        raise CatalogueError(f"cannot read: {exc.strerror or exc}", file) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CatalogueError("empty file (no header row)", file, 1) from None
    except csv.Error as exc:
        raise CatalogueError(f"CSV syntax error: {exc}", file, 1) from None
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise CatalogueError("duplicate column in the header", file, 1, name)
        if name not in columns:
            raise CatalogueError("unknown column in the header", file, 1, name)
        seen.add(name)
    for name in columns:
        if name not in seen:
            raise CatalogueError("column missing from the header", file, 1, name)
    number = 1
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CatalogueError(f"CSV syntax error: {exc}", file, number) from None
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise CatalogueError(f"{len(cells)} cells but the header has {len(header)} columns", file, number)
        yield _Row(file, number, {h: c.strip() for h, c in zip(header, cells, strict=True)})


# --- loaders --------------------------------------------------------------------------------------------------------
def load_substances(path: str | Path | None = None) -> list[CatalogueEntry]:
    """Read and validate substances.csv (default: the shipped file)."""
    entries: list[CatalogueEntry] = []
    codes: dict[str, int] = {}
    primary_cas: dict[str, str] = {}
    for row in _read(path or SUBSTANCES_CSV, SUBSTANCE_COLUMNS):
        code = row.text("code", required=True)
        m = _CODE_RE.match(code)
        if not m:
            raise row.error("code", f"bad code {code!r} (expected C<category>-<nn>[a-z] or W-<nn>)")
        if code in codes:
            raise row.error("code", f"duplicate code {code!r} (first in row {codes[code]})")
        codes[code] = row.rownum

        raw_cat = row.text("category")
        category: int | None = None
        if raw_cat:
            if raw_cat not in {str(c) for c in CATEGORIES}:
                raise row.error("category", f"unknown category {raw_cat!r} (expected 1, 2 or 3, or empty)")
            category = int(raw_cat)
            if m.group("cat") and int(m.group("cat")) != category:
                raise row.error("category", f"category {category} does not match code {code}")

        name_zh, name_en = row.text("name_zh"), row.text("name_en")
        if not (name_zh or name_en):
            raise row.error("name_zh", "both name_zh and name_en are empty")

        cas = row.cas("cas") if row.text("cas") else None
        if cas is not None:
            if cas in primary_cas:
                raise row.error("cas", f"CAS {cas} is already the CAS of {primary_cas[cas]}")
            primary_cas[cas] = code

        is_group = row.flag("is_group")
        members_raw = row.text("group_members_cas")
        members: tuple[str, ...] = ()
        if members_raw:
            if not is_group:
                raise row.error("group_members_cas", "member CAS numbers given but is_group is false")
            members = tuple(row.cas("group_members_cas", c.strip()) for c in members_raw.split(MEMBER_SEPARATOR))
            if len(set(members)) != len(members) or cas in members:
                raise row.error("group_members_cas", "a member CAS is repeated")

        listed_from, listed_to = row.interval("listed_from", "listed_to", required=False)
        watch = row.flag("watch")
        if category is None and listed_from is not None:
            raise row.error("category", "listed_from is set but category is empty")
        if category is not None and listed_from is None:
            raise row.error("listed_from", "a listed entry needs listed_from")
        if category is None and not watch:
            raise row.error("category", "category is empty on a row that is not a watch row")

        salt = row.number("salt_to_base_factor", required=True)
        if salt > 1:
            raise row.error("salt_to_base_factor", f"expected 0 < factor <= 1 (base mass / salt mass), got {salt}")

        category_confirmed = row.flag("category_confirmed")
        tag = row.tag()
        if category is not None and not category_confirmed and tag != "U":
            raise row.error("tag", "an unconfirmed category must be tagged U")

        entries.append(CatalogueEntry(
            code=code, category=category, name_zh=name_zh, name_en=name_en, cas=cas,
            is_pharma=row.flag("is_pharma"), is_group=is_group, group_members_cas=members,
            listed_from=listed_from, listed_to=listed_to, listed_by=row.text("listed_by"),
            criminal_threshold_kg=row.number("criminal_threshold_kg"), salt_to_base_factor=salt,
            volatile=row.flag("volatile"), intl_verification=row.optional_flag("intl_verification"),
            special_country=row.optional_flag("special_country"), watch=watch,
            watch_threshold_kg=row.number("watch_threshold_kg"), category_confirmed=category_confirmed,
            tag=tag, source=row.text("source", required=True), notes=row.text("notes"),
        ))
    return entries


def load_parameters(path: str | Path | None = None) -> list[ParameterRow]:
    """Read and validate parameters.csv. ``value`` is a JSON literal (strings in double quotes; NaN/Infinity are
    refused). Two rows of one name must not overlap in time."""
    rows: list[ParameterRow] = []
    periods: dict[str, list[tuple[date, date | None, int]]] = {}
    for row in _read(path or PARAMETERS_CSV, PARAMETER_COLUMNS):
        name = row.text("name", required=True)
        if not _PARAM_NAME_RE.match(name):
            raise row.error("name", f"bad parameter name {name!r} (expected lower_snake_case)")
        raw = row.text("value", required=True)
        try:
            value = json.loads(raw, parse_constant=_reject_constant)
        except ValueError as exc:
            raise row.error("value", f"not a JSON literal: {raw!r} ({exc})") from None
        start, end = row.interval("effective_from", "effective_to")
        assert start is not None
        for other_start, other_end, other_row in periods.get(name, []):
            if _overlap(start, end, other_start, other_end):
                raise row.error("effective_from", f"{name} overlaps the period of row {other_row}")
        periods.setdefault(name, []).append((start, end, row.rownum))
        rows.append(ParameterRow(
            name=name, value=value, unit=row.text("unit"), effective_from=start, effective_to=end, tag=row.tag(),
            source=row.text("source", required=True), description=row.text("description"),
        ))
    return rows


def load_special_country_rules(path: str | Path | None = None, *,
                               substances: Iterable[CatalogueEntry] | None = None,
                               countries: Iterable[SpecialCountry] | None = None) -> list[SpecialCountryRule]:
    """Read and validate special_country_rules.csv. With ``substances`` (and/or ``countries``) given, every
    substance code (a row code or an entry key such as ``C1-12``) and country must exist there."""
    known_codes = None
    if substances is not None:
        known_codes = set()
        for e in substances:
            known_codes.update((e.code, e.entry_key))
    known_countries = None if countries is None else {c.country for c in countries}
    rules: list[SpecialCountryRule] = []
    periods: dict[tuple[str, str], list[tuple[date, date | None, int]]] = {}
    for row in _read(path or SPECIAL_COUNTRY_RULES_CSV, SPECIAL_COUNTRY_RULE_COLUMNS):
        code = row.text("substance_code", required=True)
        if not _CODE_RE.match(code):
            raise row.error("substance_code", f"bad code {code!r}")
        if known_codes is not None and code not in known_codes:
            raise row.error("substance_code", f"unknown substance code {code!r}")
        country = row.country()
        if known_countries is not None and country not in known_countries:
            raise row.error("country", f"{country} is not in special_countries.csv")
        start, end = row.interval("effective_from", "effective_to")
        assert start is not None
        key = (code, country)
        for other_start, other_end, other_row in periods.get(key, []):
            if _overlap(start, end, other_start, other_end):
                raise row.error("effective_from", f"{code} → {country} overlaps the period of row {other_row}")
        periods.setdefault(key, []).append((start, end, row.rownum))
        rules.append(SpecialCountryRule(code, country, start, end, row.tag(), row.text("source", required=True),
                                        row.text("notes")))
    return rules


def load_special_countries(path: str | Path | None = None) -> list[SpecialCountry]:
    """Read and validate special_countries.csv (one row per country and period)."""
    out: list[SpecialCountry] = []
    periods: dict[str, list[tuple[date, date | None, int]]] = {}
    for row in _read(path or SPECIAL_COUNTRIES_CSV, SPECIAL_COUNTRY_COLUMNS):
        country = row.country()
        start, end = row.interval("effective_from", "effective_to")
        assert start is not None
        for other_start, other_end, other_row in periods.get(country, []):
            if _overlap(start, end, other_start, other_end):
                raise row.error("effective_from", f"{country} overlaps the period of row {other_row}")
        periods.setdefault(country, []).append((start, end, row.rownum))
        out.append(SpecialCountry(country, row.text("name_zh"), start, end, row.flag("chemical_list_confirmed"),
                                  row.tag(), row.text("source", required=True), row.text("notes")))
    return out


@lru_cache(maxsize=1)
def shipped_substances() -> tuple[CatalogueEntry, ...]:
    """The shipped catalogue, loaded once."""
    return tuple(load_substances())


# --- lookups --------------------------------------------------------------------------------------------------------
def in_force(entries: Iterable[CatalogueEntry], on: date) -> list[CatalogueEntry]:
    """The rows listed on that date (watch rows that are not listed are left out)."""
    on = _check_date(on)
    return [e for e in entries if e.listed_on(on)]


def count_listed(entries: Iterable[CatalogueEntry], on: date) -> int:
    """Number of catalogue entries listed on that date, counting the 麻黄素类 members C1-12a…g as one entry and
    each class entry as one (the way the official "三类共N种" counts are made)."""
    return len({e.entry_key for e in in_force(entries, on)})


def _find_code(code: str, entries: Iterable[CatalogueEntry] | None) -> CatalogueEntry:
    for e in (shipped_substances() if entries is None else entries):
        if e.code == code:
            return e
    raise KeyError(f"unknown substance code {code!r}")


def category_on(entry_or_code: CatalogueEntry | str, on: date,
                entries: Iterable[CatalogueEntry] | None = None) -> int | None:
    """The category of an entry on that date, or None if it is not listed then. A code is looked up in ``entries``
    (default: the shipped catalogue); an unknown code raises KeyError. Check ``category_confirmed`` before relying
    on the category of the 2024 class entries."""
    entry = _find_code(entry_or_code, entries) if isinstance(entry_or_code, str) else entry_or_code
    return entry.category if entry.listed_on(on) else None


def find_by_cas(entries: Iterable[CatalogueEntry], cas: str, on: date | None = None) -> list[CatalogueEntry]:
    """The rows whose CAS, or one of whose group members' CAS, is ``cas`` (hyphens optional), in file order; with
    ``on``, only rows listed on that date. Raises ValueError for a malformed CAS or a bad check digit. An empty
    answer does not prove a chemical is uncontrolled: salts, class members without a CAS in the table and entries
    with an unknown CAS (see the README) are not found by CAS."""
    wanted = normalize_cas(cas)
    found = [e for e in entries if wanted in e.all_cas]
    if on is not None:
        found = [e for e in found if e.listed_on(on)]
    return found


def parameter_row_on(rows: Iterable[ParameterRow], name: str, on: date) -> ParameterRow:
    """The row of parameter ``name`` in force on that date; :class:`ParameterNotFound` if there is none."""
    on = _check_date(on)
    matches = [r for r in rows if r.name == name and r.in_force(on)]
    if not matches:
        raise ParameterNotFound(f"no value of parameter {name!r} is in force on {on.isoformat()}")
    if len(matches) > 1:
        raise CatalogueError(f"{len(matches)} rows of parameter {name!r} are in force on {on.isoformat()}")
    return matches[0]


def parameter_on(rows: Iterable[ParameterRow], name: str, on: date) -> Any:
    """The value of parameter ``name`` in force on that date (may be None where the value is not set, e.g. a
    local parameter); :class:`ParameterNotFound` if no row is in force. Use :func:`parameter_row_on` for the tag
    and source."""
    return parameter_row_on(rows, name, on).value


def special_countries_on(countries: Iterable[SpecialCountry], on: date) -> list[SpecialCountry]:
    on = _check_date(on)
    return [c for c in countries if c.in_force(on)]


def special_export_licence_required(code: str, country: str, on: date, rules: Iterable[SpecialCountryRule],
                                    countries: Iterable[SpecialCountry]) -> bool | None:
    """Does exporting ``code`` to ``country`` on ``on`` need the extra 向特定国家(地区)出口 licence?

    True when a rule for the code (or its catalogue entry) and country is in force; None (cannot tell — check by
    hand) when the country is a special country on that date but its chemical list is not confirmed; else False.
    """
    on = _check_date(on)
    codes = {code, entry_key(code)}
    if any(r.substance_code in codes and r.country == country and r.in_force(on) for r in rules):
        return True
    for c in countries:
        if c.country == country and c.in_force(on) and not c.chemical_list_confirmed:
            return None
    return False
