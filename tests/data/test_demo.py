"""The demo town generator: determinism, size, the grid rules, cameras, incidents, staff and
the sample defects — checked with plain shapely / pandas in the metric CRS (EPSG:32650)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from data.demo import (DEFAULT_SEED, DEFECT_TOWN_CODE, INDUSTRY, TOWN_CODE, DemoTown,
                       decode_gb28181, generate_town)
from gis.vocab import (INCIDENT_SOURCES, INCIDENT_STATUSES, INCIDENT_TYPES, KEY_SITE_CATEGORIES,
                       ROAD_CLASSES, SERVICE_CENTRE_LEVELS)
from tests.data.towns import cached_town

CAP = 200
LAYERS = ("grids", "buildings", "roads", "key_sites", "key_site_entrances", "service_centres",
          "cameras", "incidents", "hot_spots")


@pytest.fixture(scope="module")
def town() -> DemoTown:
    return cached_town(False)


@pytest.fixture(scope="module")
def bad() -> DemoTown:
    return cached_town(True)


@pytest.fixture(scope="module")
def m(town):
    """The clean town's layers in the metric CRS, reprojected from what would be stored."""
    return {k: town.metric(k) for k in LAYERS}


def _basic(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return grids[grids["level"] == 2]


def _grids_touched(basic: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, min_area: float = 0.01):
    """For each building: the basic grids it overlaps by more than ``min_area`` m²."""
    tree = shapely.STRtree(basic.geometry.to_numpy())
    b, g = tree.query(buildings.geometry.to_numpy(), predicate="intersects")
    area = shapely.area(shapely.intersection(buildings.geometry.to_numpy()[b], basic.geometry.to_numpy()[g]))
    keep = area > min_area
    codes = basic["code"].to_numpy()
    out = [[] for _ in range(len(buildings))]
    for i, j in zip(b[keep], g[keep]):
        out[i].append(codes[j])
    return out


def _households_per_grid(basic, buildings) -> pd.Series:
    pts = shapely.point_on_surface(buildings.geometry.to_numpy())
    g, b = shapely.STRtree(pts).query(basic.geometry.to_numpy(), predicate="contains")
    hh = np.bincount(g, weights=buildings["households"].to_numpy()[b], minlength=len(basic))
    return pd.Series(hh.astype(int), index=basic["code"].to_numpy())


# ---------------------------------------------------------------------------------------------
# determinism, place, size

def test_same_seed_gives_the_same_town_bit_for_bit(town):
    """Generated afresh in another process (another string-hash seed, no shared state)."""
    code = "from data.demo import generate_town, DEFAULT_SEED; print(generate_town(DEFAULT_SEED).digest())"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=Path(__file__).resolve().parents[2], check=True)
    assert out.stdout.strip() == town.digest()


def test_another_seed_gives_another_town_in_seconds(town):
    t0 = time.process_time()
    other = generate_town(seed=DEFAULT_SEED + 1)
    assert time.process_time() - t0 < 20               # about 3 s of CPU on the reference machine
    assert not other.layers["grids"].geometry.iloc[0].equals(town.layers["grids"].geometry.iloc[0])
    assert 60 <= (other.layers["grids"]["level"] == 2).sum() <= 100


def test_a_fictional_town_at_a_real_place(town):
    assert town.code == TOWN_CODE == "330521199" and town.code.startswith("330521")
    assert "演示" in town.name and "synthetic" in town.name_en.lower()
    c = town.boundary.union_all().centroid
    assert abs(c.x - 119.97) < 0.03 and abs(c.y - 30.54) < 0.03
    area_km2 = town.metric("grids").geometry[town.layers["grids"]["level"] == 0].area.iloc[0] / 1e6
    assert 8 < area_km2 < 30


def test_counts_are_those_of_a_believable_town(town):
    g, b = town.layers["grids"], town.layers["buildings"]
    villages = g[g["level"] == 1]
    assert (g["level"] == 0).sum() == 1
    assert 6 <= len(villages) <= 10
    assert villages["name"].str.endswith("社区").sum() >= 2 and villages["name"].str.endswith("村").sum() >= 2
    assert 60 <= (g["level"] == 2).sum() <= 100
    assert 3000 <= len(b) <= 5000
    assert 17_000 <= b["households"].sum() <= 23_000          # about 20,000 (±15%)
    flats = b[b["kind"] == "apartment"]["households"]
    houses = b[b["kind"] == "house"]["households"]
    assert flats.between(20, 120).all() and len(flats) > 50
    assert houses.between(1, 3).all() and len(houses) > 2000
    nonres = b[~b["residential"]]
    assert len(nonres) > 100 and (nonres["households"] == 0).all()
    assert 500 <= len(town.layers["cameras"]) <= 1000
    assert len(town.layers["incidents"]) == 20_000


