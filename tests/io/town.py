"""Small layers of a test town (inside ``make_jurisdiction``'s default 2 km square near 德清),
with Chinese text, written to files for the importer."""
from __future__ import annotations

import secrets
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

X0, Y0 = 119.95, 30.52  # south-west corner of the default jurisdiction square (0.02°)


def grids(code: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "code": [code, code + "001", code + "001001", code + "001002"],
        "name": ["测试镇", "幸福村", "幸福村一格", "幸福村二格"],
    }, geometry=[MultiPolygon([box(X0, Y0, X0 + 0.02, Y0 + 0.02)]), box(X0, Y0, X0 + 0.02, Y0 + 0.02),
                 box(X0, Y0, X0 + 0.01, Y0 + 0.02), box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.02)], crs=4326)


def buildings() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "code": ["B001", "B002", "B003", None],
        "name": ["幸福里小区３号楼", "长乐路100弄5号", "厂房", "无名楼"],
        "address": ["德清县武康街道幸福路１号", "长乐路100弄", None, "永安街8弄"],
        "households": [24, 6, 0, 3],
        "residential": [True, True, False, True],
        "floors": [6, 3, 1, None],
    }, geometry=[box(X0 + 0.001, Y0 + 0.001, X0 + 0.0012, Y0 + 0.0012),
                 box(X0 + 0.011, Y0 + 0.001, X0 + 0.0113, Y0 + 0.0011),
                 Polygon([(X0 + 0.012, Y0 + 0.01), (X0 + 0.0125, Y0 + 0.01), (X0 + 0.0122, Y0 + 0.0104)]),
                 box(X0 + 0.005, Y0 + 0.015, X0 + 0.0051, Y0 + 0.0151)], crs=4326)


def camera_ids(n: int) -> list[str]:
    """GB/T 28181 camera IDs: centre 33052100, industry 00, type 132, network 0, random serial."""
    base = secrets.randbelow(999_000)
    return [f"3305210000" f"132" f"0" f"{base + i:06d}" for i in range(n)]


def cameras() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "gb_id": camera_ids(3),
        "name": ["幸福路口", "长乐路100弄口", "村委会"],
        "height_m": [4.5, 6.0, 3.2],
        "azimuth_deg": [0.0, 135.5, 270.0],
        "hfov_deg": [60.0, 360.0, 90.0],
        "range_m": [50.0, 80.0, 35.0],
        "kind": ["fixed", "ptz", "fixed"],
        "networked": [True, False, True],
        "online": [True, True, False],
        "documented": [False, True, True],
        "owner": ["武康派出所", None, "幸福村委会"],
    }, geometry=[Point(X0 + 0.002, Y0 + 0.003), Point(X0 + 0.012, Y0 + 0.004), Point(X0 + 0.015, Y0 + 0.018)],
        crs=4326)


def key_sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"category": ["school", "hospital"], "name": ["幸福小学", "武康街道卫生院"]},
                            geometry=[box(X0 + 0.003, Y0 + 0.003, X0 + 0.004, Y0 + 0.004),
                                      MultiPolygon([box(X0 + 0.013, Y0 + 0.013, X0 + 0.014, Y0 + 0.014)])], crs=4326)


def roads() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["幸福路", "长乐路100弄"], "road_class": ["main_street", "lane"],
                             "width_m": [12.0, 3.5]},
                            geometry=[LineString([(X0, Y0 + 0.005), (X0 + 0.02, Y0 + 0.005)]),
                                      LineString([(X0 + 0.011, Y0), (X0 + 0.011, Y0 + 0.008), (X0 + 0.013, Y0 + 0.009)])],
                            crs=4326)


def service_centres() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["武康街道社区服务中心", "幸福村便民服务站"], "level": ["town", "village"],
                             "address": ["幸福路１号", None], "phone": ["0572-8888888", None]},
                            geometry=[Point(X0 + 0.004, Y0 + 0.006), Point(X0 + 0.016, Y0 + 0.012)], crs=4326)


def incidents() -> gpd.GeoDataFrame:
    t = pd.to_datetime
    return gpd.GeoDataFrame({
        "type": ["dispute", "safety_hazard", "city_management"],
        "source": ["grid_worker", "hotline", "camera"],
        "status": ["reported", "resolved", "accepted"],
        "occurred_at": t(["2024-05-01 08:30:00+08:00", "2024-05-02 21:15:10+08:00", "2024-06-30 23:59:00+08:00"]),
        "reported_at": t(["2024-05-01 08:40:00+08:00", "2024-05-02 21:20:00+08:00", "2024-07-01 00:05:00+08:00"]),
        "accepted_at": t([None, "2024-05-02 22:00:00+08:00", "2024-07-01 09:00:00+08:00"]),
        "handled_at": t([None, "2024-05-03 10:00:00+08:00", None]),
        "resolved_at": t([None, "2024-05-04 10:00:00+08:00", None]),
        "evaluated_at": t([None, None, None]),
        "description": ["邻里噪音纠纷，长乐路100弄", "电线老化，幸福里小区３号楼", None],
    }, geometry=[Point(X0 + 0.0011, Y0 + 0.0011), Point(X0 + 0.0111, Y0 + 0.0105), Point(X0 + 0.018, Y0 + 0.002)],
        crs=4326)


LAYER_DATA = {"buildings": buildings, "cameras": cameras, "key_sites": key_sites, "roads": roads,
              "service_centres": service_centres, "incidents": incidents}


def sample(layer: str, code: str) -> gpd.GeoDataFrame:
    return grids(code) if layer == "grids" else LAYER_DATA[layer]()


def to_geojson(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    out = gdf.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].map(lambda v: None if pd.isna(v) else v.isoformat())
    out.to_file(path, driver="GeoJSON", engine="pyogrio")
    return path
