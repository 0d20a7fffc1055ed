"""What a camera sees: hand-built scenes whose answers are worked out on paper, and random
scenes checked against the brute-force fine ray casting."""
import math

import numpy as np
import pytest
import shapely
import shapely.affinity
from shapely.geometry import Point, Polygon, box
from shapely.geometry.polygon import orient

from gis.views import (DORI_PPM, Scene, camera_arrays, dori_distances, dori_rings, reference_view, sectors,
                       visible_views)

METHODS = ("exact", "rays")
# area tolerance: the exact method is off only by the sector's polygonal arc; rays cut a
# sliver at every shadow edge (between the last ray that hits and the first that does not)
TOL = {"exact": 2e-3, "rays": 1e-2}


def cams(x, y, az, fov, rng):
    return {"x": np.atleast_1d(np.asarray(x, float)), "y": np.atleast_1d(np.asarray(y, float)),
            "azimuth_deg": np.atleast_1d(np.asarray(az, float)),
            "hfov_deg": np.atleast_1d(np.asarray(fov, float)), "range_m": np.atleast_1d(np.asarray(rng, float))}


def sector_area(fov_deg, r):
    return math.radians(fov_deg) / 2 * r * r


def iou(a, b):
    u = shapely.area(shapely.union(a, b))
    return np.where(u > 0, shapely.area(shapely.intersection(a, b)) / np.maximum(u, 1e-12), 1.0)


# ---------------------------------------------------------------------------------------------
# sectors

def test_sector_area_and_shape():
    s = sectors([0, 0], [0, 0], [0, 0], [90, 360], [50, 50])
    assert shapely.area(s[0]) == pytest.approx(sector_area(90, 50), rel=1e-3)
    assert shapely.area(s[1]) == pytest.approx(math.pi * 2500, rel=1e-3)
    assert s[1].contains(Point(0, 0)) and s[1].contains(Point(-49, 0))     # full disc
    assert s[0].contains(Point(0, 49)) and not s[0].contains(Point(0, -1))  # looks north
    assert shapely.is_valid(s).all()


@pytest.mark.parametrize("az, sign", [(0, (0, 1)), (90, (1, 0)), (180, (0, -1)), (270, (-1, 0))])
@pytest.mark.parametrize("method", METHODS)
def test_azimuth_is_compass_bearing(az, sign, method):
    """0 = north, clockwise: azimuth 90 looks east (centroid east of the camera)."""
    c = cams(100, 200, az, 60, 30)
    for view in (sectors(100, 200, az, 60, 30)[0], visible_views(c, [box(500, 500, 510, 510)], method)[0]):
        dx, dy = view.centroid.x - 100, view.centroid.y - 200
        assert np.sign(round(dx, 6)) == sign[0] and np.sign(round(dy, 6)) == sign[1]


# ---------------------------------------------------------------------------------------------
# occlusion, worked out by hand

WALL = box(-5, 10, 5, 11)                 # 10 m long, 1 m thick, 10 m north of the camera
HIDDEN_BEHIND_WALL = sector_area(2 * math.degrees(math.atan(0.5)), 50) - 50   # cone ∩ disc − triangle


@pytest.mark.parametrize("method", METHODS)
def test_wall_hides_what_is_behind_it(method):
    [view] = visible_views(cams(0, 0, 0, 90, 50), [WALL], method, n_rays=720)
    # behind the wall (inside its shadow cone, within range): nothing seen
    assert view.intersection(box(-2, 12, 2, 45)).area < 1e-6
    assert view.intersection(Polygon([(0, 11), (-22, 44), (22, 44)])).area < 0.5   # cone 11..44 m
    # in front of the wall: all seen (the triangle camera – wall ends, a hair short of the wall)
    front = Polygon([(0, 0.01), (-4.99, 9.99), (4.99, 9.99)])
    assert view.intersection(front).area == pytest.approx(front.area, rel=1e-6)
    # beside the shadow, beyond the wall: seen
    assert view.contains(Point(25, 40)) and view.contains(Point(-25, 40))
    # the area: quarter disc minus the shadow worked out by hand
    expected = sector_area(90, 50) - HIDDEN_BEHIND_WALL
    assert view.area == pytest.approx(expected, rel=TOL[method])


