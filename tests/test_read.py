"""The shared read path: filters and derived fields against a small hand-built town."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import MultiPolygon, box

from api.db import bulk, read, repo
from api.db.session import transaction
from api.layers import LAYERS


def _tiny_town(make_jurisdiction):
    j = make_jurisdiction(x0=119.95, y0=30.52, size_deg=0.02)
    code = j.code
    grids = gpd.GeoDataFrame({
        "code": [code, code + "001", code + "001001", code + "001002"],
        "name": ["测试镇", "一村", "一村一格", "一村二格"],
    }, geometry=[MultiPolygon([box(119.95, 30.52, 119.97, 30.54)]),
                 MultiPolygon([box(119.95, 30.52, 119.97, 30.54)]),
                 MultiPolygon([box(119.95, 30.52, 119.96, 30.54)]),
                 MultiPolygon([box(119.96, 30.52, 119.97, 30.54)])], crs=4326)
    bld = gpd.GeoDataFrame({"households": [10, 20, 30], "residential": [True, True, False],
                            "code": ["B1", "B2", "B3"], "name": ["一号楼", "二号楼", "厂房"]},
                           geometry=[box(119.951, 30.521, 119.9512, 30.5212),
                                     box(119.961, 30.521, 119.9612, 30.5212),
                                     box(119.962, 30.531, 119.9622, 30.5312)], crs=4326)
    with transaction(actor="test") as s:
        bulk.copy_grids(s, LAYERS["grids"], grids, j.id, levels=np.array([0, 1, 2, 2]),
                        parent_codes=np.array([None, code, code + "001", code + "001"], dtype=object))
        bulk.copy_layer(s, LAYERS["buildings"], bld, j.id)
        n = repo.assign_to_basic_grids(s, j.id, "building")
    assert n == 3
    return j


def test_grids_carry_level_parent_and_households(make_jurisdiction):
    j = _tiny_town(make_jurisdiction)
    with transaction() as s:
        g = read.read_layer(s, LAYERS["grids"], j).set_index("code")
    assert g.loc[j.code + "001001", "households"] == 10
    assert g.loc[j.code + "001002", "households"] == 50
    assert g.loc[j.code + "001", "households"] == 60
    assert g.loc[j.code + "001", "level"] == "village"
    assert g.loc[j.code + "001002", "parent_code"] == j.code + "001"


def test_bbox_and_grid_filters(make_jurisdiction):
    j = _tiny_town(make_jurisdiction)
    with transaction() as s:
        b = read.read_layer(s, LAYERS["buildings"], j, read.Filter(bbox=(119.95, 30.52, 119.955, 30.525)))
        in_grid = read.read_layer(s, LAYERS["buildings"], j, read.Filter(grid_code=j.code + "001002"))
        n = read.count_layer(s, LAYERS["buildings"], j, read.Filter(grid_code=j.code + "001002"))
    assert list(b["code"]) == ["B1"]
    assert sorted(in_grid["code"]) == ["B2", "B3"] and n == 2
    assert set(in_grid["grid_code"]) == {j.code + "001002"}
