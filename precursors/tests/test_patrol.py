"""Drone patrol geometry (precursors.algorithms.patrol): research §5 vectors and analytic rectangles near Suzhou.
Pure Python: no database."""

import math

import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Polygon, box

from precursors.algorithms.patrol import (
    Camera,
    LocalProjection,
    PatrolGeometryError,
    altitude_for_gsd,
    area_m2,
    coverage,
    flight_footprint,
    footprint_from_fov,
    footprint_from_sensor,
    gsd_m,
    lawnmower_plan,
    polygon_from_geojson,
    to_geojson,
    utm_epsg,
)


@pytest.fixture(autouse=True)
def _clean_state():
    """Overrides the project conftest's autouse fixture, which needs the database; these tests need nothing."""
    yield


# Suzhou, UTM 51N. Test shapes are drawn in metres with pyproj directly (independent of the module's helper).
TO_M = Transformer.from_crs(4326, 32651, always_xy=True)
TO_LL = Transformer.from_crs(32651, 4326, always_xy=True)
X0, Y0 = TO_M.transform(120.6, 31.3)
L, W, SWATH = 1000.0, 600.0, 100.0  # AOI 1 km east-west × 600 m north-south, n = 6 swaths
N = int(W / SWATH)
MAVIC = Camera(36.0, 24.0, 20.0, 5472)  # 35 mm-equivalent, the research vector camera


def ll(x, y):
    """Local metres (from the AOI's south-west corner) → (lon, lat)."""
    return TO_LL.transform(X0 + x, Y0 + y)


def ll_poly(coords):
    return Polygon([ll(x, y) for x, y in coords])


AOI = ll_poly([(0, 0), (L, 0), (L, W), (0, W)])


def swath_track(row, alt=None):
    """East-west track along row k's centre line, overshooting both ends so flat caps don't leave gaps."""
    y = SWATH / 2 + row * SWATH
    return [(*ll(x, y), *([alt] if alt is not None else [])) for x in (-50.0, L + 50.0)]


# ------------------------------------------------------------------------------------------------------- camera
def test_gsd_research_vector():
    assert gsd_m(36, 100, 20, 5472) * 100 == pytest.approx(3.289473684, abs=1e-9)
    assert MAVIC.gsd(100) == pytest.approx(0.03289473684, abs=1e-11)


def test_altitude_for_gsd_research_vector():
    assert altitude_for_gsd(0.05, 36, 20, 5472) == pytest.approx(152.0, abs=1e-9)


def test_footprint_from_fov_hand_computed():
    # tan(45°) = 1 → 2·100·1 = 200 m; tan(30°) = 1/√3 → 200/√3 = 115.4700538 m
    w, h = footprint_from_fov(100, 90, 60)
    assert w == pytest.approx(200.0, abs=1e-9)
    assert h == pytest.approx(115.470053838, abs=1e-8)
    # tan(42°) = 0.9004040443 → 2·120·tan(42°) = 216.0969706 m (84° HFOV, typical DJI)
    assert footprint_from_fov(120, 84, 60)[0] == pytest.approx(216.0969706, abs=1e-6)


def test_footprint_from_sensor_matches_gsd_times_pixels():
    w, h = footprint_from_sensor(100, 36, 24, 20)
    assert (w, h) == pytest.approx((180.0, 120.0))
    assert w == pytest.approx(gsd_m(36, 100, 20, 5472) * 5472)


def test_camera_from_fov_agrees_with_footprint_from_fov():
    cam = Camera.from_fov(90, 60, 4000)
    assert cam.footprint(100) == pytest.approx(footprint_from_fov(100, 90, 60))
    assert cam.gsd(100) == pytest.approx(200 / 4000)


@pytest.mark.parametrize("args", [(0, 100, 20, 5472), (36, -1, 20, 5472), (36, 100, float("nan"), 5472)])
def test_gsd_rejects_non_positive(args):
    with pytest.raises(PatrolGeometryError, match="must be a positive number"):
        gsd_m(*args)


# ------------------------------------------------------------------------------------------------- projection
def test_suzhou_is_utm_51n():
    assert utm_epsg(120.6, 31.3) == 32651
    assert utm_epsg(-70.6, -33.4) == 32719  # Santiago: zone 19 south
    assert LocalProjection.for_geometry(AOI).epsg == 32651


def test_area_in_metres():
    assert area_m2(AOI) == pytest.approx(L * W, rel=1e-9)


# ------------------------------------------------------------------------------------------------- footprints
def test_track_swath_is_flat_capped_buffer():
    fp = flight_footprint(swath_track(0), SWATH)
    assert area_m2(fp) == pytest.approx((L + 100) * SWATH, rel=1e-6)


def test_per_segment_swath_equals_line_buffer_for_constant_width():
    pts_m = [(0, 0), (400, 0), (400, 300), (100, 500)]
    fp = flight_footprint([ll(x, y) for x, y in pts_m], 80.0)
    expected = LineString(pts_m).buffer(40.0, cap_style="flat")
    assert area_m2(fp) == pytest.approx(expected.area, rel=1e-4)


