"""Coverage, multiplicity raster and blind spots on hand-built sites and random camera views."""
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box

from gis.coverage import (blind_spots, coverage_raster, coverage_union, raster_grid, raster_to_polygons,
                          share_covered)
from gis.views import visible_views
from tests.gis.test_views import random_scene


@pytest.fixture(scope="module")
def views():
    b, c = random_scene(np.random.default_rng(5), n_buildings=40, n_cams=24)
    return visible_views(c, b)


def centres(rows, cols, t):
    cc, rr = np.meshgrid(np.arange(cols), np.arange(rows))
    return t[2] + (cc + 0.5) * t[0], t[5] - (rr + 0.5) * t[0]


def test_counts_are_the_views_containing_each_cell_centre(views):
    bounds = (-50.0, -50.0, 260.0, 250.0)
    counts, t = coverage_raster(views, bounds, cell=2.0)
    rows, cols, _ = raster_grid(bounds, 2.0)
    assert counts.shape == (rows, cols) and t == (2.0, 0.0, -50.0, 0.0, -2.0, 250.0)
    x, y = centres(rows, cols, t)
    expected = sum(shapely.contains_xy(v, x, y).astype(int) for v in views)
    # a centre lying exactly on a view's edge may fall either side: allow none of those
    assert (counts == expected).mean() > 0.9999
    assert counts.max() >= 3                        # the random cameras do overlap


def test_raster_areas_match_exact_overlaps_within_cell_error(views):
    cell = 2.0
    counts, t = coverage_raster(views, (-100, -100, 300, 300), cell=cell)
    once = coverage_union(views)
    pairs = [shapely.intersection(a, b) for i, a in enumerate(views) for b in views[i + 1:]]
    twice = shapely.union_all(np.array(pairs, dtype=object))
    for k, exact in ((1, once), (2, twice)):
        raster_area = (counts >= k).sum() * cell * cell
        # cells cut by the boundary can each be off by one cell: error <= perimeter × cell
        assert abs(raster_area - exact.area) <= exact.length * cell, (k, raster_area, exact.area)
        assert abs(raster_area - exact.area) <= 0.02 * exact.area
    # every view counted once per cell: the raster total is the sum of the view areas
    assert counts.sum() * cell * cell == pytest.approx(shapely.area(views).sum(), rel=0.01)


def test_raster_handles_holes_multipolygons_and_edges_of_the_grid():
    donut = box(0, 0, 10, 10).difference(box(4, 4, 6, 6))
    two = shapely.MultiPolygon([box(20, 0, 22, 2), box(24, 0, 26, 2)])
    outside = box(-30, -30, -20, -20)
    counts, t = coverage_raster([donut, two, outside, None, shapely.Polygon()], (0, 0, 30, 10), cell=1.0)
    assert counts[:, :10].sum() == 96 and counts[4:6, 4:6].sum() == 0     # the hole stays empty
    assert counts[:, 20:26].sum() == 8 and counts.max() == 1
    g = raster_to_polygons(counts > 0, t)
    assert g.area == 104 and g.equals(shapely.union_all([donut, two]))


def test_raster_to_polygons_is_exact_to_the_cells():
    rng = np.random.default_rng(3)
    mask = rng.random((40, 60)) < 0.45
    t = (2.0, 0.0, 1000.0, 0.0, -2.0, 5000.0)
    g = raster_to_polygons(mask, t)
    assert g.is_valid and g.area == mask.sum() * 4.0
    x, y = centres(*mask.shape, t)
    assert (shapely.contains_xy(g, x, y) == mask).all()
    assert raster_to_polygons(np.zeros((3, 3), bool), t).is_empty


def test_blind_spots_of_a_half_covered_square_are_the_other_half():
    site = box(0, 0, 100, 100)
    seen = box(-20, -10, 50, 120)                  # a view covering the west half (and more)
    spots = blind_spots([site], seen, min_area_m2=10)
    assert len(spots) == 1 and spots["place"][0] == 0
    assert spots["area_m2"][0] == pytest.approx(5000.0)
    assert spots.geometry[0].equals(box(50, 0, 100, 100))
    # the raster route gives the same half when the view's edges fall on cell edges
    counts, t = coverage_raster([seen], (0, 0, 100, 100), cell=2.0)
    spots_r = blind_spots([site], raster_to_polygons(counts > 0, t), min_area_m2=10)
    assert spots_r.geometry[0].equals(box(50, 0, 100, 100))
    assert share_covered([site], seen)[0] == pytest.approx(0.5)


def test_blind_spots_below_the_minimum_area_are_dropped_and_sorted():
    sites = np.array([box(0, 0, 100, 100), box(200, 0, 210, 10), box(300, 0, 301, 1)], dtype=object)
    seen = shapely.union_all([box(0, 0, 100, 60), box(0, 60, 97, 100), box(200, 0, 205, 10)])
    spots = blind_spots(sites, seen, min_area_m2=50)
    assert spots["place"].tolist() == [0, 1]           # 3 m × 40 m strip, then 5 m × 10 m
    assert spots["area_m2"].tolist() == pytest.approx([120.0, 50.0])
    assert len(blind_spots(sites, seen, min_area_m2=0.5)) == 3      # the 1 m² site unseen too


def test_share_covered_and_union(views):
    u = coverage_union(views)
    assert u.area == pytest.approx(shapely.union_all(views).area)
    sites = np.array([u.buffer(-1).envelope, Point(1e6, 1e6).buffer(10), box(0, 0, 0, 0)], dtype=object)
    share = share_covered(sites, u)
    assert 0 < share[0] < 1 and share[1] == 0 and np.isnan(share[2])
    assert share_covered([u.buffer(-0.5)], u)[0] == pytest.approx(1.0)
