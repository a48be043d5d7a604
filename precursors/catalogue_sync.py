"""Synchronise the shipped catalogue (precursors/data/catalogue/substances.csv) into the database after every
migrate. Only changed rows are saved, and each save is written to the audit log, so the log holds the catalogue's
version history (which listing changed when)."""

from core.context import acting_as

FIELDS = ("category", "name_zh", "name_en", "cas", "is_pharma", "is_group", "listed_from", "listed_to", "listed_by",
          "criminal_threshold_kg", "salt_to_base_factor", "volatile", "intl_verification", "watch",
          "watch_threshold_kg", "category_confirmed", "tag", "source", "notes")


def _value(entry, name):
    if name == "cas":
        return ", ".join(entry.all_cas)        # a class entry lists its members' CAS numbers too
    v = getattr(entry, name, None)
    if name == "intl_verification":
        v = bool(v)                            # None = the research does not say: not on the list until confirmed
    if name in ("name_en", "cas", "listed_by", "tag", "source", "notes") and v is None:
        v = ""
    return v


def sync_catalogue(**kwargs) -> int:
    from .algorithms.catalogue import load_substances
    from .models import Substance

    changed = 0
    existing = {s.code: s for s in Substance.objects.all()}
    with acting_as(username="system:catalogue", channel="system"):
        for entry in load_substances():
            values = {f: _value(entry, f) for f in FIELDS}
            row = existing.get(entry.code)
            if row is None:
                Substance(code=entry.code, **values).save(audit_message="catalogue row added")
                changed += 1
            elif any(getattr(row, f) != v for f, v in values.items()):
                for f, v in values.items():
                    setattr(row, f, v)
                row.save(audit_message="catalogue row changed")
                changed += 1
    return changed
