"""The city benchmark set, on a small city built the same way: the hierarchy tiles exactly,
codes follow the 6+3+3+3 profile, buildings never overlap and sit in exactly one basic grid,
camera IDs are valid GB/T 28181, incident steps are in order, same seed gives the same city."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from data import city
from gis import rules
from gis.vocab import INCIDENT_SOURCES, INCIDENT_STATUSES, INCIDENT_TYPES

SMALL = {"towns": 3, "communities_per_town": 4, "grids_per_community": 6}
N_BLD = 1_200


@pytest.fixture(scope="module")
def grids():
    return city.city_grids(**SMALL, crs=city.METRIC_EPSG)


@pytest.fixture(scope="module")
def buildings():
    return city.city_buildings(N_BLD, crs=city.METRIC_EPSG, **SMALL)


def test_counts_codes_and_names(grids):
    assert grids["level"].value_counts().sort_index().tolist() == [3, 12, 72]
    assert grids["code"].is_unique and grids["code"].str.startswith(city.COUNTY_CODE).all()
    assert (grids["code"].str.len() == 9 + 3 * grids["level"]).all()
    child = grids[grids["level"] > 0]
    assert all(c.startswith(p) for c, p in zip(child["code"], child["parent_code"]))
    assert grids.loc[grids["level"] == 0, "name"].str.endswith("街道").all()
    assert grids.loc[grids["level"] == 2, "name"].str.endswith("网格").all()


def test_every_level_tiles_its_parent_exactly(grids):
    boundary = city.city_boundary(**SMALL).to_crs(city.METRIC_EPSG).geometry.iloc[0]
    cfg = rules.RuleConfig(household_cap=None)
    found = rules.check_validity(grids) + rules.check_multipart(grids, cfg) + \
        rules.check_codes(grids, cfg) + rules.check_tiling(grids, cfg, boundary=boundary)
    assert found == []
    basic = grids[grids["level"] == 2].geometry.to_numpy()
    assert shapely.coverage_is_valid(basic)
    assert shapely.area(shapely.symmetric_difference(shapely.coverage_union_all(basic), boundary)) < 0.01  # m²


def test_basic_grids_look_digitised(grids):
    basic = grids[grids["level"] == 2]
    vertices = shapely.get_num_coordinates(basic.geometry.to_numpy())
    assert 50 <= np.median(vertices) <= 150       # ~100 in a whole city, fewer in its dense centre
    assert (shapely.area(basic.geometry.to_numpy()) > 5_000).all()   # m²: a block, not a sliver


def test_buildings_never_overlap_and_sit_in_exactly_one_grid(grids, buildings):
    geoms = buildings.geometry.to_numpy()
    assert len(buildings) == N_BLD and shapely.is_valid(geoms).all()
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (a == b).all()
    basic = grids[grids["level"] == 2]
    placed = rules.place_buildings(basic.geometry.to_numpy(), geoms)
    assert len(placed.unassigned) == 0 and placed.cut == {} and (placed.grid_index >= 0).all()
    assert all(code.startswith(g) for code, g in zip(buildings["code"], basic["code"].to_numpy()[placed.grid_index]))
    assert buildings["code"].is_unique
    area = shapely.area(geoms)
    assert 30 < np.median(area) < 600 and area.max() < 5_000
    res = buildings["residential"].to_numpy()
    assert (buildings.loc[res, "households"] >= 1).all() and (buildings.loc[~res, "households"] == 0).all()
    assert buildings["floors"].between(1, 200).all()


def test_cameras_have_valid_gb28181_ids_and_views(buildings):
    cams = city.city_cameras(1_000, buildings=buildings, **SMALL)
    ids = cams["gb_id"]
    assert ids.str.fullmatch(r"[0-9]{20}").all() and ids.is_unique
    assert ids.str[:6].eq(city.COUNTY_CODE).all() and ids.str[10:13].isin(["131", "132"]).all()
    assert ((cams["azimuth_deg"] >= 0) & (cams["azimuth_deg"] < 360)).all()
    assert cams.loc[cams["kind"] == "ptz", "hfov_deg"].eq(360).all()
    on_walls = shapely.STRtree(buildings.geometry.to_numpy()).query(
        cams.to_crs(city.METRIC_EPSG).geometry.to_numpy(), predicate="within")[0]
    assert len(np.unique(on_walls)) > 0.5 * len(cams)       # most hang on (just inside) a wall


def test_incident_steps_follow_the_closed_loop(buildings):
    inc = city.city_incidents(5_000, buildings=buildings, **SMALL)
    assert set(inc["type"]) <= set(INCIDENT_TYPES) and set(inc["source"]) <= set(INCIDENT_SOURCES)
    assert set(inc["status"]) <= set(INCIDENT_STATUSES)
    steps = ["occurred_at", "reported_at", "accepted_at", "handled_at", "resolved_at", "evaluated_at"]
    for a, b in zip(steps, steps[1:]):
        both = inc[a].notna() & inc[b].notna()
        assert (inc.loc[both, b] >= inc.loc[both, a]).all()
    reached = inc[steps[1:]].notna().sum(axis=1)
    assert (np.array(list(INCIDENT_STATUSES))[reached - 1] == inc["status"].to_numpy()).all()
    assert inc["occurred_at"].dt.tz_convert("Asia/Shanghai").dt.year.eq(2025).all()
    boundary = city.city_boundary(**SMALL).geometry.iloc[0]
    assert shapely.contains_xy(boundary, inc.geometry.x, inc.geometry.y).all()
    # hot spots: the densest 1% of 200 m cells hold far more than 1% of incidents
    xy = shapely.get_coordinates(inc.to_crs(city.METRIC_EPSG).geometry.to_numpy()) // 200
    counts = pd.Series(list(map(tuple, xy))).value_counts().to_numpy()
    assert counts[: max(1, len(counts) // 100)].sum() > 0.05 * len(inc)


def test_same_seed_same_city_other_seed_other_city(buildings):
    again = city.city_buildings(N_BLD, crs=city.METRIC_EPSG, **SMALL)
    assert again.drop(columns="geometry").equals(buildings.drop(columns="geometry"))
    assert shapely.equals_exact(again.geometry.to_numpy(), buildings.geometry.to_numpy(), 0).all()
    other = city.city_buildings(N_BLD, seed=7, crs=city.METRIC_EPSG, **SMALL)
    assert not shapely.equals_exact(other.geometry.to_numpy()[:50], buildings.geometry.to_numpy()[:50], 0).all()


def test_generate_city_writes_one_file_per_layer_and_reports_progress(tmp_path):
    seen = []
    paths = city.generate_city(tmp_path, progress=lambda what, n: seen.append((what, n)),
                               buildings=1_000, cameras=200, incidents=500, **SMALL)
    assert [w for w, _ in seen] == list(city.GENERATE_STEPS) and {n for _, n in seen} == {1}
    assert set(paths) == {"boundary", "grids", "buildings", "cameras", "incidents"}
    back = {k: pyogrio.read_info(p)["features"] for k, p in paths.items()}
    assert back == {"boundary": 1, "grids": 87, "buildings": 1_000, "cameras": 200, "incidents": 500}
    assert pyogrio.read_info(paths["buildings"])["crs"] == "EPSG:4326"
