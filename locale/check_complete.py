#!/usr/bin/env python3
"""Check that a gettext catalogue is complete: no untranslated and no fuzzy entries.

Usage: python locale/check_complete.py [path/to/django.po ...]
Defaults to every locale/*/LC_MESSAGES/*.po next to this script. Exits 1 and lists the
offending msgids if any entry is untranslated (an empty msgstr / msgstr[n]) or flagged fuzzy.
Obsolete entries (``#~``) are ignored. Stdlib only.
"""

import ast
import sys
from pathlib import Path


def _unquote(s: str) -> str:
    return ast.literal_eval(s.strip())


def parse_po(path):
    """Yield dicts with msgid, msgid_plural, msgstr (list), fuzzy, line for each entry."""
    entry = None
    field = None

    def finish():
        if entry is not None and "msgid" in entry:
            return entry
        return None

    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line:
                done = finish()
                if done:
                    yield done
                entry, field = None, None
                continue
            if line.startswith("#~"):
                continue
            if entry is None:
                entry = {"msgid_plural": None, "msgstr": {}, "fuzzy": False, "line": lineno}
            if line.startswith("#,"):
                if "fuzzy" in [f.strip() for f in line[2:].split(",")]:
                    entry["fuzzy"] = True
                continue
            if line.startswith("#"):
                continue
            if line.startswith('"'):
                if field is None:
                    raise ValueError(f"{path}:{lineno}: continuation line without a keyword")
                if isinstance(field, tuple):
                    entry["msgstr"][field[1]] += _unquote(line)
                else:
                    entry[field] += _unquote(line)
                continue
            keyword, _, rest = line.partition(" ")
            if keyword in ("msgid", "msgid_plural", "msgctxt"):
                field = keyword
                entry[field] = _unquote(rest)
            elif keyword == "msgstr":
                field = ("msgstr", 0)
                entry["msgstr"][0] = _unquote(rest)
            elif keyword.startswith("msgstr["):
                n = int(keyword[len("msgstr["):-1])
                field = ("msgstr", n)
                entry["msgstr"][n] = _unquote(rest)
            else:
                raise ValueError(f"{path}:{lineno}: cannot parse {line!r}")
    done = finish()
    if done:
        yield done


def problems(path):
    found = []
    for e in parse_po(path):
        if e["msgid"] == "":  # header
            if e["fuzzy"]:
                found.append((e["line"], "fuzzy", "(header)"))
            continue
        if e["fuzzy"]:
            found.append((e["line"], "fuzzy", e["msgid"]))
        if not e["msgstr"] or any(not s for s in e["msgstr"].values()):
            found.append((e["line"], "untranslated", e["msgid"]))
    return found


def main(argv):
    paths = [Path(p) for p in argv] or sorted(Path(__file__).resolve().parent.glob("*/LC_MESSAGES/*.po"))
    if not paths:
        print("no .po files found", file=sys.stderr)
        return 1
    bad = 0
    for path in paths:
        for line, kind, msgid in problems(path):
            bad += 1
            print(f"{path}:{line}: {kind}: {msgid!r}")
    if bad:
        print(f"{bad} incomplete entr{'y' if bad == 1 else 'ies'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
