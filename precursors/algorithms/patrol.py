"""Drone patrol geometry for 禁种铲毒 无人机踏查: camera footprints, flight swaths, survey-area coverage and
boustrophedon (lawnmower) plans (research §5). Pure Python + shapely 2 + pyproj; no Django.

**Input coordinates must be WGS-84 (lon, lat), in that order.** Drone logs and GPS fixes are WGS-84; CGCS2000 is the
same to within a metre. Amap / Tencent web-map coordinates are **GCJ-02**, which is shifted by hundreds of metres.
Nothing here can detect that shift: convert GCJ-02 to WGS-84 before calling. Otherwise a fully flown field shows as
half uncovered. Only coordinate ranges are checked (which catches swapped axes and projected metres).

Lengths and areas are measured in a local metric plane: the UTM zone of the input's centroid (Suzhou is 51N,
EPSG:32651). Degrees are not a unit of area (a degree of longitude is 95 km at 31°N and 111 km at the equator), and
buffering by a swath width needs metres. The UTM scale error is at most ~0.1% near a zone edge; covered fractions
are ratios, so they are essentially unaffected. Flight altitudes are heights above ground (AGL). A GPS/MSL altitude
must have the terrain height subtracted first. Headings and bearings are degrees clockwise from (grid) north.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from shapely.strtree import STRtree
from shapely.validation import explain_validity


class PatrolGeometryError(ValueError):
    """Invalid geometry or camera input; the message names what is wrong."""


# ---------------------------------------------------------------------------------------------------- camera model
def _positive(allow_zero: bool = False, **values: float) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and (value > 0 or allow_zero and value == 0)):
            raise PatrolGeometryError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number, "
                                      f"got {value!r}")


def gsd_m(sensor_width_mm: float, altitude_m: float, focal_mm: float, image_width_px: float) -> float:
    """Ground sample distance (m/px) of a nadir photo: GSD = sensor_width · H / (focal · image_width_px)."""
    _positive(sensor_width_mm=sensor_width_mm, altitude_m=altitude_m, focal_mm=focal_mm, image_width_px=image_width_px)
    return sensor_width_mm * altitude_m / (focal_mm * image_width_px)


def altitude_for_gsd(target_gsd_m: float, sensor_width_mm: float, focal_mm: float, image_width_px: float) -> float:
    """Height above ground (m) that gives ``target_gsd_m``: H = GSD · focal · image_width_px / sensor_width."""
    _positive(target_gsd_m=target_gsd_m, sensor_width_mm=sensor_width_mm, focal_mm=focal_mm,
              image_width_px=image_width_px)
    return target_gsd_m * focal_mm * image_width_px / sensor_width_mm


def footprint_from_sensor(altitude_m: float, sensor_width_mm: float, sensor_height_mm: float,
                          focal_mm: float) -> tuple[float, float]:
    """Nadir ground footprint (width, height) in m: W = H · sensor_width / focal, and the same for the height."""
    _positive(sensor_width_mm=sensor_width_mm, sensor_height_mm=sensor_height_mm, focal_mm=focal_mm)
    _positive(allow_zero=True, altitude_m=altitude_m)
    return altitude_m * sensor_width_mm / focal_mm, altitude_m * sensor_height_mm / focal_mm


def footprint_from_fov(altitude_m: float, hfov_deg: float, vfov_deg: float) -> tuple[float, float]:
    """Nadir ground footprint (width, height) in m from the fields of view: W = 2 · H · tan(HFOV/2), same for VFOV."""
    for name, fov in (("hfov_deg", hfov_deg), ("vfov_deg", vfov_deg)):
        if not 0 < fov < 180:
            raise PatrolGeometryError(f"{name} must be in (0, 180) degrees, got {fov!r}")
    _positive(allow_zero=True, altitude_m=altitude_m)
    return (2 * altitude_m * math.tan(math.radians(hfov_deg) / 2),
            2 * altitude_m * math.tan(math.radians(vfov_deg) / 2))


@dataclass(frozen=True)
class Camera:
    """A nadir pinhole camera. Only the ratios sensor/focal matter, so a FOV-only camera is built with focal 1."""

    sensor_width_mm: float
    sensor_height_mm: float
    focal_mm: float
    image_width_px: int

    @classmethod
    def from_fov(cls, hfov_deg: float, vfov_deg: float, image_width_px: int) -> Camera:
        w, h = footprint_from_fov(1.0, hfov_deg, vfov_deg)  # with focal 1, the footprint at H = 1 is the sensor
        return cls(w, h, 1.0, image_width_px)

    def footprint(self, altitude_m: float) -> tuple[float, float]:
        return footprint_from_sensor(altitude_m, self.sensor_width_mm, self.sensor_height_mm, self.focal_mm)

    def gsd(self, altitude_m: float) -> float:
        return self.footprint(altitude_m)[0] / self.image_width_px


# ------------------------------------------------------------------------------------------- local metric projection
def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS-84 UTM zone holding (lon, lat): 326zz north, 327zz south, zz = ⌊(lon+180)/6⌋ + 1."""
    zone = int((lon + 180) // 6) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


@lru_cache(maxsize=16)
def _transformers(epsg: int) -> tuple[Transformer, Transformer]:
    crs = CRS.from_epsg(epsg)  # pyproj Transformers are thread-safe since 3.1, so caching them is fine
    return (Transformer.from_crs(4326, crs, always_xy=True), Transformer.from_crs(crs, 4326, always_xy=True))


@dataclass(frozen=True)
class LocalProjection:
    """WGS-84 ⇄ one UTM zone. Pick it once per job, so the AOI and every footprint share one plane."""

    epsg: int

    @classmethod
    def for_geometry(cls, geom_wgs84) -> LocalProjection:
        c = geom_wgs84.centroid if not geom_wgs84.is_empty else Point(0, 0)
        return cls(utm_epsg(c.x, c.y))

    def to_metric(self, geom):
        return _apply(_transformers(self.epsg)[0], geom)

    def to_wgs84(self, geom):
        return _apply(_transformers(self.epsg)[1], geom)


def _apply(transformer: Transformer, geom):
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def area_m2(geom_wgs84) -> float:
    """Planar area in m² of a WGS-84 geometry, measured in the UTM zone of its centroid."""
    return LocalProjection.for_geometry(geom_wgs84).to_metric(geom_wgs84).area


# ------------------------------------------------------------------------------------------------ GeoJSON in / out
def _check_position(pos, where: str) -> tuple[float, float]:
    if not isinstance(pos, (list, tuple)) or len(pos) < 2 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in pos[:2]):
        raise PatrolGeometryError(f"{where}: a position must be [lon, lat] numbers, got {pos!r}")
    lon, lat = pos[0], pos[1]
    if not -180 <= lon <= 180:
        raise PatrolGeometryError(f"{where}: longitude {lon} is outside [-180, 180] (projected metres, not WGS-84?)")
    if not -90 <= lat <= 90:
        hint = " (lon/lat swapped?)" if -90 <= lon <= 90 and abs(lat) <= 180 else ""
        raise PatrolGeometryError(f"{where}: latitude {lat} is outside [-90, 90]{hint}")
    return float(lon), float(lat)


