"""A small hand-built town for the dashboard tests (the demo town is loaded elsewhere).

The jurisdiction is the 0.02° square at (119.95, 30.52) from ``make_jurisdiction``: two
villages (west, east), each split into a south and a north basic grid whose households are
below 80 % of the cap of 200 (100), between 80 and 100 % (170), over it (250) and none (0).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import geopandas as gpd
import numpy as np
from shapely.geometry import LineString, MultiPolygon, Point, box

from api.db import bulk, repo
from api.db.session import transaction
from api.layers import LAYERS

X0, Y0, XM, YM, X1, Y1 = 119.95, 30.52, 119.96, 30.53, 119.97, 30.54
XSS_NAME = '一村二格<img src=x onerror="window.__xss=1">'
TEMPLATE_NAME = "{{ 7*7 }}号楼{# c #}{% if 1 %}!{% endif %}"  # folium re-renders scripts with Jinja


@dataclass
class Town:
    code: str
    grids: dict[str, str]  # role -> code
    gb_id: str
    camera_xy: tuple[float, float]


def _grids(c: str) -> gpd.GeoDataFrame:
    rows = [(c, "测试镇", (X0, Y0, X1, Y1)), (c + "001", "一村", (X0, Y0, XM, Y1)),
            (c + "002", "二村", (XM, Y0, X1, Y1)), (c + "001001", "一村一格", (X0, Y0, XM, YM)),
            (c + "001002", XSS_NAME, (X0, YM, XM, Y1)), (c + "002001", "二村一格", (XM, Y0, X1, YM)),
            (c + "002002", "二村二格", (XM, YM, X1, Y1))]
    return gpd.GeoDataFrame({"code": [r[0] for r in rows], "name": [r[1] for r in rows]},
                            geometry=[MultiPolygon([box(*r[2])]) for r in rows], crs=4326)


def _small(x: float, y: float, d: float = 0.0004):
    return box(x - d / 2, y - d / 2, x + d / 2, y + d / 2)


def _buildings() -> gpd.GeoDataFrame:
    rows = [("B1", "一号楼", 60, True, (119.952, 30.522)), ("B2", TEMPLATE_NAME, 40, True, (119.956, 30.527)),
            ("B3", "三号楼", 170, True, (119.952, 30.535)), ("B4", "四号楼", 130, True, (119.962, 30.522)),
            ("B5", "五号楼", 120, True, (119.965, 30.525)), ("B6", "厂房", 0, False, (119.965, 30.535))]
    return gpd.GeoDataFrame({"code": [r[0] for r in rows], "name": [r[1] for r in rows],
                             "households": [r[2] for r in rows], "residential": [r[3] for r in rows],
                             "floors": [6] * len(rows)},
                            geometry=[_small(*r[4]) for r in rows], crs=4326)


def _others(code: str) -> dict[str, gpd.GeoDataFrame]:
    gb_id = code[:6] + "00" + "00" + "132" + "0" + code[6:9] + "001"
    now = datetime(2026, 5, 1, 9, 30, tzinfo=timezone.utc)
    return {
        "roads": gpd.GeoDataFrame({"name": ["省道S201", "幸福巷"], "road_class": ["provincial", "lane"],
                                   "width_m": [12.0, 3.0]},
                                  geometry=[LineString([(X0, YM), (X1, YM)]),
                                            LineString([(119.958, Y0), (119.958, Y1)])], crs=4326),
        "key_sites": gpd.GeoDataFrame({"category": ["school"], "name": ["实验小学"]},
                                      geometry=[MultiPolygon([box(119.9525, 30.5232, 119.9545, 30.5252)])],
                                      crs=4326),
        "service_centres": gpd.GeoDataFrame({"name": ["镇便民服务中心"], "level": ["town"],
                                             "address": ["中心路1号"], "phone": ["0572-8000000"]},
                                            geometry=[Point(119.9615, 30.5315)], crs=4326),
        "cameras": gpd.GeoDataFrame({"gb_id": [gb_id], "name": ["中心路口"], "networked": [True],
                                     "online": [True]}, geometry=[Point(119.9605, 30.5302)], crs=4326),
        "incidents": gpd.GeoDataFrame({"type": ["dispute"], "occurred_at": [now], "reported_at": [now]},
                                      geometry=[Point(119.953, 30.523)], crs=4326),
    }


def build_town(make_jurisdiction) -> Town:
    j = make_jurisdiction(name="测试镇")
    c = j.code
    grids = _grids(c)
    levels = np.array([len(code) // 3 - 3 for code in grids["code"]])
    parents = np.array([None if lv == 0 else code[:-3] for code, lv in zip(grids["code"], levels)], dtype=object)
    others = _others(c)
    with transaction(actor="test") as s:
        bulk.copy_grids(s, LAYERS["grids"], grids, j.id, levels=levels, parent_codes=parents)
        bulk.copy_layer(s, LAYERS["buildings"], _buildings(), j.id)
        for key, gdf in others.items():
            bulk.copy_layer(s, LAYERS[key], gdf, j.id)
        repo.assign_to_basic_grids(s, j.id, "building")
        repo.assign_to_basic_grids(s, j.id, "incident")
    roles = {"town": c, "west": c + "001", "east": c + "002", "ok": c + "001001", "near": c + "001002",
             "over": c + "002001", "empty": c + "002002"}
    pt = others["cameras"].geometry.iloc[0]
    return Town(code=c, grids=roles, gb_id=others["cameras"]["gb_id"].iloc[0], camera_xy=(pt.x, pt.y))
