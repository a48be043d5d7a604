"""Administrative division codes, pure functions (no Django).

GB/T 2260 gives six digits for province (PP0000), prefecture city (PPCC00) and county/district
(PPCCDD); the statistical division codes (统计用区划代码) add three digits for a street or town
and three more for a community or village. Jindu adds three digits for a grid (网格) below a
community. The hierarchy is the code itself, so "everything in X" is a prefix query.
"""

LEVELS = ("province", "city", "district", "street", "community", "grid")


def level_of(code: str) -> str:
    if not code.isdigit():
        raise ValueError(f"division code must be digits: {code!r}")
    if len(code) == 6:
        if code.endswith("0000"):
            return "province"
        if code.endswith("00"):
            return "city"
        return "district"
    by_length = {9: "street", 12: "community", 15: "grid"}
    if len(code) not in by_length:
        raise ValueError(f"division code must have 6, 9, 12 or 15 digits: {code!r}")
    return by_length[len(code)]


def prefix_of(code: str) -> str:
    """The prefix shared by a division and everything below it (320500 -> 3205)."""
    level = level_of(code)
    if level == "province":
        return code[:2]
    if level == "city":
        return code[:4]
    return code


def parent_of(code: str) -> str | None:
    level = level_of(code)
    if level == "province":
        return None
    if level == "city":
        return code[:2] + "0000"
    if level == "district":
        return code[:4] + "00"
    return code[: len(code) - 3]


def district_of(code: str) -> str | None:
    """The six-digit county/district code containing ``code`` (None above district level)."""
    return code[:6] if level_of(code) not in ("province", "city") else None


def contains(outer: str, inner: str) -> bool:
    return inner.startswith(prefix_of(outer))