def _check_ring(ring, where: str) -> list[tuple[float, float]]:
    if not isinstance(ring, (list, tuple)) or not ring:
        raise PatrolGeometryError(f"{where}: a ring must be a non-empty list of positions")
    points = [_check_position(p, f"{where}, point {i}") for i, p in enumerate(ring)]
    if points[0] != points[-1]:
        raise PatrolGeometryError(f"{where} is not closed: first point {points[0]} != last point {points[-1]}")
    if len(set(points)) < 3:
        raise PatrolGeometryError(f"{where} has {len(set(points))} distinct points; a ring needs at least 3")
    return points


def polygon_from_geojson(obj) -> Polygon | MultiPolygon:
    """A validated WGS-84 Polygon/MultiPolygon from a GeoJSON geometry or Feature (dict or JSON text).

    Raises :class:`PatrolGeometryError` naming the ring and point at fault, or shapely's ``explain_validity``
    reason (e.g. ``Self-intersection[120.6 31.3]`` for a bow-tie)."""
    if isinstance(obj, (str, bytes)):
        try:
            obj = json.loads(obj)
        except ValueError as exc:
            raise PatrolGeometryError(f"not valid JSON: {exc}") from None
    if isinstance(obj, Mapping) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, Mapping) or obj.get("type") not in ("Polygon", "MultiPolygon"):
        got = obj.get("type") if isinstance(obj, Mapping) else type(obj).__name__
        raise PatrolGeometryError(f"expected a GeoJSON Polygon or MultiPolygon, got {got!r}")
    coords = obj.get("coordinates")
    polys = [coords] if obj["type"] == "Polygon" else coords
    if not isinstance(polys, (list, tuple)) or not polys:
        raise PatrolGeometryError(f"{obj['type']} has no coordinates")
    built = []
    for i, rings in enumerate(polys):
        if not isinstance(rings, (list, tuple)) or not rings:
            raise PatrolGeometryError(f"polygon {i} has no rings")
        prefix = "" if len(polys) == 1 else f"polygon {i} "
        checked = [_check_ring(ring, prefix + ("exterior ring" if r == 0 else f"hole {r}"))
                   for r, ring in enumerate(rings)]
        built.append(Polygon(checked[0], checked[1:]))
    geom = built[0] if obj["type"] == "Polygon" else MultiPolygon(built)
    if not geom.is_valid:
        raise PatrolGeometryError(f"invalid polygon: {explain_validity(geom)}")
    return geom


