"""Load a division file (CSV: code, name, parent_code[, source][, population]) idempotently."""

import csv
import io
from dataclasses import dataclass

from django.db import transaction

from . import codes
from .models import Division


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class DivisionFileError(ValueError):
    pass


def parse_division_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"code", "name"} - set(reader.fieldnames or [])
    if missing:
        raise DivisionFileError(f"missing column(s): {', '.join(sorted(missing))}")
    rows = []
    for line, row in enumerate(reader, start=2):
        code = (row.get("code") or "").strip()
        try:
            codes.level_of(code)
        except ValueError as exc:
            raise DivisionFileError(f"row {line}, column code: {exc}") from exc
        name = (row.get("name") or "").strip()
        if not name:
            raise DivisionFileError(f"row {line}, column name: empty")
        parent = (row.get("parent_code") or "").strip() or codes.parent_of(code)
        population = (row.get("population") or "").strip()
        rows.append({"code": code, "name": name, "parent_id": parent or None,
                     "source": (row.get("source") or "").strip(),
                     "population": int(population) if population else None})
    return rows


def load_divisions(rows: list[dict]) -> LoadResult:
    """Upsert rows parents-first, in one transaction; unchanged rows are not written (nor audited)."""
    result = LoadResult()
    known = set(Division.objects.values_list("code", flat=True)) | {r["code"] for r in rows}
    with transaction.atomic():
        existing = {d.code: d for d in Division.objects.filter(code__in=[r["code"] for r in rows])}
        for row in sorted(rows, key=lambda r: (len(r["code"]), codes.level_of(r["code"]) != "province", r["code"])):
            if row["parent_id"] and row["parent_id"] not in known:
                row = {**row, "parent_id": None}  # a parent outside the file and the database
            current = existing.get(row["code"])
            if current is not None and row.get("population") is None:
                row = {k: v for k, v in row.items() if k != "population"}  # a file without figures keeps ours
            if current is None:
                Division(**row).save()
                result.created += 1
            elif any(getattr(current, k) != v for k, v in row.items() if k != "code"):
                for k, v in row.items():
                    setattr(current, k, v)
                current.save()
                result.updated += 1
            else:
                result.unchanged += 1
    return result