def test_codes_extend_the_division_code_in_reading_order(town):
    g = town.layers["grids"]
    top = g[g["level"] == 0]["code"].iloc[0]
    assert top == town.code
    assert g["code"].is_unique
    for lv, n in ((1, 12), (2, 15)):
        rows = g[g["level"] == lv]
        assert (rows["code"].str.len() == n).all()
        assert all(c.startswith(p) for c, p in zip(rows["code"], rows["parent_code"]))
    v = g[g["level"] == 1]
    suffix = v["code"].str[-3:].astype(int)
    assert ((suffix < 200) == v["name"].str.endswith("社区")).all()  # 居委会 0xx, 村委会 2xx
    gm = town.metric("grids")
    y = gm.geometry.representative_point().y
    for parent, sib in gm[gm["level"] == 2].groupby("parent_code"):
        if len(sib) >= 4:
            first = sib.sort_values("code").index[0]
            assert y[first] >= np.median(y[sib.index]), parent  # numbering starts in the north


# ---------------------------------------------------------------------------------------------
# grid rules

def test_every_level_tiles_its_parent_exactly(town, m):
    g = m["grids"]
    geoms = dict(zip(g["code"], g.geometry))
    assert (shapely.get_num_geometries(g.geometry.to_numpy()) == 1).all()   # one piece each
    assert shapely.is_valid(g.geometry.to_numpy()).all()
    for parent, sib in g[g["level"] > 0].groupby("parent_code"):
        cells = sib.geometry.to_numpy()
        assert shapely.coverage_is_valid(cells), parent
        assert shapely.is_empty(shapely.coverage_invalid_edges(cells)).all(), parent
        union = shapely.coverage_union_all(cells)
        assert shapely.area(shapely.symmetric_difference(union, geoms[parent])) < 1e-6, parent
    boundary = town.boundary.to_crs(32650).iloc[0]
    assert shapely.area(shapely.symmetric_difference(boundary, geoms[town.code])) < 1e-6


def test_every_home_in_exactly_one_basic_grid_none_cut(m):
    basic, b = _basic(m["grids"]), m["buildings"]
    touched = _grids_touched(basic, b)
    res = b["residential"].to_numpy()
    assert all(len(t) == 1 for t, r in zip(touched, res) if r)
    tree = shapely.STRtree(basic.geometry.to_numpy())
    inside = np.zeros(len(b), bool)
    i, _ = tree.query(b.geometry.to_numpy(), predicate="within")
    inside[i] = True
    assert inside.all()                                    # every building, homes or not


def test_footprints_overlap_neither_each_other_nor_roads(m):
    b, r = m["buildings"].geometry.to_numpy(), m["roads"]
    i, j = shapely.STRtree(b).query(b, predicate="intersects")
    assert ((i == j) | (i > j)).sum() == len(b) and (i < j).sum() == 0
    carriageway = shapely.buffer(r.geometry.to_numpy(), r["width_m"].to_numpy() / 2, cap_style="flat")
    assert len(shapely.STRtree(carriageway).query(b, predicate="intersects")[0]) == 0


def test_basic_grids_stay_under_the_household_cap(m):
    hh = _households_per_grid(_basic(m["grids"]), m["buildings"])
    assert hh.max() <= CAP
    assert hh.min() >= 0.5 * CAP                           # similar sizes (规模相当)
    stored = m["grids"].set_index("code")["households"]
    assert (stored[hh.index] == hh).all()