def to_geojson(geom) -> dict:
    """A GeoJSON geometry dict (plain lists, JSON-ready) of a shapely geometry; empty → ``"coordinates": []``."""
    if geom.is_empty and geom.geom_type != "GeometryCollection":
        return {"type": geom.geom_type, "coordinates": []}  # shapely writes [[]] for an empty Polygon
    return json.loads(shapely.to_geojson(geom))


def _as_wgs84(geom, what: str):
    """Accept a shapely geometry or GeoJSON; check it is plausibly lon/lat (catches projected metres)."""
    if not isinstance(geom, shapely.Geometry):
        return polygon_from_geojson(geom)
    if not geom.is_empty:
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise PatrolGeometryError(f"{what}: bounds {geom.bounds} are not WGS-84 lon/lat")
    if not geom.is_valid:
        raise PatrolGeometryError(f"{what} is invalid: {explain_validity(geom)}")
    return geom


# ---------------------------------------------------------------------------------------------------- flight swaths
class Fix(NamedTuple):
    lon: float
    lat: float
    altitude_m: float | None = None
    heading_deg: float | None = None


def _as_fix(f) -> Fix:
    return Fix(f["lon"], f["lat"], f.get("altitude_m"), f.get("heading_deg")) if isinstance(f, Mapping) else Fix(*f)


def _segment_swath(p, q, w_p: float, w_q: float) -> Polygon | None:
    """Flat-capped swath of one segment whose width goes linearly from w_p to w_q (a trapezoid)."""
    dx, dy = q[0] - p[0], q[1] - p[1]
    length = math.hypot(dx, dy)
    if length == 0 or w_p + w_q == 0:
        return None
    nx, ny = -dy / length, dx / length
    return Polygon([(p[0] + nx * w_p / 2, p[1] + ny * w_p / 2), (q[0] + nx * w_q / 2, q[1] + ny * w_q / 2),
                    (q[0] - nx * w_q / 2, q[1] - ny * w_q / 2), (p[0] - nx * w_p / 2, p[1] - ny * w_p / 2)])