@pytest.mark.parametrize("method", METHODS)
def test_ptz_dome_sees_round_itself_minus_four_shadows(method):
    kiosks = [box(10, -2, 14, 2), box(-14, -2, -10, 2), box(-2, 10, 2, 14), box(-2, -14, 2, -10)]
    [view] = visible_views(cams(0, 0, 0, 360, 50), kiosks, method, n_rays=1440)
    one_shadow = sector_area(2 * math.degrees(math.atan(0.2)), 50) - 20   # cone − triangle in front
    assert view.area == pytest.approx(math.pi * 2500 - 4 * one_shadow, rel=TOL[method])
    for x, y in [(30, 0), (-30, 0), (0, 30), (0, -30), (12, 0)]:       # behind and in each kiosk
        assert not view.contains(Point(x, y))
    for x, y in [(30, 30), (-30, 30), (30, -30), (-30, -30), (0, 5), (5, 0), (0, -9)]:
        assert view.contains(Point(x, y))
    assert view.geom_type == "Polygon" and len(view.interiors) == 0


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("where", ["inside", "on_edge", "just_outside"])
def test_camera_on_its_own_building_still_sees_out(method, where):
    """A camera hung on the north wall of its building looks north: the building hides nothing."""
    home = box(0, 0, 20, 10)
    y = {"inside": 9.8, "on_edge": 10.0, "just_outside": 11.0}[where]
    c = cams(10, y, 0, 90, 40)
    [view] = visible_views(c, [home], method)
    assert view.area == pytest.approx(sector_area(90, 40), rel=2e-3)
    # a PTZ dome on the same wall sees round the full circle, its own building included
    [dome] = visible_views(cams(10, y, 0, 360, 40), [home], method, n_rays=720)
    assert dome.area == pytest.approx(math.pi * 1600, rel=2e-3)


@pytest.mark.parametrize("method", METHODS)
def test_other_buildings_still_hide_from_a_wall_camera(method):
    """Only the building the camera hangs on is ignored; a neighbour across the street hides."""
    home, across = box(0, 0, 20, 10), box(0, 20, 20, 30)
    [view] = visible_views(cams(10, 9.8, 0, 90, 40), [home, across], method, n_rays=720)
    assert view.intersection(box(5, 31, 15, 45)).area < 1e-6          # behind the neighbour
    assert view.contains(Point(10, 15))                                 # the street is seen
    # beyond the tolerance the home building is an ordinary occluder: 3 m out, looking at it
    [facing] = visible_views(cams(10, 13, 180, 90, 40), [home], method, n_rays=720)
    assert facing.intersection(box(2, -20, 18, 9)).area < 1e-6


@pytest.mark.parametrize("method", METHODS)
def test_own_tolerance_is_a_parameter(method):
    home = box(0, 0, 20, 10)
    c = cams(10, 12, 180, 60, 40)                                       # 2 m from the wall, facing it
    [blocked] = visible_views(c, [home], method)
    [ignored] = visible_views(c, [home], method, own_tolerance_m=2.5)
    assert blocked.area < 10 and ignored.area == pytest.approx(sector_area(60, 40), rel=2e-3)


def test_courtyard_building_and_l_shape_match_reference():
    """Non-convex footprints (a courtyard block with the camera in the yard, an L) cast their
    shadows edge by edge."""
    block = box(0, 0, 60, 60).difference(box(20, 20, 40, 40))
    ell = Polygon([(80, 0), (120, 0), (120, 10), (90, 10), (90, 40), (80, 40)])
    c = cams([30, 100, 70], [30, 30, 20], [0, 225, 90], [360, 90, 360], [60, 50, 40])
    ex, ref = visible_views(c, [block, ell]), reference_view(c, [block, ell])
    # in the yard the camera sees the yard and nothing else
    assert ex[0].area == pytest.approx(400, rel=1e-9)
    np.testing.assert_allclose(shapely.area(ex), shapely.area(ref), rtol=5e-3)
    assert (iou(ex, ref) > 0.995).all()


