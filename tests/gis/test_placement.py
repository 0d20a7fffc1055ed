"""Camera placement (gis.placement): lazy greedy on a hand-built scene, its bound, occlusion;
and the suggestion route on the demo town."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from gis import placement as pl


def _plan(demand, sites, buildings=(), budget=1, **kw):
    sx = [float(s[0]) for s in sites]
    sy = [float(s[1]) for s in sites]
    kw = {"hfov_deg": 60.0, "range_m": 40.0, "azimuth_step_deg": 90.0, "n_rays": 181} | kw
    return pl.suggest(demand, sx, sy, list(buildings), budget, **kw)


# north spot: 100 m² of weight 1; east spot: 100 m² of weight 3; both seen from the origin
NORTH, EAST = box(-5, 20, 5, 30), box(20, -5, 30, 5)


def test_demand_cells_take_the_highest_weight_once():
    d = pl.demand_cells([box(0, 0, 10, 10), box(5, 0, 15, 10)], weights=[1.0, 4.0], cell=1.0)
    assert len(d) == 150                                   # the overlap is one place, counted once
    assert d.w.sum() == pytest.approx(50 * 1 + 100 * 4)


def test_greedy_takes_the_biggest_weighted_blind_spot_first():
    d = pl.demand_cells([NORTH, EAST], weights=[1.0, 3.0], cell=1.0)
    plan = _plan(d, [(0, 0)], budget=2)
    s = plan.suggestions
    assert s["azimuth_deg"].tolist() == [90.0, 0.0]        # east (weight 3) first, then north
    assert s["gain_m2"].tolist() == [100.0, 100.0]
    assert s["gain_weighted"].tolist() == [300.0, 100.0]
    assert s["cumulative_weighted"].tolist() == [300.0, 400.0]
    assert s["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert plan.quality == pytest.approx(1.0)              # everything covered: optimal


def test_greedy_never_counts_a_covered_cell_twice():
    # one spot 30 m wide; sites west and east of it, both see all of it (domes)
    spot = box(-15, -5, 15, 5)
    d = pl.demand_cells([spot], cell=1.0)
    plan = _plan(d, [(-30, 0), (30, 0), (0, 30)], budget=3, hfov_deg=360.0, range_m=60.0)
    s = plan.suggestions
    assert len(s) == 1                                     # the second has no gain left: not chosen
    assert s["gain_m2"].sum() == pytest.approx(300.0)
    # the gains add up to the weight of the union of the chosen views, computed independently
    seen = pl.seen_by(d, s["view"].to_numpy())
    assert plan.achieved_weight == pytest.approx(d.w[seen].sum() * d.cell ** 2)


def test_partial_overlap_gain_is_only_the_new_cells():
    # two fixed sites whose 360° views overlap on the spot's middle third
    spot = box(0, -2, 60, 2)
    d = pl.demand_cells([spot], weights=[2.0], cell=1.0)
    plan = _plan(d, [(10, 0), (40, 0)], budget=2, hfov_deg=360.0, range_m=20.5)
    s = plan.suggestions
    first, second = s["gain_m2"].tolist()
    seen = pl.seen_by(d, s["view"].to_numpy())
    assert first + second == pytest.approx(seen.sum())     # overlap counted once
    assert s["gain_weighted"].tolist() == pytest.approx([2 * first, 2 * second])


def test_existing_cameras_are_fixed_and_their_cells_are_no_demand():
    d = pl.demand_cells([NORTH, EAST], weights=[1.0, 3.0], cell=1.0)
    existing = {"x": [0.0], "y": [0.0], "azimuth_deg": [90.0], "hfov_deg": [60.0], "range_m": [40.0]}
    plan = _plan(d, [(0, 0)], budget=1, existing=existing)
    s = plan.suggestions
    assert s["azimuth_deg"].tolist() == [0.0]              # east is already seen: north is the gap
    assert plan.demand_m2 == pytest.approx(100.0)
    assert s["gain_weighted"].tolist() == [100.0]


def test_wall_blocks_a_candidate_so_it_is_not_chosen():
    spot = box(0, 20, 10, 30)
    wall = box(-10, 8, 20, 9)                              # between site A and the spot
    d = pl.demand_cells([spot], cell=1.0)
    plan = _plan(d, [(5, 0), (40, 25)], buildings=[wall], budget=1, range_m=45.0)
    s = plan.suggestions
    assert s.geometry.x.tolist() == [40.0] and s["azimuth_deg"].tolist() == [270.0]
    # site A sees nothing of the spot at any azimuth (the wall hides it)
    cv = pl.candidate_views(d, [5.0], [0.0], [wall], 60.0, 45.0, 90.0, 181)
    assert all(len(cv.covered(v)) == 0 for v in range(len(cv)))


def test_bound_holds_against_brute_force_and_is_the_stated_minimum():
    rng = np.random.default_rng(7)
    spots = [box(x, y, x + 6, y + 6) for x, y in rng.uniform(-40, 40, (8, 2))]
    d = pl.demand_cells(spots, weights=rng.integers(1, 5, 8).astype(float), cell=1.0)
    sites = rng.uniform(-30, 30, (4, 2))
    budget = 3
    plan = _plan(d, sites, budget=budget, azimuth_step_deg=60.0, range_m=35.0)
    cv = pl.candidate_views(d, sites[:, 0], sites[:, 1], [], 60.0, 35.0, 60.0, 181)
    cover = [set(cv.covered(v).tolist()) for v in range(len(cv))]
    opt = max(sum(d.w[list(set().union(*(cover[v] for v in c)))]) for c in
              itertools.combinations(range(len(cv)), budget))
    area = d.cell ** 2
    assert plan.achieved_weight <= opt * area + 1e-9
    assert plan.achieved_weight >= (1 - 1 / math.e) * opt * area - 1e-9
    assert plan.upper_bound >= opt * area - 1e-9           # a true upper bound on the optimum
    singles = sorted((d.w[list(c)].sum() for c in cover), reverse=True)[:budget]
    assert plan.upper_bound <= sum(singles) * area + 1e-9
    assert plan.upper_bound <= plan.achieved_weight / (1 - 1 / math.e) + 1e-9
    assert plan.quality == pytest.approx(plan.achieved_weight / plan.upper_bound)


def test_one_per_site_uses_each_site_once():
    d = pl.demand_cells([NORTH, EAST], weights=[1.0, 3.0], cell=1.0)
    plan = _plan(d, [(0, 0)], budget=2, one_per_site=True)
    assert len(plan.suggestions) == 1 and plan.guarantee == 0.5


def test_corner_and_line_sites():
    c = pl.corner_sites([box(0, 0, 10, 5)], offset_m=0.2)
    assert len(c) == 4
    assert shapely.contains(box(0, 0, 10, 5), shapely.points(c)).all()   # just inside the wall
    l_sites = pl.line_sites([shapely.LineString([(0, 0), (100, 0)])], spacing_m=25, offset_m=5)
    assert len(l_sites) == 10 and set(np.round(np.abs(l_sites[:, 1]), 6)) == {5.0}


# ---- the route, on the demo town ------------------------------------------------------------
def _small_area(demo_town):
    """A 300 m square around the demo town's first key site (EPSG:4326 GeoJSON)."""
    import geopandas as gpd
    from api.db import repo
    from api.db.read import read_layer
    from api.db.session import transaction
    from api.layers import LAYERS
    with transaction() as s:
        j = repo.jurisdiction_by_code(s, demo_town)
        sites = read_layer(s, LAYERS["key_sites"], j).to_crs(j.metric_epsg)
        c = sites.geometry.iloc[0].centroid
        sq = gpd.GeoSeries([shapely.box(c.x - 150, c.y - 150, c.x + 150, c.y + 150)], crs=j.metric_epsg)
        return shapely.geometry.mapping(sq.to_crs(4326).iloc[0])