def flight_footprint(track: Iterable, footprint_w_m: float | None = None, footprint_h_m: float | None = None, *,
                     camera: Camera | None = None, max_gsd_m: float | None = None, photos: bool = False):
    """Ground area imaged by one flight, as a WGS-84 (Multi)Polygon (empty if nothing counts).

    ``track``: fixes ``(lon, lat[, altitude_m[, heading_deg]])`` or mappings with those keys.

    * Track mode (default): the track buffered by half the footprint width with flat caps. The swath of each segment
      is a trapezoid whose width goes from W(fix i) to W(fix i+1), with round joins (discs) at the vertices. For a
      constant width this equals ``LineString.buffer(W/2, cap_style="flat")``.
    * ``photos=True``: each fix is a photo centre with a heading. Its footprint is a W × H rectangle, H along the
      heading, rotated to it; the result is the union of the rectangles.

    Widths: ``footprint_w_m``/``footprint_h_m`` fix the size; when omitted it is ``camera.footprint(altitude_m)``
    per fix (W = H·sensor/focal), so the swath widens as the drone climbs. Quality mask: with ``max_gsd_m``, a
    photo counts only if its GSD ≤ max_gsd_m, and a segment only if both its end fixes do. Too high to see a poppy
    means not surveyed.
    """
    fixes = [_as_fix(f) for f in track]
    if not fixes:
        return Polygon()
    for i, f in enumerate(fixes):
        _check_position([f.lon, f.lat], f"fix {i}")
    needs_alt = footprint_w_m is None or max_gsd_m is not None
    if needs_alt and (camera is None or any(f.altitude_m is None for f in fixes)):
        raise PatrolGeometryError("per-fix footprint or max_gsd_m needs a camera and an altitude_m on every fix")
    if photos and any(f.heading_deg is None for f in fixes):
        raise PatrolGeometryError("photos=True needs a heading_deg on every photo centre")
    if photos and footprint_w_m is not None and footprint_h_m is None:
        raise PatrolGeometryError("photo footprints need footprint_h_m as well as footprint_w_m")

    sizes = [camera.footprint(f.altitude_m) if footprint_w_m is None else (footprint_w_m, footprint_h_m or 0.0)
             for f in fixes]
    ok = [max_gsd_m is None or camera.gsd(f.altitude_m) <= max_gsd_m for f in fixes]
    proj = LocalProjection.for_geometry(shapely.multipoints([(f.lon, f.lat) for f in fixes]))
    xy = shapely.get_coordinates(proj.to_metric(shapely.points([(f.lon, f.lat) for f in fixes])))

    parts: list[Polygon] = []
    if photos:
        for (x, y), (w, h), f, good in zip(xy, sizes, fixes, ok):
            if good and w > 0 and h > 0:  # box is W across-track × H along-track; rotate() is counter-clockwise
                parts.append(affinity.translate(affinity.rotate(box(-w / 2, -h / 2, w / 2, h / 2), -f.heading_deg,
                                                                origin=(0, 0)), x, y))
    else:
        seg_ok = [ok[i] and ok[i + 1] for i in range(len(fixes) - 1)]
        for i, good in enumerate(seg_ok):
            if good and (swath := _segment_swath(xy[i], xy[i + 1], sizes[i][0], sizes[i + 1][0])) is not None:
                parts.append(swath)
        for i in range(1, len(fixes) - 1):  # round join where both neighbouring segments count
            if seg_ok[i - 1] and seg_ok[i] and sizes[i][0] > 0:
                parts.append(Point(xy[i]).buffer(sizes[i][0] / 2))
    if not parts:
        return Polygon()
    # Abutting swaths leave zero-width holes from float noise. They are valid in metres but degenerate after
    # reprojection, so snap to a 1 µm grid (set_precision drops collapsed rings).
    return proj.to_wgs84(shapely.set_precision(shapely.union_all(parts), 1e-6))


# --------------------------------------------------------------------------------------------------------- coverage
@dataclass(frozen=True)
class CoverageResult:
    aoi_area_m2: float
    covered_area_m2: float
    covered_fraction: float  # area(AOI ∩ ⋃ footprints) / area(AOI)
    uncovered: dict  # GeoJSON geometry, WGS-84, for the map
    required_passes: int | None = None
    covered_required_area_m2: float | None = None  # seen by ≥ required_passes footprints
    covered_required_fraction: float | None = None

    @property
    def aoi_area_km2(self) -> float:
        return self.aoi_area_m2 / 1e6

    @property
    def covered_area_km2(self) -> float:
        return self.covered_area_m2 / 1e6


def _covered_at_least(footprints_m: Sequence, k: int):
    """Region inside ≥ k footprints: node all boundaries, polygonize into faces, keep faces inside ≥ k of them."""
    if len(footprints_m) < k:
        return Polygon()
    faces = shapely.polygonize([shapely.union_all([f.boundary for f in footprints_m])]).geoms
    tree = STRtree(footprints_m)
    keep = [f for f in faces if len(tree.query(f.point_on_surface(), predicate="within")) >= k]
    return shapely.union_all(keep) if keep else Polygon()


def _drop_slivers(geom, half_width_m: float = 0.01):
    """Morphological opening: removes float-noise slivers (< 2 cm wide) where swaths abut; mitre keeps corners."""
    return shapely.buffer(shapely.buffer(geom, -half_width_m, join_style="mitre"), half_width_m, join_style="mitre")