def test_views_are_valid_and_in_camera_order():
    rng = np.random.default_rng(1)
    b, c = random_scene(rng)
    for method in METHODS:
        v = visible_views(c, b, method)
        assert len(v) == len(c["x"]) and shapely.is_valid(v).all()
        sec = sectors(c["x"], c["y"], c["azimuth_deg"], c["hfov_deg"], c["range_m"])
        # every view lies within its own sector (up to the arc's polygon)
        outside = shapely.area(shapely.difference(v, shapely.buffer(sec, 0.05)))
        assert (outside < 1e-6).all()


def test_culling_hidden_footprints_changes_nothing():
    from gis.views import _exact, candidates
    rng = np.random.default_rng(7)
    b, c = random_scene(rng, n_buildings=60, n_cams=12)
    scene, ca = Scene.of(b), camera_arrays(c)
    sec = sectors(ca.x, ca.y, ca.azimuth_deg, ca.hfov_deg, ca.range_m)
    cand = candidates(ca, sec, scene.footprints, scene.tree)
    culled, full = _exact(ca, sec, cand, scene.rings, cull=True), _exact(ca, sec, cand, scene.rings, cull=False)
    np.testing.assert_allclose(shapely.area(culled), shapely.area(full), atol=1e-6)


def test_geodataframe_input_and_crs_checks():
    gpd = pytest.importorskip("geopandas")
    c = gpd.GeoDataFrame({"azimuth_deg": [0.0], "hfov_deg": [90.0], "range_m": [50.0]},
                         geometry=[Point(0, 0)], crs=32650)
    b = gpd.GeoDataFrame(geometry=[WALL], crs=32650)
    assert visible_views(c, b)[0].area == pytest.approx(sector_area(90, 50) - HIDDEN_BEHIND_WALL, rel=2e-3)
    with pytest.raises(ValueError, match="CRS differ"):
        visible_views(c, b.set_crs(32651, allow_override=True))
    with pytest.raises(ValueError, match="projected"):
        visible_views(c.set_crs(4326, allow_override=True), b.set_crs(4326, allow_override=True))


# ---------------------------------------------------------------------------------------------
# random scenes: exact vs the fine reference, and the fast rays vs exact

def random_scene(rng, n_buildings=30, n_cams=5, size=200.0):
    """Non-overlapping rotated rectangles and L-shapes; cameras on walls and in the open."""
    out = []
    while len(out) < n_buildings:
        x, y = rng.uniform(0, size, 2)
        w, d = rng.uniform(4, 25), rng.uniform(4, 15)
        g = box(-w / 2, -d / 2, w / 2, d / 2)
        if rng.random() < 0.25:                                       # an L
            g = g.difference(box(0, 0, w / 2, d / 2))
        g = shapely.affinity.rotate(shapely.affinity.translate(g, x, y), rng.uniform(0, 180))
        if not any(g.distance(o) < 2.0 for o in out):
            out.append(g)
    b = np.array(out, dtype=object)
    x, y = [], []
    while len(x) < n_cams:
        if len(x) % 2:                                                # on a wall, 0.2 m inside
            xy = np.asarray(orient(b[rng.integers(len(b))], 1.0).exterior.coords)
            k, t = rng.integers(len(xy) - 1), rng.uniform(0.2, 0.8)
            e = xy[k + 1] - xy[k]
            p = xy[k] + t * e + 0.2 * np.array([-e[1], e[0]]) / np.hypot(*e)   # left of a ccw ring
            x.append(p[0]), y.append(p[1])
        else:
            p = Point(rng.uniform(0, size, 2))
            if all(p.distance(o) > 3 for o in b):
                x.append(p.x), y.append(p.y)
    fov = np.where(rng.random(n_cams) < 0.3, 360.0, rng.uniform(40, 110, n_cams))
    return b, cams(x, y, rng.uniform(0, 360, n_cams), fov, rng.uniform(25, 90, n_cams))


@pytest.fixture(scope="module")
def scenes():
    rng = np.random.default_rng(20261121)
    out = []
    for _ in range(20):
        b, c = random_scene(rng)
        out.append((b, c, visible_views(c, b), reference_view(c, b, n_rays=3600)))
    return out