def test_width_varies_with_altitude():
    # 100 m → W 180 m, 200 m → W 360 m: a trapezoid of area L·(180+360)/2
    track = [(*ll(0, 0), 100.0), (*ll(L, 0), 200.0)]
    fp = flight_footprint(track, camera=MAVIC)
    assert area_m2(fp) == pytest.approx(L * (180 + 360) / 2, rel=1e-6)


def test_photo_rectangles_rotate_with_heading():
    w, h = 180.0, 120.0
    east = flight_footprint([(*ll(0, 0), 100.0, 90.0)], w, h, photos=True)  # heading east: H along x
    minx, miny, maxx, maxy = LocalProjection(32651).to_metric(east).bounds
    assert (maxx - minx, maxy - miny) == pytest.approx((h, w), abs=1e-3)
    two = flight_footprint([(*ll(0, 0), 100.0, 0.0), (*ll(60, 0), 100.0, 0.0)], camera=MAVIC, photos=True)
    assert area_m2(two) == pytest.approx((180 + 60) * 120, rel=1e-6)  # union, not sum: 60 m shift east


def test_flight_too_high_counts_nothing():
    # GSD at 100 m is 3.29 cm; requirement 2 cm → nothing flown at 100 m counts
    tracks = [flight_footprint(swath_track(k, alt=100.0), camera=MAVIC, max_gsd_m=0.02) for k in range(N)]
    assert all(t.is_empty for t in tracks)
    assert coverage(AOI, tracks).covered_fraction == 0.0


def test_quality_mask_drops_only_the_high_segments():
    low, high = 50.0, 300.0  # GSD 1.64 cm and 9.87 cm; limit 5 cm (ceiling 152 m)
    track = [(*ll(0, 0), low), (*ll(500, 0), low), (*ll(1000, 0), high)]
    fp = flight_footprint(track, camera=MAVIC, max_gsd_m=0.05)
    assert area_m2(fp) == pytest.approx(500 * 90, rel=1e-6)  # W at 50 m = 90 m; the climbing segment is dropped


def test_footprint_needs_camera_for_altitude_and_heading_for_photos():
    with pytest.raises(PatrolGeometryError, match="camera"):
        flight_footprint(swath_track(0, alt=100.0), max_gsd_m=0.05)
    with pytest.raises(PatrolGeometryError, match="heading"):
        flight_footprint(swath_track(0, alt=100.0), camera=MAVIC, photos=True)


# --------------------------------------------------------------------------------------------------- coverage
def test_exact_swaths_cover_the_rectangle():
    res = coverage(AOI, [flight_footprint(swath_track(k), SWATH) for k in range(N)])
    assert res.covered_fraction == pytest.approx(1.0, abs=1e-3)
    assert res.aoi_area_km2 == pytest.approx(0.6, rel=1e-9)
    assert res.covered_area_m2 == pytest.approx(L * W, rel=1e-3)
    assert res.uncovered == {"type": "Polygon", "coordinates": []}  # float slivers where swaths abut are dropped


@pytest.mark.parametrize("missing", [0, 2, N - 1])
def test_removing_one_swath_leaves_one_nth(missing):
    res = coverage(AOI, [flight_footprint(swath_track(k), SWATH) for k in range(N) if k != missing])
    assert res.covered_fraction == pytest.approx(1 - 1 / N, abs=1e-3)
    gap = polygon_from_geojson(res.uncovered)  # the GeoJSON for the map round-trips and is the missing strip
    assert area_m2(gap) == pytest.approx(L * SWATH, rel=1e-3)
    gx, gy = LocalProjection(32651).to_metric(gap.centroid).coords[0]
    assert (gx - X0, gy - Y0) == pytest.approx((L / 2, SWATH / 2 + missing * SWATH), abs=0.5)


def test_required_passes_counts_overlap():
    # two 200 m swaths 100 m apart: rows 0-1 and 1-2 → row 1 is seen twice → 100/600 of the AOI
    wide = [flight_footprint(swath_track(k), 2 * SWATH) for k in (0.5, 1.5)]
    res = coverage(AOI, wide, required_passes=2)
    assert res.covered_fraction == pytest.approx(300 / 600, abs=1e-3)
    assert res.covered_required_fraction == pytest.approx(100 / 600, abs=1e-3)


def test_coverage_accepts_geojson_and_rejects_projected_metres():
    res = coverage(to_geojson(AOI), [to_geojson(flight_footprint(swath_track(0), SWATH))])
    assert res.covered_fraction == pytest.approx(1 / N, abs=1e-3)
    with pytest.raises(PatrolGeometryError, match="not WGS-84"):
        coverage(box(X0, Y0, X0 + L, Y0 + W), [])