def test_roads_have_classes_widths_and_follow_grid_edges(m, town):
    r = m["roads"]
    assert set(r["road_class"]) == set(ROAD_CLASSES)
    assert (shapely.get_type_id(r.geometry.to_numpy()) == 1).all()   # LineStrings
    assert r.groupby("road_class")["width_m"].min()["provincial"] > r.groupby("road_class")["width_m"].max()["lane"]
    edges = shapely.union_all(shapely.boundary(_basic(m["grids"]).geometry.to_numpy()))
    on_edges = shapely.length(shapely.intersection(shapely.union_all(r.geometry.to_numpy()), edges.buffer(0.5)))
    assert on_edges > 0.25 * edges.length / 2          # a good share of grid edges are roads


# ---------------------------------------------------------------------------------------------
# key sites, service centres, cameras

def test_key_sites_of_every_category_with_gates(m):
    k, e = m["key_sites"], m["key_site_entrances"]
    assert set(k["category"]) == set(KEY_SITE_CATEGORIES)
    assert k["name"].is_unique
    assert (shapely.get_type_id(k.geometry.to_numpy()) == 6).all()   # MultiPolygons
    sites = k.set_index("name").geometry
    d = [sites[n].boundary.distance(p) for n, p in zip(e["site_name"], e.geometry)]
    assert max(d) < 0.01                                   # gates on the site's edge
    for cat in ("school", "hospital", "residential_estate", "party_government"):
        assert set(k[k["category"] == cat]["name"]) <= set(e["site_name"]), cat


def test_service_centres_at_town_and_village_level(town):
    sc = town.layers["service_centres"]
    assert set(sc["level"]) <= set(SERVICE_CENTRE_LEVELS)
    assert (sc["level"] == "town").sum() == 1
    assert (sc["level"] == "village").sum() == (town.layers["grids"]["level"] == 1).sum()
    assert sc["phone"].str.fullmatch(r"0572-[0-9]{8}").all()


def test_camera_ids_are_valid_gb28181_and_decodable(town):
    c = town.layers["cameras"]
    assert c["gb_id"].is_unique
    assert c["gb_id"].str.fullmatch(r"[0-9]{20}").all()
    parts = pd.DataFrame([decode_gb28181(x) for x in c["gb_id"]])
    assert (parts["centre"] == "330521" + TOWN_CODE[-2:]).all() and (parts["admin"] == "330521").all()
    assert set(parts["industry"]) <= set(INDUSTRY)
    assert {"00", "01", "11", "80"} <= set(parts["industry"]) and parts["industry"].str.startswith("4").any()
    assert set(parts["type"]) == {"131", "132"}
    assert set(parts["network"]) <= set("5678")
    assert (parts["industry"] == c["industry_code"]).all()
    with pytest.raises(ValueError):
        decode_gb28181("3305219900132500001")
    from gis import kpi                                    # the product's own decoder agrees
    decoded = [kpi.decode(x) for x in c["gb_id"]]
    assert all(d.industry.en != "Unknown" and d.admin_code == "330521" for d in decoded)
    assert [d.network.code for d in decoded] == list(parts["network"])


def test_camera_views_and_status(town, m):
    c = town.layers["cameras"]
    ptz = c["kind"] == "ptz"
    assert ptz.sum() >= 10 and (c.loc[ptz, "hfov_deg"] == 360).all()
    assert c.loc[~ptz, "hfov_deg"].between(40, 100).all()
    assert c["range_m"].between(20, 80).all() and c["azimuth_deg"].between(0, 360, inclusive="left").all()
    assert 0.80 <= c["networked"].mean() <= 0.90       # ~15% not networked
    assert 0.02 <= 1 - c["online"].mean() <= 0.04        # ~3% offline
    assert c["documented"].mean() >= 0.85
    assert (c["owner"].isna() == ~c["documented"]).all()  # an undocumented camera has no record
    # wall cameras sit on or just inside their building and look away from it
    cam, b = m["cameras"], m["buildings"].geometry.to_numpy()
    i, j = shapely.STRtree(b).query(cam.geometry.to_numpy(), predicate="dwithin", distance=0.01)
    assert len(set(i)) > 0.3 * len(cam)
    az = np.radians(cam["azimuth_deg"].to_numpy()[i])
    xy = shapely.get_coordinates(cam.geometry.to_numpy()[i])
    ahead = shapely.points(xy[:, 0] + 3 * np.sin(az), xy[:, 1] + 3 * np.cos(az))
    blocked = shapely.contains(b[j], ahead)
    assert blocked.mean() < 0.02
    # nothing stands deep inside a building: a camera inside a footprint is on its wall
    i, j = shapely.STRtree(b).query(cam.geometry.to_numpy(), predicate="within")
    assert (shapely.distance(shapely.boundary(b[j]), cam.geometry.to_numpy()[i]) < 0.5).all()