def same_points(a, b, c, rng, n=4000):
    """Share of random points of the camera's range disc that both views put on the same
    side (membership tests are cheap; overlays of the 4,000-vertex reference are not)."""
    x = c["x"][:, None] + rng.uniform(-1, 1, (len(a), n)) * c["range_m"][:, None]
    y = c["y"][:, None] + rng.uniform(-1, 1, (len(a), n)) * c["range_m"][:, None]
    return np.array([(shapely.contains_xy(p, xi, yi) == shapely.contains_xy(q, xi, yi)).mean()
                     for p, q, xi, yi in zip(a, b, x, y)])


def test_exact_agrees_with_fine_reference_on_20_random_scenes(scenes):
    rng = np.random.default_rng(0)
    for b, c, ex, ref in scenes:
        a_ex, a_ref = shapely.area(ex), shapely.area(ref)
        assert (np.abs(a_ex - a_ref) <= 0.01 * a_ref + 0.05).all(), (a_ex, a_ref)
        assert a_ex.sum() == pytest.approx(a_ref.sum(), rel=2e-3)
        assert (same_points(ex, ref, c, rng) >= 0.998).all()       # the same shape, not only area


def test_fast_rays_agree_with_exact(scenes):
    ious = []
    for b, c, ex, _ in scenes:
        fast = visible_views(c, b, "rays")
        ious.append(iou(fast, ex))
    ious = np.concatenate(ious)
    assert np.median(ious) >= 0.98
    assert np.percentile(ious, 10) >= 0.9


# ---------------------------------------------------------------------------------------------
# DORI

def test_dori_distances_match_the_formula():
    res, fov = np.array([1920, 2560, 3840]), np.array([90.0, 60.0, 30.0])
    d = dori_distances(res, fov)
    assert list(d) == ["identification", "recognition", "observation", "detection"]
    for name, ppm in DORI_PPM.items():
        np.testing.assert_allclose(d[name], res / (2 * np.tan(np.radians(fov) / 2) * ppm))
    assert d["identification"][0] == pytest.approx(3.84) and d["detection"][0] == pytest.approx(38.4)
    assert np.isnan(dori_distances([1920], [360])["detection"][0])          # a dome needs its lens fov


def test_dori_rings_partition_the_visible_view():
    c = cams(0, 0, 0, 90, 50)
    [view] = visible_views(c, [WALL])
    rings = dori_rings(c, [view], [3840])          # 4K, 90°: 7.7 / 15.4 / 31.0 / 76.8 m
    d = dori_distances([3840], [90])
    g = [r[0] for r in rings.values()]
    for a, b in zip(g, g[1:]):
        assert a.intersection(b).area < 1e-6
    assert shapely.union_all(g).area == pytest.approx(view.area, rel=1e-6)     # detection > range
    assert g[0].area == pytest.approx(sector_area(90, d["identification"][0]), rel=2e-3)   # before the wall
    assert g[2].intersection(box(-2, 12, 2, 31)).area < 1e-6          # the wall's shadow stays dark
    # a PTZ dome: rings from its lens field of view
    dome = cams(0, 0, 0, 360, 30)
    r = dori_rings(dome, sectors(0, 0, 0, 360, 30), [1920], lens_hfov_deg=[60.0])
    ident = 1920 / (2 * math.tan(math.radians(30)) * 250)
    assert r["identification"][0].area == pytest.approx(math.pi * ident ** 2, rel=2e-3)


@pytest.mark.parametrize("method", METHODS)
def test_no_buildings_no_cameras_and_awkward_footprints(method):
    c = cams([0, 0], [0, 0], [0, 0], [90, 360], [30, 30])
    np.testing.assert_allclose(shapely.area(visible_views(c, [], method)),
                               [sector_area(90, 30), math.pi * 900], rtol=TOL[method])
    assert len(visible_views(cams([], [], [], [], []), [WALL], method)) == 0
    # an L whose edge x = 0 points straight at the camera, and a two-part footprint
    ell = Polygon([(0, 10), (0, 20), (5, 20), (5, 15), (10, 15), (10, 10)])
    two = shapely.MultiPolygon([box(-20, -5, -15, 5), box(15, -5, 20, 5)])
    v, ref = visible_views(c, [ell, two], method), reference_view(c, [ell, two])
    assert shapely.is_valid(v).all()
    np.testing.assert_allclose(shapely.area(v), shapely.area(ref), rtol=2 * TOL[method])