def test_suggest_is_refused_to_a_planner(client, demo_town):
    from tests.conftest import auth
    r = client.post("/api/v1/cameras/suggest", json={"jurisdiction": demo_town, "budget": 2},
                    headers=auth("planner"))
    assert r.status_code == 403
    assert "features" not in r.json()


def test_suggest_gives_police_ranked_cameras_with_decreasing_gains(client, demo_town):
    from tests.conftest import auth
    body = {"jurisdiction": demo_town, "budget": 3, "hfov_deg": 90, "range_m": 40, "spacing_m": 15,
            "area": _small_area(demo_town)}
    r = client.post("/api/v1/cameras/suggest", json=body, headers=auth("police"))
    assert r.status_code == 200, r.text
    fc = r.json()
    feats, summary = fc["features"], fc["summary"]
    assert 1 <= len(feats) <= 3
    assert [f["properties"]["rank"] for f in feats] == list(range(1, len(feats) + 1))
    gains = [f["properties"]["gain_weighted"] for f in feats]
    assert gains == sorted(gains, reverse=True) and gains[0] > 0        # greedy: gains never grow
    assert feats[-1]["properties"]["cumulative_weighted"] == pytest.approx(sum(gains), abs=0.01)
    assert all(f["geometry"]["type"] == "Point" and f["properties"]["view"]["type"] in ("Polygon", "MultiPolygon")
               for f in feats)
    assert summary["covered_weighted"] <= summary["upper_bound_weighted"] + 1e-6
    assert summary["at_least_share_of_optimum"] >= 1 - 1 / math.e - 1e-9