# ---------------------------------------------------------------------------------------------
# incidents

def test_incidents_follow_the_closed_loop(town, m):
    inc = town.layers["incidents"]
    assert set(inc["type"]) == set(INCIDENT_TYPES) and set(inc["source"]) <= set(INCIDENT_SOURCES)
    assert set(inc["status"]) <= set(INCIDENT_STATUSES)
    steps = ["occurred_at", "reported_at", "accepted_at", "handled_at", "resolved_at", "evaluated_at"]
    t = inc[steps]
    assert (t["reported_at"] >= t["occurred_at"] - pd.Timedelta(minutes=1)).all()
    for a, b in zip(steps[1:], steps[2:]):
        both = t[a].notna() & t[b].notna()
        assert (t.loc[both, b] >= t.loc[both, a]).all(), b
        assert not (t[a].isna() & t[b].notna()).any(), b       # no step skipped
    steps_done = t[steps[2:]].notna().sum(axis=1)              # after the report
    assert (steps_done == inc["status"].map({s: i for i, s in enumerate(INCIDENT_STATUSES)})).all()
    assert inc["status"].value_counts().idxmax() == "evaluated"
    year = inc["occurred_at"].dt.year
    assert (year == year.iloc[0]).all()
    town_poly = m["grids"].geometry[m["grids"]["level"] == 0].iloc[0]
    assert shapely.contains(town_poly, m["incidents"].geometry.to_numpy()).all()


