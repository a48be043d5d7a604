"""Reading planned routes and GPS fixes as people send them (R29's data door). Plain Python, no Django.

A route arrives as a GeoJSON LineString, a list of ``[lon, lat]`` pairs, or (from Excel) the text
``"120.62,31.31; 120.30,31.57; 118.78,32.05"``. Every error names the point it is about, counted from 1, so a
clerk can find it; latitude and longitude swapped (``31.3,120.6``) is the usual mistake and is caught by the range
check on the latitude.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

Point = tuple[float, float]


#: what a RouteError's ``code`` means (the forms show their own translations of these)
MESSAGES = {
    "not_number": "longitude and latitude must be numbers",
    "lon_range": "longitude {value:g} is outside −180…180",
    "lat_range": "latitude {value:g} is outside −90…90 (longitude and latitude swapped?)",
    "pair": "give longitude and latitude",
    "json": "not valid JSON",
    "geojson": "a GeoJSON route must be a LineString",
    "shape": "give the route as [[lon, lat], …], a GeoJSON LineString or \"lon,lat; lon,lat\"",
    "too_short": "a route needs at least its origin and its destination",
}


class RouteError(ValueError):
    """A route or a fix that cannot be read: ``code`` (a key of MESSAGES), the point it is about (from 1) and the
    offending value."""

    def __init__(self, code: str, point: int | None = None, value=None):
        self.code, self.point, self.value = code, point, value
        text = MESSAGES[code].format(value=value) if value is not None else MESSAGES[code]
        super().__init__(f"point {point}: {text}" if point else text)


def check_point(lon, lat, point: int | None = None) -> Point:
    """(lon, lat) as floats within WGS-84's ranges, or a RouteError naming the point."""
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise RouteError("not_number", point) from None
    if math.isnan(x) or math.isnan(y):
        raise RouteError("not_number", point)
    if not -180 <= x <= 180:
        raise RouteError("lon_range", point, x)
    if not -90 <= y <= 90:
        raise RouteError("lat_range", point, y)
    return x, y


def _pairs_from_text(text: str) -> list[list[str]]:
    # Chinese punctuation is common in cells typed by hand
    text = text.replace("；", ";").replace("，", ",").replace("\n", ";")
    return [[c.strip() for c in part.split(",")] for part in text.split(";") if part.strip()]


def parse_route(value) -> list[Point]:
    """The planned route as [(lon, lat), …]: at least two points (origin and destination)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("{", "[")):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise RouteError("json") from None
        else:
            value = _pairs_from_text(text)
    if isinstance(value, dict):
        if value.get("type") != "LineString":
            raise RouteError("geojson")
        value = value.get("coordinates")
    if not isinstance(value, list | tuple):
        raise RouteError("shape")
    points = []
    for i, p in enumerate(value, start=1):
        if not isinstance(p, list | tuple) or len(p) < 2:
            raise RouteError("pair", i)
        points.append(check_point(p[0], p[1], i))
    if len(points) < 2:
        raise RouteError("too_short")
    return points


def route_as_json(points: Iterable[Point]) -> list[list[float]]:
    """What the model stores: [[lon, lat], …] rounded to 1e-6° (about 0.1 m)."""
    return [[round(x, 6), round(y, 6)] for x, y in points]


def route_as_text(points: Iterable) -> str:
    """The route as an Excel cell shows it (``parse_route`` reads it back)."""
    return "; ".join(f"{float(p[0]):.6f},{float(p[1]):.6f}" for p in points)
