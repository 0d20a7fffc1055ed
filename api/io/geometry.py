"""Geometries of an input: to lon/lat (EPSG:4326, WGS-84), to the layer's type, and checked.

Every check is one vectorised shapely 2 call over the array (threads split the big ones:
shapely releases the GIL), and each finds rows for the :class:`ProblemLog`. Nothing is
repaired: an invalid polygon is reported with GEOS's reason, never silently fixed.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from api.io.problems import ProblemLog
from gis.coords import convert_geometries

THREADS = max(1, min(4, os.cpu_count() or 1))
MIN_PARALLEL = 50_000
CHINA = (73.0, 3.0, 136.0, 54.0)  # lon/lat box of plausible coordinates
_LONLAT_EPSG = {4326, 4490, 4610, 4214}  # WGS 84, CGCS2000 (and Xian80 / Beijing54 degrees, ~100 m)
_SINGLE = {"Polygon": "MultiPolygon", "LineString": "MultiLineString", "Point": "MultiPoint"}
_TYPE_ZH = {"Point": "点", "LineString": "线", "Polygon": "面", "MultiPolygon": "（多）面"}


def threaded(func, arr: np.ndarray) -> np.ndarray:
    """``func(arr)`` on ``THREADS`` slices at once for big arrays (shapely frees the GIL)."""
    if len(arr) < MIN_PARALLEL or THREADS < 2:
        return func(arr)
    with ThreadPoolExecutor(THREADS) as ex:
        return np.concatenate(list(ex.map(func, np.array_split(arr, THREADS))))


def is_lonlat_wgs84(crs: CRS) -> bool:
    """CRS whose lon/lat can be stored as EPSG:4326 without a transformation."""
    epsg = crs.to_epsg(min_confidence=70)
    return epsg in (4326, 4490) or crs.equals(CRS.from_epsg(4326), ignore_axis_order=True)


def to_lonlat(geoms: np.ndarray, crs: CRS, coords: str = "wgs84") -> tuple[np.ndarray, bool]:
    """2-D geometries in EPSG:4326: reprojected from ``crs``, then GCJ-02 / BD-09 undone.

    Returns the geometries and whether any coordinate changed.
    """
    changed = False
    if shapely.has_z(geoms).any():
        geoms, changed = threaded(shapely.force_2d, geoms), True
    if not is_lonlat_wgs84(crs):
        tr = Transformer.from_crs(crs, 4326, always_xy=True)
        geoms = threaded(lambda a: shapely.transform(a, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))),
                         geoms)
        changed = True
    if coords != "wgs84":
        geoms, changed = convert_geometries(geoms, coords, "wgs84"), True
    return geoms, changed


_TID = {"Point": 0, "LineString": 1, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5, "MultiPolygon": 6}


def to_layer_type(geoms: np.ndarray, target: str) -> tuple[np.ndarray, bool]:
    """Single-part Multi* → its part; Polygon → MultiPolygon where that is what is stored.

    Other types are left as they are (the type check reports them). Returns the geometries
    and whether any changed.
    """
    types = shapely.get_type_id(geoms)
    out = geoms.copy()
    if target in _SINGLE:
        conv = (types == _TID[_SINGLE[target]]) & (shapely.get_num_geometries(geoms) == 1)
        if conv.any():
            out[conv] = shapely.get_geometry(geoms[conv], 0)
    else:  # MultiPolygon
        conv = types == _TID["Polygon"]
        if conv.any():
            out[conv] = shapely.multipolygons(geoms[conv], indices=np.arange(int(conv.sum())))
    return out, bool(conv.any())


def check(geoms: np.ndarray, unreadable: np.ndarray, raw: np.ndarray | None, target: str,
          crs_label: str, log: ProblemLog) -> np.ndarray:
    """Record missing, unreadable, empty, wrong-type, implausible and invalid geometries.

    Returns the mask of rows whose geometry passed (they go on to the boundary check).
    """
    missing = pd.isna(geoms)
    log.add(missing & ~unreadable, "missing_geometry", "缺少几何（坐标）", "The geometry (coordinates) is missing",
            field="geometry")
    log.add(unreadable, "unreadable_geometry", "几何无法解析：{value}", "The geometry cannot be parsed: {value}",
            field="geometry", values=raw)
    ok = ~missing
    empty = np.zeros(len(geoms), bool)
    empty[ok] = shapely.is_empty(geoms[ok])
    log.add(empty, "empty_geometry", "几何为空", "The geometry is empty", field="geometry")
    ok &= ~empty
    return _check_kind_and_place(geoms, ok, target, crs_label, log)


def _check_kind_and_place(geoms, ok, target, crs_label, log) -> np.ndarray:
    types = np.full(len(geoms), -1)
    types[ok] = shapely.get_type_id(geoms[ok])
    wrong = ok & (types != _TID[target])
    log.add(wrong, "wrong_geometry_type", f"几何类型应为{_TYPE_ZH[target]}（{target}），实为 {{value}}",
            f"The geometry must be a {target}, not {{value}}", field="geometry",
            values=_type_names(geoms, wrong), geoms=geoms)
    ok &= ~wrong
    ok &= ~_implausible(geoms, ok, crs_label, log)
    ok &= ~_invalid(geoms, ok, log)
    return ok


def _type_names(geoms: np.ndarray, mask: np.ndarray) -> np.ndarray:
    names = np.full(len(geoms), None, dtype=object)
    if mask.any():
        names[mask] = np.array([g.geom_type for g in geoms[mask]], dtype=object)
    return names


def _implausible(geoms: np.ndarray, ok: np.ndarray, crs_label: str, log: ProblemLog) -> np.ndarray:
    b = np.full((len(geoms), 4), np.nan)
    b[ok] = shapely.bounds(geoms[ok])
    x0, y0, x1, y1 = CHINA
    with np.errstate(invalid="ignore"):
        inside = (b[:, 0] >= x0) & (b[:, 2] <= x1) & (b[:, 1] >= y0) & (b[:, 3] <= y1)
    bad = ok & ~inside
    values = np.full(len(geoms), None, dtype=object)
    if bad.any():
        values[bad] = [f"{r[0]:.6g},{r[1]:.6g},{r[2]:.6g},{r[3]:.6g}" for r in b[bad]]
    log.add(bad, "wrong_crs",
            f"坐标超出中国范围（经度 73–136、纬度 3–54），坐标系是否有误？按 {crs_label} 读取，范围：{{value}}",
            f"Coordinates outside China (lon 73–136, lat 3–54): wrong CRS? Read as {crs_label}, extent: {{value}}",
            field="geometry", values=values)
    return bad


def _invalid(geoms: np.ndarray, ok: np.ndarray, log: ProblemLog) -> np.ndarray:
    valid = np.ones(len(geoms), dtype=bool)
    valid[ok] = threaded(shapely.is_valid, geoms[ok])
    bad = ok & ~valid
    reasons = np.full(len(geoms), None, dtype=object)
    if bad.any():
        reasons[bad] = shapely.is_valid_reason(geoms[bad])
    log.add(bad, "invalid_geometry", "几何无效：{reason}（未自动修复，请在源数据中修正）",
            "Invalid geometry: {reason} (not repaired: fix it in the source data)", field="geometry",
            geoms=geoms, reasons=reasons)
    return bad


class Boundary:
    """A jurisdiction boundary, prepared, with a coarse grid of cells wholly inside it: a
    geometry whose bounding box lies in such cells is inside without any GEOS call, so only
    the few near the edge need their point on surface computed."""

    def __init__(self, geom, cells: int = 128) -> None:
        self.geom, self.cells = geom, cells
        shapely.prepare(geom)
        x0, y0, x1, y1 = geom.bounds
        self.origin = np.array([x0, y0])
        self.step = np.array([max(x1 - x0, 1e-12), max(y1 - y0, 1e-12)]) / cells
        i, k = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        lo = self.origin + np.stack([i, k], axis=-1) * self.step
        self.inside = shapely.contains_properly(geom, shapely.box(lo[..., 0], lo[..., 1],
                                                                  lo[..., 0] + self.step[0], lo[..., 1] + self.step[1]))

    def surely_inside(self, bounds: np.ndarray) -> np.ndarray:
        """Rows of (minx, miny, maxx, maxy) whose box lies in at most 2×2 inside cells."""
        lo = np.floor((bounds[:, :2] - self.origin) / self.step)
        hi = np.floor((bounds[:, 2:] - self.origin) / self.step)
        small = np.all((lo >= 0) & (hi < self.cells) & (hi - lo <= 1), axis=1)
        lo = np.clip(np.nan_to_num(lo), 0, self.cells - 1).astype(int)
        hi = np.clip(np.nan_to_num(hi), 0, self.cells - 1).astype(int)
        corners = (self.inside[lo[:, 0], lo[:, 1]] & self.inside[lo[:, 0], hi[:, 1]]
                   & self.inside[hi[:, 0], lo[:, 1]] & self.inside[hi[:, 0], hi[:, 1]])
        return small & corners


def representative_xy(geoms: np.ndarray) -> np.ndarray:
    """(n, 2) coordinates of a point surely on each geometry (points: themselves)."""
    if len(geoms) and (shapely.get_type_id(geoms) == 0).all():
        return shapely.get_coordinates(geoms)
    return shapely.get_coordinates(threaded(shapely.point_on_surface, geoms))


def check_inside(geoms: np.ndarray, ok: np.ndarray, boundary: Boundary, log: ProblemLog) -> np.ndarray:
    """Rows whose representative point lies outside ``boundary`` (touching counts as in)."""
    outside = np.zeros(len(geoms), dtype=bool)
    todo = ok.copy()
    if todo.any():
        todo[todo] = ~boundary.surely_inside(shapely.bounds(geoms[todo]))
    if not todo.any():
        return outside
    xy = representative_xy(geoms[todo])
    outside[todo] = ~shapely.intersects_xy(boundary.geom, xy[:, 0], xy[:, 1])
    where = np.full(len(geoms), None, dtype=object)
    if outside.any():
        where[outside] = [f"{x:.6f},{y:.6f}" for x, y in xy[outside[todo]]]
    log.add(outside, "outside_jurisdiction", "位于辖区边界之外（代表点 {value}）",
            "Lies outside the jurisdiction boundary (representative point {value})",
            field="geometry", values=where, geoms=geoms)
    return outside
