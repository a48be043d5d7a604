"""Which districts border which (for neighbour-area alerts). Read from geo/data/adjacency_*.csv
(symmetric pairs); a deployment replaces the file with the surveying office's data."""

import csv
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


@lru_cache(maxsize=1)
def _pairs() -> dict[str, frozenset[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(DATA.glob("adjacency_*.csv")):
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                a, b = row["code"].strip(), row["neighbour"].strip()
                graph.setdefault(a, set()).add(b)
                graph.setdefault(b, set()).add(a)
    return {k: frozenset(v) for k, v in graph.items()}


def neighbours(code: str) -> list[str]:
    return sorted(_pairs().get(code[:6], ()))
