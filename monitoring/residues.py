"""The residues the platform knows, from the correction-factor table (lower-case English names as
the API uses them, Chinese names for the UI)."""

from functools import lru_cache

from django.utils import translation


@lru_cache(maxsize=1)
def _residues() -> tuple[tuple[str, str, str], ...]:
    from .parameters import correction_factor_rows

    rows = correction_factor_rows()
    if isinstance(rows, dict):
        rows = rows.get("factors", rows.get("entries", []))
    seen = {}
    for row in rows:
        seen.setdefault(row["residue"], (row.get("name_zh") or row["residue"], row.get("drug") or row["residue"]))
    return tuple((code, zh, en) for code, (zh, en) in seen.items())


def residue_codes() -> list[str]:
    return [code for code, _zh, _en in _residues()]


def residue_label(code: str) -> str:
    for c, zh, _en in _residues():
        if c == code:
            return zh if (translation.get_language() or "zh").startswith("zh") else c
    return code


def residue_choices():
    return [(code, f"{zh} ({code})") for code, zh, _en in _residues()]