def coverage(area_polygon_wgs84, footprints_wgs84: Iterable, required_passes: int | None = None) -> CoverageResult:
    """Coverage of a survey area (village, grid cell) by flight or photo footprints, all WGS-84.

    covered_fraction = area(AOI ∩ ⋃ footprints) / area(AOI), computed in the AOI's UTM zone (areas need metres).
    With ``required_passes`` = k, also the share of the AOI inside at least k footprints (stereo / overlap
    requirement). Pass photo footprints one by one for that, since a flight's swath is already a union."""
    aoi_ll = _as_wgs84(area_polygon_wgs84, "area")
    if aoi_ll.is_empty or aoi_ll.area == 0:
        raise PatrolGeometryError("area polygon is empty")
    proj = LocalProjection.for_geometry(aoi_ll)
    aoi = proj.to_metric(aoi_ll)
    prints = [aoi.intersection(proj.to_metric(_as_wgs84(f, f"footprint {i}"))) for i, f in enumerate(footprints_wgs84)]
    prints = [p for p in prints if not p.is_empty and p.area > 0]
    covered = shapely.union_all(prints).intersection(aoi) if prints else Polygon()
    multi = None
    if required_passes is not None:
        if required_passes < 1:
            raise PatrolGeometryError(f"required_passes must be >= 1, got {required_passes}")
        multi = _covered_at_least(prints, required_passes).intersection(aoi).area
    return CoverageResult(aoi.area, covered.area, covered.area / aoi.area,
                          to_geojson(proj.to_wgs84(_drop_slivers(aoi.difference(covered)))),
                          required_passes, multi, None if multi is None else multi / aoi.area)


# --------------------------------------------------------------------------------------------------------- planning
@dataclass(frozen=True)
class LawnmowerPlan:
    path: LineString  # WGS-84
    length_m: float  # including the transits between passes
    n_passes: int
    bearing_deg: float  # direction of the passes, clockwise from north, in [0, 180)


def _longest_edge_angle(geom) -> float:
    """Math angle (degrees ccw from +x) of the longest edge of the minimum rotated rectangle."""
    ring = shapely.get_coordinates(geom.minimum_rotated_rectangle.exterior)
    edges = [ring[1] - ring[0], ring[2] - ring[1]]
    dx, dy = max(edges, key=lambda e: math.hypot(*e))
    return math.degrees(math.atan2(dy, dx))


def lawnmower_plan(area_polygon_wgs84, swath_m: float, angle_deg: float | None = None) -> LawnmowerPlan:
    """Boustrophedon path over an area: parallel passes ``swath_m`` apart, alternating direction.

    ``angle_deg`` is the pass bearing (clockwise from north). By default the passes run along the longest edge of
    the minimum rotated rectangle, which gives the fewest turns. The area is rotated so passes run along x. Over its
    width W there are n = ⌈W / swath⌉ passes, centred, so a W = n·swath rectangle has passes swath/2 inside its edges
    and the swaths tile it exactly. An L × W rectangle therefore gives length n·L + (n−1)·swath. Non-convex areas
    and holes split a pass into pieces. They are flown in order along the pass, with straight transits that may
    cross outside the area (fine for a drone). There is no cell decomposition (Choset & Pignon). Plan the parts
    of a MultiPolygon one by one: a shared plan is oriented to their joint rectangle.
    """
    _positive(swath_m=swath_m)
    aoi_ll = _as_wgs84(area_polygon_wgs84, "area")
    proj = LocalProjection.for_geometry(aoi_ll)
    aoi = proj.to_metric(aoi_ll)
    theta = _longest_edge_angle(aoi) if angle_deg is None else 90.0 - angle_deg
    origin = aoi.centroid
    flat = affinity.rotate(aoi, -theta, origin=origin)
    minx, miny, maxx, maxy = flat.bounds
    n = max(1, math.ceil((maxy - miny) / swath_m - 1e-6))  # tolerance: W = n·swath must not give n + 1 passes
    y0 = miny + ((maxy - miny) - (n - 1) * swath_m) / 2
    coords: list[tuple[float, float]] = []
    passes = 0
    for k in range(n):
        cut = flat.intersection(LineString([(minx - 1, y0 + k * swath_m), (maxx + 1, y0 + k * swath_m)]))
        pieces = sorted((shapely.get_coordinates(g) for g in getattr(cut, "geoms", [cut])
                         if g.geom_type == "LineString" and g.length > 0), key=lambda c: c[:, 0].min())
        if not pieces:
            continue
        reverse = passes % 2 == 1  # alternate direction on every pass actually flown
        for piece in (pieces[::-1] if reverse else pieces):
            piece = piece[np.argsort(piece[:, 0])]
            coords.extend(map(tuple, piece[::-1] if reverse else piece))
        passes += 1
    if len(coords) < 2:
        raise PatrolGeometryError("area too small or degenerate for a lawnmower plan")
    path_m = affinity.rotate(LineString(coords), theta, origin=origin)
    bearing = (90.0 - theta) % 180.0
    return LawnmowerPlan(proj.to_wgs84(path_m), path_m.length, passes, bearing)