def test_incident_hot_spots_are_real(town, m):
    pts = shapely.get_coordinates(m["incidents"].geometry.to_numpy())
    x0, y0, x1, y1 = m["grids"].total_bounds
    ix, iy = ((pts[:, 0] - x0) // 100).astype(int), ((pts[:, 1] - y0) // 100).astype(int)
    nx, ny = int((x1 - x0) // 100) + 1, int((y1 - y0) // 100) + 1
    counts = np.bincount(ix * ny + iy, minlength=nx * ny)
    top = np.sort(counts)[::-1][: int(np.ceil(0.01 * nx * ny))]
    assert top.sum() / len(pts) > 0.15                  # 1% of the cells, >15% of incidents
    threshold = np.sort(counts)[::-1][int(0.02 * nx * ny)]
    spots = m["hot_spots"].set_index("name").geometry
    for name in ("market", "square", "nightlife"):
        p = spots[name].interpolate(0.5, normalized=True) if spots[name].geom_type == "LineString" else spots[name]
        near = (np.abs(pts[:, 0] - p.x) < 50) & (np.abs(pts[:, 1] - p.y) < 50)
        assert near.sum() >= threshold, name               # a top-2% cell's worth around it


def test_incidents_have_a_weekly_and_seasonal_rhythm(town):
    inc = town.layers["incidents"]
    month = inc["occurred_at"].dt.month.value_counts()
    assert month[[6, 7, 8]].mean() > 1.2 * month[[11, 12]].mean()
    night = inc[inc["spot"] == "nightlife"]
    dow = night["occurred_at"].dt.day_of_week.value_counts()
    assert dow[[5, 6]].mean() > 1.3 * dow[[0, 1, 2, 3]].mean()


# ---------------------------------------------------------------------------------------------
# staff

def test_every_grid_is_staffed(town):
    a, g = town.assignments, town.layers["grids"]
    per = a.groupby(["grid_code", "role"])["staff_key"].nunique().unstack(fill_value=0)
    assert (per.loc[g["code"], "responsible"] >= 2).all()
    managers = per.loc[g[g["level"] == 2]["code"], "grid_manager"]
    assert managers.between(2, 3).all()
    assert (per.loc[g[g["level"] == 1]["code"], "police"] == 1).all()
    resp = a[a["role"] == "responsible"].groupby("staff_key")["grid_code"].nunique()
    assert resp.max() > 1                                  # village cadres answer for several grids


def test_staff_have_chinese_names_and_synthetic_phones(town):
    s = town.staff
    assert s["name"].is_unique and s["name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
    assert s["phone"].is_unique and s["phone"].str.fullmatch(r"1990000[0-9]{4}").all()


# ---------------------------------------------------------------------------------------------
# the sample defects

def test_defects_variant_is_the_clean_town_plus_six_mistakes(town, bad):
    assert bad.code == DEFECT_TOWN_CODE and bad.with_defects and not town.defects
    assert Counter(d["kind"] for d in bad.defects) == Counter(
        ["overlap", "gap", "over_cap", "building_outside", "building_cut", "understaffed"])
    assert len(bad.layers["buildings"]) == len(town.layers["buildings"]) + 2
    changed = (shapely.to_wkb(bad.layers["grids"].geometry.to_numpy())
               != shapely.to_wkb(town.layers["grids"].geometry.to_numpy()))
    assert changed.sum() == 2                               # the overlap's and the gap's grid


def test_each_defect_is_found_exactly_once(bad):
    g, b = bad.metric("grids"), bad.metric("buildings")
    d = {x["kind"]: x for x in bad.defects}
    basic = _basic(g)
    geoms = dict(zip(g["code"], g.geometry))
    # overlap: sibling grids whose interiors intersect
    pairs = []
    for parent, sib in basic.groupby("parent_code"):
        cells, codes = sib.geometry.to_numpy(), sib["code"].to_numpy()
        i, j = shapely.STRtree(cells).query(cells, predicate="intersects")
        k = (i < j) & shapely.relate_pattern(cells[i], cells[j], "T********")
        pairs += [sorted([codes[a], codes[c]]) for a, c in zip(i[k], j[k])]
    assert pairs == [sorted(d["overlap"]["grids"])]
    area = shapely.area(shapely.intersection(geoms[pairs[0][0]], geoms[pairs[0][1]]))
    assert area == pytest.approx(d["overlap"]["area_m2"], abs=0.1) and area > 100
    # gap: part of a parent covered by none of its children
    gaps = []
    for parent, sib in basic.groupby("parent_code"):
        rest = shapely.difference(geoms[parent], shapely.union_all(sib.geometry.to_numpy()))
        gaps += [(parent, p.area) for p in shapely.get_parts(rest) if p.area > 1.0]
    assert [p for p, _ in gaps] == [d["gap"]["parent"]] and gaps[0][1] > 100
    # homes: outside every basic grid, and cut by a boundary
    touched = _grids_touched(basic, b, min_area=0.5)
    res = b["residential"].to_numpy()
    outside = [c for c, t, r in zip(b["code"], touched, res) if r and not t]
    cut = [(c, sorted(t)) for c, t, r in zip(b["code"], touched, res) if r and len(t) > 1]
    assert outside == [d["building_outside"]["building"]]
    assert cut == [(d["building_cut"]["building"], sorted(d["building_cut"]["grids"]))]
    # over the cap
    hh = _households_per_grid(basic, b)
    assert list(hh[hh > CAP].index) == [d["over_cap"]["grid"]]
    # a grid with a single staff member
    staff = bad.assignments.groupby("grid_code")["staff_key"].nunique()
    assert list(staff[staff == 1].index) == [d["understaffed"]["grid"]]
    assert staff.drop(d["understaffed"]["grid"]).min() >= 3


def test_gis_rules_agree_clean_and_with_defects(town, bad):
    from gis import rules
    found = {}
    for t in (town, bad):
        g = t.metric("grids")
        v = rules.validate(g, rules.RuleConfig(), boundary=g.geometry[g["level"] == 0].iloc[0],
                           buildings=t.metric("buildings"), assignments=t.assignments)
        found[t.code] = Counter(x.kind for x in v)
    assert found[town.code] == Counter()
    assert found[bad.code] == Counter(["overlap", "gap", "over_cap", "building_unassigned", "building_cut",
                                       "understaffed"])


def test_addresses_and_building_codes(town):
    b = town.layers["buildings"]
    assert b["code"].is_unique and b["code"].str.fullmatch(TOWN_CODE + r"B[0-9]{5}").all()
    assert b["address"].notna().all()
    rural = b[b["kind"] == "house"]["address"]
    assert rural.str.contains(r"村.+[0-9]+号$").mean() > 0.5
    assert b["address"].map(lambda a: bool(re.search(r"[0-9]+号", a))).all()