# --------------------------------------------------------------------------------------------------- planning
def test_lawnmower_rectangle_length():
    plan = lawnmower_plan(AOI, SWATH)  # default: along the 1 km edge, i.e. east-west
    assert plan.n_passes == N
    assert plan.bearing_deg == pytest.approx(90.0, abs=0.01)
    assert plan.length_m == pytest.approx(N * L + (N - 1) * SWATH, rel=0.01)
    assert isinstance(plan.path, LineString) and -180 <= plan.path.bounds[0] <= 180


def test_lawnmower_across_the_short_way_and_alternates():
    plan = lawnmower_plan(AOI, SWATH, angle_deg=0)  # north-south passes: 10 of 600 m
    assert plan.n_passes == 10
    assert plan.length_m == pytest.approx(10 * W + 9 * SWATH, rel=0.01)
    ys = [TO_M.transform(*c)[1] - Y0 for c in plan.path.coords]
    assert ys[0] == pytest.approx(0, abs=0.01) and ys[1] == pytest.approx(W, abs=0.01)
    assert ys[2] == pytest.approx(W, abs=0.01) and ys[3] == pytest.approx(0, abs=0.01)  # second pass comes back


def test_lawnmower_default_follows_the_long_side_of_a_rotated_rectangle():
    rotated = shapely.affinity.rotate(box(0, 0, L, W), 30, origin=(0, 0))  # long side at 30° from east = bearing 60°
    plan = lawnmower_plan(ll_poly(list(rotated.exterior.coords)), SWATH)
    assert plan.bearing_deg == pytest.approx(60.0, abs=0.01)
    assert (plan.n_passes, plan.length_m) == (N, pytest.approx(N * L + (N - 1) * SWATH, rel=0.01))


def test_lawnmower_on_non_convex_area_covers_it():
    l_shape = ll_poly([(0, 0), (600, 0), (600, 200), (200, 200), (200, 600), (0, 600)])
    plan = lawnmower_plan(l_shape, SWATH)
    res = coverage(l_shape, [flight_footprint(list(plan.path.coords), SWATH)])
    assert res.covered_fraction == pytest.approx(1.0, abs=1e-3)


# --------------------------------------------------------------------------------------------------- validation
def geo(ring):
    return {"type": "Polygon", "coordinates": [ring]}


def test_valid_polygon_round_trips():
    ring = [list(c) for c in AOI.exterior.coords]
    poly = polygon_from_geojson({"type": "Feature", "properties": {}, "geometry": geo(ring)})
    assert poly.equals(AOI)
    assert to_geojson(poly)["type"] == "Polygon"


def test_bow_tie_is_rejected_with_reason():
    bow_tie = [[120.60, 31.30], [120.61, 31.31], [120.61, 31.30], [120.60, 31.31], [120.60, 31.30]]
    with pytest.raises(PatrolGeometryError, match="invalid polygon: Self-intersection"):
        polygon_from_geojson(geo(bow_tie))


def test_unclosed_ring_is_rejected():
    with pytest.raises(PatrolGeometryError, match="exterior ring is not closed"):
        polygon_from_geojson(geo([[120.60, 31.30], [120.61, 31.30], [120.61, 31.31], [120.60, 31.31]]))


def test_latitude_out_of_range_is_rejected():
    with pytest.raises(PatrolGeometryError, match=r"point 1: latitude 95\.0 is outside \[-90, 90\]"):
        polygon_from_geojson(geo([[120.6, 31.3], [120.7, 95.0], [120.7, 31.3], [120.6, 31.3]]))


def test_swapped_axes_get_a_hint():
    with pytest.raises(PatrolGeometryError, match="swapped"):
        polygon_from_geojson(geo([[31.3, 120.6], [31.4, 120.6], [31.4, 120.7], [31.3, 120.6]]))


def test_too_few_distinct_points_and_bad_types():
    with pytest.raises(PatrolGeometryError, match="2 distinct points"):
        polygon_from_geojson(geo([[120.6, 31.3], [120.7, 31.3], [120.6, 31.3], [120.6, 31.3]]))
    with pytest.raises(PatrolGeometryError, match="Polygon or MultiPolygon, got 'Point'"):
        polygon_from_geojson({"type": "Point", "coordinates": [120.6, 31.3]})
    with pytest.raises(PatrolGeometryError, match="hole 1"):
        polygon_from_geojson({"type": "Polygon", "coordinates": [[list(c) for c in AOI.exterior.coords], []]})


def test_geojson_text_and_multipolygon():
    other = shapely.affinity.translate(AOI, 0.05, 0)
    text = shapely.to_geojson(shapely.MultiPolygon([AOI, other]))
    assert area_m2(polygon_from_geojson(text)) == pytest.approx(2 * L * W, rel=1e-3)
    assert math.isclose(area_m2(polygon_from_geojson(text).geoms[0]), L * W, rel_tol=1e-9)
