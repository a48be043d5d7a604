"""Parameter tables shipped as data (monitoring/data/*.json), synchronised into the database after
every migrate so that the versions, sources and effective dates are visible and queryable."""

import datetime as dt
import json
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def correction_factor_rows() -> list[dict]:
    return json.loads((DATA / "correction_factors.json").read_text(encoding="utf-8"))


def sync_correction_factors(**kwargs) -> None:
    from .models import CorrectionFactor

    fields = ("drug", "name_zh", "mw_parent", "mw_residue", "cf", "cf_rsd", "typical_dose_mg", "source", "status",
              "is_default", "note")
    entries = correction_factor_rows()
    if isinstance(entries, dict):
        entries = entries.get("factors", entries.get("entries", []))
    for entry in entries:
        values = {f: entry.get(f) if entry.get(f) is not None or f not in ("note", "source", "status") else ""
                  for f in fields}
        values["is_default"] = bool(entry.get("default", entry.get("is_default", False)))
        values["valid_from"] = dt.date.fromisoformat(entry["valid_from"])
        CorrectionFactor.objects.update_or_create(residue=entry["residue"], version=str(entry["version"]),
                                                  excretion_fraction=entry.get("excretion_fraction"),
                                                  defaults=values)


def factor_for(residue: str, on: dt.date | None = None):
    """The correction factor of a residue in force on a date: the default entry if it was in force,
    otherwise the newest entry in force then (e.g. ketamine before Du 2020 uses the older factor)."""
    from .models import CorrectionFactor

    qs = CorrectionFactor.objects.filter(residue=residue, cf__isnull=False)
    if on is not None:
        qs = qs.filter(valid_from__lte=on)
    return qs.filter(is_default=True).order_by("-valid_from").first() or qs.order_by("-valid_from").first()
