"""The demo town: a deterministic, seeded, believable — and entirely synthetic — town.

It is placed at a real place, 浙江省湖州市德清县 (county code 330521) around 119.97°E,
30.54°N, but the town itself is fictional: 示范镇（演示数据） / "Demo Town (synthetic)",
code 330521199 (town number 199 is not a real town of 德清县; the variant with sample defects
is 330521198). Every name, building, camera, person and phone number is invented; phone
numbers use the 199 0000 xxxx block.

Grid code profile 6+3+3+3: the town's 9-digit code is the level-0 grid and the jurisdiction
code; communities (社区) get 12-digit codes 001…, villages (村) 201… (as in the statistical
division codes: 居委会 0xx–1xx, 村委会 2xx–3xx); basic grids add 001…. Codes are numbered in
reading order: north to south in bands, west to east within a band.

The town passes every grid rule: the children of each grid tile it exactly (shared edges
identical vertex for vertex), every residential building lies inside exactly one basic grid
and no boundary cuts one, no basic grid holds more than 200 households, every grid is
staffed. With ``defects=True`` exactly one of each realistic mistake is injected and listed
in :attr:`DemoTown.defects`.

Pure: numpy / shapely / geopandas, no database (see :mod:`data.load`).

Example
-------
>>> town = generate_town()                  # doctest: +SKIP
>>> town.summary()["grids"]                 # doctest: +SKIP
{'town': 1, 'village': 10, 'basic': 98}
>>> town.layers["buildings"].crs.to_epsg()  # doctest: +SKIP
4326
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely import Point

from data.demo_activity import (INDUSTRY, camera_frame, decode_gb28181, incident_places,
                                incident_text, incident_times, plan_cameras, staff_tables)
from data.demo_fill import Filled, fill_town, rects
from data.demo_layout import Layout, make_layout

__all__ = ["generate_town", "write_town", "DemoTown", "decode_gb28181", "INDUSTRY",
           "TOWN_CODE", "DEFECT_TOWN_CODE", "DEFAULT_SEED", "STAGES"]

COUNTY = "浙江省湖州市德清县"
COUNTY_CODE = "330521"
TOWN_CODE = "330521199"          # synthetic: 199 is no real town of 德清县
DEFECT_TOWN_CODE = "330521198"   # the same town with one of each sample defect
TOWN_NAME = "示范镇（演示数据）"
TOWN_NAME_SHORT = "示范镇"          # the level-0 grid's name
TOWN_NAME_EN = "Demo Town (synthetic)"
DEFECT_NAME = "示范镇（演示数据·含示例错误）"
DEFECT_NAME_EN = "Demo Town with sample defects (synthetic)"
CENTRE_LON, CENTRE_LAT = 119.97, 30.54
METRIC_EPSG = 32650              # WGS 84 / UTM zone 50N
STORAGE_EPSG = 4326
DEFAULT_SEED = 20250521
HOUSEHOLD_CAP = 200
N_INCIDENTS = 20_000
YEAR = 2025                      # incidents cover this calendar year (Asia/Shanghai)
LEVEL_KEYS = ("town", "village", "basic")
STAGES = ("布局 layout", "道路与建筑 roads & buildings", "编码 codes", "摄像机 cameras",
          "事件 incidents", "人员 staff", "示例错误 defects", "坐标 coordinates")
SYNTHETIC_NOTE = ("演示数据：示范镇为虚构乡镇，位于浙江省湖州市德清县（330521）境内的虚构位置；"
                  "镇代码 330521199/330521198 为虚构编码，所有名称、建筑、摄像机、人员与电话均为生成数据。"
                  " / Synthetic demo data: a fictional town placed in Deqing County, Huzhou, Zhejiang "
                  "(330521); town codes 330521199/330521198 are made up, as are all names, buildings, "
                  "cameras, people and phone numbers.")

Progress = Callable[[str], None]


@dataclass
class DemoTown:
    """A generated town: layers in EPSG:4326 ready for :mod:`api.db.bulk`, plus staff.

    ``layers`` holds the registry layers (grids with ``level``/``parent_code``/``households``,
    buildings, roads, key_sites, service_centres, cameras, incidents) and two extras:
    ``key_site_entrances`` (gates as points, by site name) and ``hot_spots`` (where incidents
    cluster: market, square, nightlife street, rental housing)."""

    code: str
    name: str
    name_en: str
    seed: int
    with_defects: bool
    layers: dict[str, gpd.GeoDataFrame]
    staff: pd.DataFrame          # key, name, phone, title
    assignments: pd.DataFrame    # grid_code, staff_key, role
    defects: list[dict] = field(default_factory=list)
    metric_epsg: int = METRIC_EPSG

    @property
    def boundary(self) -> gpd.GeoSeries:
        """The jurisdiction boundary: the level-0 grid."""
        g = self.layers["grids"]
        return g.loc[g["level"] == 0].geometry.reset_index(drop=True)

    def metric(self, key: str) -> gpd.GeoDataFrame:
        """A layer in the metric CRS (EPSG:32650)."""
        return self.layers[key].to_crs(self.metric_epsg)

    def digest(self) -> str:
        """SHA-256 of every layer (geometry WKB and attributes), staff and assignments: equal
        digests, identical towns."""
        h = hashlib.sha256()
        for key in sorted(self.layers):
            gdf = self.layers[key]
            h.update(key.encode())
            h.update(b"".join(shapely.to_wkb(gdf.geometry.to_numpy())))
            h.update(pd.DataFrame(gdf.drop(columns="geometry")).to_csv(index=False).encode())
        for df in (self.staff, self.assignments):
            h.update(df.to_csv(index=False).encode())
        h.update(json.dumps(self.defects, ensure_ascii=False, sort_keys=True, default=str).encode())
        return h.hexdigest()

    def summary(self) -> dict:
        g = self.layers["grids"]
        b = self.layers["buildings"]
        c = self.layers["cameras"]
        return {"code": self.code, "name": self.name, "seed": self.seed, "defects": len(self.defects),
                "grids": {k: int((g["level"] == i).sum()) for i, k in enumerate(LEVEL_KEYS)},
                "buildings": len(b), "households": int(b["households"].sum()),
                "cameras": len(c), "networked_rate": round(float(c["networked"].mean()), 3),
                **{k: len(self.layers[k]) for k in ("key_sites", "roads", "service_centres", "incidents")},
                "staff": len(self.staff), "assignments": len(self.assignments)}


# ---------------------------------------------------------------------------------------------
# generation

def generate_town(seed: int = DEFAULT_SEED, defects: bool = False,
                  progress: Progress | None = None) -> DemoTown:
    """Generate the demo town (a few seconds). Same seed, same town, bit for bit; the
    defects variant is the clean town of the same seed plus one of each defect."""
    step = progress or (lambda stage: None)
    code = DEFECT_TOWN_CODE if defects else TOWN_CODE
    main, extra = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(main)
    step(STAGES[0])
    L = make_layout(rng, int(rng.integers(96, 101)), int(rng.choice([5, 6])))
    step(STAGES[1])
    F = fill_town(L, rng, HamletNames(rng))
    check_sites(F)
    step(STAGES[2])
    grids, village_code, grid_code = grid_frame(L, code)
    bld = building_frame(L, F, grid_code, village_code)
    step(STAGES[3])
    cams = camera_frame(plan_cameras(L, F, list(bld["address"]), rng), COUNTY_CODE + code[-2:], rng)
    step(STAGES[4])
    inc = incident_frame(L, F, rng)
    step(STAGES[5])
    staff, assignments = staff_tables(grids, rng)
    step(STAGES[6])
    found: list[dict] = []
    if defects:
        bld, assignments, found = inject_defects(grids, bld, assignments, F, np.random.default_rng(extra))
    bld = number_buildings(bld, code)
    for item in found:   # the homes added as defects get their codes now
        if item["kind"] in ("building_outside", "building_cut"):
            item["building"] = str(bld.loc[bld["defect"] == item["kind"], "code"].iloc[0])
    grids = count_households(grids, bld)
    step(STAGES[7])
    layers = to_storage(L, F, grids, bld, cams, inc)
    return DemoTown(code, DEFECT_NAME if defects else TOWN_NAME, DEFECT_NAME_EN if defects else TOWN_NAME_EN,
                    seed, defects, layers, staff, assignments, found)


class HamletNames:
    """Names of natural villages (自然村): 沈家浜, 钱家埭, 西湾… unique within a village."""

    SURNAMES = "沈姚钱徐陈王张朱吴金杨费俞莫潘施蔡丁"
    SUFFIX = ["家浜", "家埭", "家兜", "家桥", "家湾", "家弄", "家坞", "家港"]
    PLAIN = ["西湾", "东湾", "南埭", "北埭", "上圩", "下圩", "塘头", "桥头", "荡里", "港口", "新桥", "庙前"]

    def __init__(self, rng):
        self.rng = rng
        self.used: dict[int, set] = {}

    def __call__(self, village: int) -> str:
        used = self.used.setdefault(village, set())
        for _ in range(200):
            if self.rng.random() < 0.75:
                name = self.SURNAMES[int(self.rng.integers(len(self.SURNAMES)))] + \
                    self.SUFFIX[int(self.rng.integers(len(self.SUFFIX)))]
            else:
                name = self.PLAIN[int(self.rng.integers(len(self.PLAIN)))]
            if name not in used:
                used.add(name)
                return name
        return f"第{len(used) + 1}组"


def check_sites(F: Filled) -> None:
    from gis.vocab import KEY_SITE_CATEGORIES
    missing = set(KEY_SITE_CATEGORIES) - {s.category for s in F.sites}
    if missing:
        raise RuntimeError(f"demo town without key sites of: {sorted(missing)}")


# ---------------------------------------------------------------------------------------------
# codes and names

def reading_order(xy: np.ndarray, band: float) -> np.ndarray:
    """Indices in reading order: bands of ``band`` metres from north to south, west to east
    within a band."""
    row = np.floor((xy[:, 1].max() - xy[:, 1]) / band)
    return np.lexsort((xy[:, 0], row))


def _centres(geoms) -> np.ndarray:
    return shapely.get_coordinates(shapely.point_on_surface(np.asarray(geoms, dtype=object)))


def grid_frame(L: Layout, code: str) -> tuple[pd.DataFrame, dict[int, str], dict[int, str]]:
    """All grids (town, villages, basic) with codes, names and parents (local metric frame)."""
    rows = [{"code": code, "name": TOWN_NAME_SHORT, "level": 0, "parent_code": None,
             "geometry": shapely.coverage_union_all([v.geom for v in L.villages])}]
    village_code, grid_code = {}, {}
    for kind, first in (("community", 1), ("village", 201)):
        vs = [v for v in L.villages if v.kind == kind]
        for k, i in enumerate(reading_order(_centres([v.geom for v in vs]), 900.0)):
            village_code[vs[i].index] = f"{code}{first + k:03d}"
    for v in sorted(L.villages, key=lambda v: village_code[v.index]):
        vc = village_code[v.index]
        rows.append({"code": vc, "name": v.name, "level": 1, "parent_code": code, "geometry": v.geom})
        band = 160.0 if v.kind == "community" else 420.0
        order = reading_order(_centres([L.grids[g].geom for g in v.grids]), band)
        for k, i in enumerate(order):
            gi = v.grids[i]
            grid_code[gi] = f"{vc}{k + 1:03d}"
            rows.append({"code": grid_code[gi], "name": f"{v.name}{k + 1}号网格", "level": 2,
                         "parent_code": vc, "geometry": L.grids[gi].geom})
    df = pd.DataFrame(rows)
    df["level_key"] = [LEVEL_KEYS[lv] for lv in df["level"]]
    return df, village_code, grid_code



def building_frame(L: Layout, F: Filled, grid_code: dict[int, str], village_code) -> pd.DataFrame:
    B = F.buildings
    df = pd.DataFrame({"geometry": B.geom, "households": np.asarray(B.households, int),
                       "residential": np.asarray(B.residential, bool), "floors": np.asarray(B.floors, int),
                       "name": B.name, "kind": B.kind, "grid": B.grid, "hamlet": B.hamlet})
    df["grid_code"] = df["grid"].map(grid_code)
    df["address"] = addresses(L, F, df)
    df["defect"] = None
    return df


def addresses(L: Layout, F: Filled, df: pd.DataFrame) -> np.ndarray:
    """Door-plate addresses: rural houses by hamlet (沈家村钱家埭12号), everything else by its
    nearest named road, odd numbers on one side and even on the other (解放路37号)."""
    out = np.empty(len(df), dtype=object)
    vname = np.array([L.villages[L.grids[g].village].name for g in df["grid"]], dtype=object)
    urban = np.array([L.grids[g].urban for g in df["grid"]])
    in_hamlet = df["hamlet"].to_numpy() >= 0
    for h_i, h in enumerate(F.hamlets):
        idx = np.flatnonzero(df["hamlet"].to_numpy() == h_i)
        xy = _centres(df["geometry"].to_numpy()[idx])
        along = xy[:, 0] * np.cos(h.axis) + xy[:, 1] * np.sin(h.axis)
        for n, k in enumerate(np.argsort(along)):
            out[idx[k]] = f"{vname[idx[k]]}{h.name}{n + 1}号"
    named = [r for r in F.roads if r.name and r.road_class != "lane" or (r.name and L.core.contains(r.line.centroid))]
    rest = np.flatnonzero(~in_hamlet)
    nums = street_numbers(_centres(df["geometry"].to_numpy()[rest]), named)
    for k, i in enumerate(rest):
        out[i] = nums[k] if urban[i] else f"{vname[i]}{nums[k]}"
    return out


def street_numbers(xy: np.ndarray, roads) -> list[str]:
    """House numbers along the nearest road: odd on the left, even on the right."""
    lines = np.array([r.line for r in roads], dtype=object)
    pts = shapely.points(xy)
    near = shapely.STRtree(lines).nearest(pts)
    s = shapely.line_locate_point(lines[near], pts)
    a = shapely.get_coordinates(shapely.line_interpolate_point(lines[near], s))
    b = shapely.get_coordinates(shapely.line_interpolate_point(lines[near], s + 1.0))
    left = ((b[:, 0] - a[:, 0]) * (xy[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (xy[:, 0] - a[:, 0])) > 0
    names = np.array([roads[i].name for i in near], dtype=object)
    out = [""] * len(xy)
    key = pd.DataFrame({"name": names, "left": left, "s": s})
    for (_, side), grp in key.groupby(["name", "left"], sort=True):
        for rank, i in enumerate(grp.sort_values("s").index):
            out[i] = f"{names[i]}{2 * rank + (1 if side else 2)}号"
    return out


def number_buildings(df: pd.DataFrame, code: str) -> pd.DataFrame:
    """Building codes in order of grid code, then reading order (defect buildings last)."""
    xy = _centres(df["geometry"].to_numpy())
    order = np.lexsort((xy[:, 0], -xy[:, 1] // 50, df["grid_code"].fillna("~").to_numpy()))
    df = df.iloc[order].reset_index(drop=True)
    df["code"] = [f"{code}B{k + 1:05d}" for k in range(len(df))]
    return df


def count_households(grids: pd.DataFrame, bld: pd.DataFrame) -> pd.DataFrame:
    """Households per grid from the buildings whose representative point lies in it."""
    grids = grids.copy()
    pts = shapely.point_on_surface(bld["geometry"].to_numpy())
    hh = bld["households"].to_numpy()
    geoms = grids["geometry"].to_numpy()
    tree = shapely.STRtree(pts)
    g, b = tree.query(geoms, predicate="contains")
    grids["households"] = np.bincount(g, weights=hh[b], minlength=len(grids)).astype(int)
    return grids


# ---------------------------------------------------------------------------------------------
# incidents

def incident_frame(L: Layout, F: Filled, rng) -> pd.DataFrame:
    df = incident_places(L, F, N_INCIDENTS, rng)
    df = incident_times(df, YEAR, rng)
    df["description"] = incident_text(df, rng)
    return df.sort_values("occurred_at", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# defects

def _shared_edges(grids: pd.DataFrame, village: str) -> list[tuple[str, str, np.ndarray]]:
    """Pairs of basic grids of ``village`` with the vertices of their longest shared edge,
    longest first (edges with at least 6 vertices: the wiggly rural ones)."""
    sib = grids[grids["parent_code"] == village]
    geoms = sib["geometry"].to_numpy()
    codes = sib["code"].to_numpy()
    a, b = shapely.STRtree(geoms).query(geoms, predicate="touches")
    out = []
    for i, j in zip(a, b):
        if i < j:
            edge = shapely.line_merge(shapely.intersection(geoms[i].boundary, geoms[j].boundary))
            parts = [p for p in shapely.get_parts(edge) if p.geom_type == "LineString"]
            if parts:
                p = max(parts, key=lambda p: p.length)
                if len(p.coords) >= 6 and p.length > 150:
                    out.append((codes[i], codes[j], np.array(p.coords)))
    return sorted(out, key=lambda t: -shapely.length(shapely.linestrings(t[2])))


def _reroute(poly, path: np.ndarray, new_path: np.ndarray):
    """``poly`` with the part of its exterior along ``path`` (consecutive vertices of the
    ring, either direction) replaced by ``new_path`` (same end points). No overlay: every
    other vertex keeps its exact coordinates."""
    ring = np.array(poly.exterior.coords)[:-1]
    i0 = int(np.flatnonzero((ring == path[0]).all(axis=1))[0])
    r = np.roll(ring, -i0, axis=0)
    if not (r[1] == path[1]).all():
        r = np.vstack([r[:1], r[1:][::-1]])
    k = len(path)
    if not (r[:k] == path).all():
        raise ValueError("path is not along the ring")
    return shapely.Polygon(np.vstack([new_path, r[k:]]), [h.coords for h in poly.interiors])


def _notch(grids, village, inside_of: int, width: float = 3.0):
    """For each long shared edge of ``village``: (a, b, path, new_path) where new_path runs
    ``width`` m inside grid a (inside_of=0) or b (inside_of=1) along the middle of the edge."""
    geom = grids.set_index("code")["geometry"]
    for a, b, coords in _shared_edges(grids, village):
        k = len(coords)
        path = coords[max(1, int(0.2 * k)): min(k - 1, int(np.ceil(0.8 * k))) + 1]
        if len(path) < 3:
            continue
        line = shapely.LineString(path)
        target = geom[a if inside_of == 0 else b]
        for sign in (1, -1):
            off = shapely.offset_curve(line, sign * width, join_style="mitre")
            if off.geom_type == "LineString" and target.contains(off.interpolate(0.5, normalized=True)):
                oc = np.array(off.coords)
                if np.hypot(*(oc[0] - path[0])) > np.hypot(*(oc[-1] - path[0])):
                    oc = oc[::-1]
                yield a, b, path, np.vstack([path[:1], oc, path[-1:]])
                break


def _overlap(grids, village) -> dict | None:
    """Grid a drawn 3 m into its neighbour b along the middle of their shared edge."""
    geom = grids.set_index("code")["geometry"]
    for a, b, path, new in _notch(grids, village, inside_of=1):
        poly = _reroute(geom[a], path, new)
        others = grids[(grids["parent_code"] == village) & ~grids["code"].isin([a, b])]["geometry"]
        if poly.is_valid and not shapely.relate_pattern(poly, others.to_numpy(), "T********").any():
            grids.loc[grids["code"] == a, "geometry"] = poly
            area = float(shapely.area(shapely.intersection(poly, geom[b])))
            return {"kind": "overlap", "grids": [a, b], "parent": village, "area_m2": round(area, 2),
                    "zh": f"网格 {a} 的边界画进了相邻网格 {b}", "en": f"grid {a} drawn into its neighbour {b}"}
    return None


def _gap(grids, village) -> dict | None:
    """Grid a pulled back 3 m from its neighbour b along the middle of their shared edge."""
    geom = grids.set_index("code")["geometry"]
    for a, b, path, new in _notch(grids, village, inside_of=0):
        poly = _reroute(geom[a], path, new)
        if poly.is_valid:
            grids.loc[grids["code"] == a, "geometry"] = poly
            area = float(geom[a].area - poly.area)
            return {"kind": "gap", "grids": [a, b], "parent": village, "area_m2": round(area, 2),
                    "zh": f"网格 {a} 与 {b} 之间漏画了一条空白带", "en": f"a strip left out between {a} and {b}"}
    return None


def inject_defects(grids: pd.DataFrame, bld: pd.DataFrame, assignments: pd.DataFrame, F: Filled,
                   rng) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """One of each mistake planners and surveyors make, each in a different village:
    overlap, gap, over the cap, a home outside every grid, a home cut by a boundary, a grid
    with one staff member. ``grids`` is edited in place; returns the buildings, the
    assignments and what was done (the defects manifest)."""
    villages = list(rng.permutation(grids.loc[grids["level"] == 1, "code"].to_numpy()))
    state = {"bld": bld, "assignments": assignments}
    makers = [lambda v: _overlap(grids, v),
              lambda v: _gap(grids, v),
              lambda v: _outside(grids, state, F, v, rng),
              lambda v: _cut(grids, state, F, v, rng),
              lambda v: _over_cap(grids, state["bld"], v, rng),
              lambda v: _understaffed(grids, state, v, rng)]
    found = []
    for make in makers:
        for v in list(villages):
            item = make(v)
            if item is not None:
                villages.remove(v)
                found.append(item)
                break
        else:
            raise RuntimeError("no place for a sample defect")
    return state["bld"], state["assignments"], found


def _over_cap(grids, bld, village, rng) -> dict:
    basic = grids[(grids["parent_code"] == village)]
    code = str(basic["code"].iloc[int(rng.integers(len(basic)))])
    mine = bld.index[(bld["grid_code"] == code) & bld["residential"]]
    big = bld.loc[mine, "households"].idxmax()
    total = int(bld.loc[mine, "households"].sum())
    extra = HOUSEHOLD_CAP - total + 30
    bld.loc[big, "households"] += extra
    return {"kind": "over_cap", "grid": code, "households": total + extra, "cap": HOUSEHOLD_CAP,
            "zh": f"网格 {code} 新增住户后达 {total + extra} 户，超过上限", "en": f"grid {code} grew to {total + extra} households"}


def _free_spot(p: Point, bld: pd.DataFrame, F: Filled, clear: float = 25.0) -> bool:
    """No building within ``clear`` m and no road within 10 m of its edge."""
    near_b = shapely.dwithin(bld["geometry"].to_numpy(), p, clear).any()
    lines = np.array([r.line for r in F.roads], dtype=object)
    width = np.array([r.width_m for r in F.roads])
    near_r = (shapely.distance(lines, p) < width / 2 + 10).any()
    return not near_b and not near_r


def _house_at(p: Point, angle: float):
    return rects([p.x], [p.y], 12.0, 10.0, angle)[0]


def _new_home(bld: pd.DataFrame, geom, grid_code, name: str, defect: str) -> pd.DataFrame:
    row = {"geometry": geom, "households": 2, "residential": True, "floors": 2, "name": None,
           "kind": "house", "grid": -1, "hamlet": -1, "grid_code": grid_code, "address": name,
           "defect": defect}
    return pd.concat([bld, pd.DataFrame([row])], ignore_index=True)


def _outside(grids, state, F: Filled, village, rng) -> dict | None:
    bld = state["bld"]
    town = grids.loc[grids["level"] == 0, "geometry"].iloc[0]
    vg = grids.loc[grids["code"] == village, "geometry"].iloc[0]
    edge = shapely.line_merge(shapely.intersection(vg.boundary, town.boundary))
    if edge.length < 300:
        return None
    for t in rng.permutation(np.linspace(0.05, 0.95, 40)):
        p = edge.interpolate(float(t), normalized=True)
        c = town.centroid
        d = np.hypot(p.x - c.x, p.y - c.y)
        q = Point(p.x + 30 * (p.x - c.x) / d, p.y + 30 * (p.y - c.y) / d)
        house = _house_at(q, float(np.arctan2(p.y - c.y, p.x - c.x)))
        if not house.intersects(town) and _free_spot(q, bld, F):
            state["bld"] = _new_home(bld, house, None, "（界外）未编入网格的住户", "building_outside")
            return {"kind": "building_outside", "village": village,
                         "zh": "一栋住宅位于所有基础网格之外（漏登：不留空白民居）",
                         "en": "a home outside every basic grid"}
    return None


def _cut(grids, state, F: Filled, village, rng) -> dict | None:
    bld = state["bld"]
    sib = grids[grids["parent_code"] == village]
    geoms = sib["geometry"].to_numpy()
    codes = sib["code"].to_numpy()
    hh = sib["code"].map(bld.groupby("grid_code")["households"].sum()).fillna(0).to_numpy()
    a, b = shapely.STRtree(geoms).query(geoms, predicate="touches")
    for i, j in rng.permutation(np.column_stack([a, b])[a < b]):
        if max(hh[i], hh[j]) > HOUSEHOLD_CAP - 3:
            continue
        edge = shapely.line_merge(shapely.intersection(geoms[i].boundary, geoms[j].boundary))
        for t in np.linspace(0.1, 0.9, 17):
            p = shapely.line_interpolate_point(edge, t, normalized=True)
            if p.is_empty or not _free_spot(p, bld, F):
                continue
            q = shapely.line_interpolate_point(edge, min(t + 0.01, 1.0), normalized=True)
            house = _house_at(p, float(np.arctan2(q.y - p.y, q.x - p.x)) + np.pi / 2)
            state["bld"] = _new_home(bld, house, codes[i], "（跨界）被网格边界切割的住户", "building_cut")
            return {"kind": "building_cut", "grids": sorted([codes[i], codes[j]]), "village": village,
                         "zh": f"一栋住宅跨网格 {codes[i]} 与 {codes[j]} 的边界",
                         "en": f"a home cut by the boundary of {codes[i]} and {codes[j]}"}
    return None


def _understaffed(grids, state, village, rng) -> dict:
    assignments = state["assignments"]
    basic = grids[grids["parent_code"] == village]
    code = str(basic["code"].iloc[int(rng.integers(len(basic)))])
    mine = assignments.index[assignments["grid_code"] == code]
    keep = assignments.loc[mine][assignments.loc[mine, "role"] == "grid_manager"].index[:1]
    state["assignments"] = assignments.drop(index=mine.difference(keep)).reset_index(drop=True)
    return {"kind": "understaffed", "grid": code, "staff": 1,
            "zh": f"网格 {code} 只剩 1 名工作人员", "en": f"grid {code} has a single staff member"}


# ---------------------------------------------------------------------------------------------
# coordinates and frames

def _offset() -> tuple[float, float]:
    t = Transformer.from_crs(STORAGE_EPSG, METRIC_EPSG, always_xy=True)
    x, y = t.transform(CENTRE_LON, CENTRE_LAT)
    return float(round(x)), float(round(y))


def _to_4326(geoms, off) -> gpd.GeoSeries:
    moved = shapely.transform(np.asarray(geoms, dtype=object), lambda c: c + np.array(off))
    return gpd.GeoSeries(moved, crs=METRIC_EPSG).to_crs(STORAGE_EPSG)


def _frame(df: pd.DataFrame, geoms, off, columns: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(df[columns].reset_index(drop=True), geometry=_to_4326(geoms, off).values,
                            crs=STORAGE_EPSG)


def _multi(geoms) -> np.ndarray:
    g = np.asarray(geoms, dtype=object)
    return np.array([shapely.MultiPolygon([x]) if x.geom_type == "Polygon" else x for x in g], dtype=object)


def to_storage(L: Layout, F: Filled, grids, bld, cams, inc) -> dict[str, gpd.GeoDataFrame]:
    """Every layer moved from the local frame to UTM 50N and then EPSG:4326."""
    off = _offset()
    out = {}
    out["grids"] = _frame(grids, _multi(grids["geometry"]), off,
                          ["code", "name", "level", "level_key", "parent_code", "households"])
    out["buildings"] = _frame(bld, bld["geometry"], off,
                              ["code", "name", "address", "households", "residential", "floors", "kind", "grid_code"])
    out["roads"] = _road_frame(F, off)
    out["key_sites"], out["key_site_entrances"] = _site_frames(F, off)
    out["service_centres"] = _centre_frame(F, bld, off)
    cams = cams.rename(columns={"azimuth": "azimuth_deg", "hfov": "hfov_deg", "height": "height_m",
                                "industry": "industry_code"})
    out["cameras"] = _frame(cams, shapely.points(cams[["x", "y"]].to_numpy()), off,
                            ["gb_id", "name", "height_m", "azimuth_deg", "hfov_deg", "range_m", "kind", "networked",
                             "online", "documented", "owner", "industry_code", "group"])
    out["incidents"] = _frame(inc, shapely.points(inc[["x", "y"]].to_numpy()), off,
                              ["type", "source", "status", "occurred_at", "reported_at", "accepted_at", "handled_at",
                               "resolved_at", "evaluated_at", "description", "spot"])
    out["hot_spots"] = gpd.GeoDataFrame({"name": list(F.hot_spots)},
                                        geometry=_to_4326(list(F.hot_spots.values()), off).values, crs=STORAGE_EPSG)
    for k in ("grids", "buildings"):
        out[k]["households"] = out[k]["households"].astype(int)
    return out


def _road_frame(F: Filled, off) -> gpd.GeoDataFrame:
    df = pd.DataFrame({"name": [r.name for r in F.roads], "road_class": [r.road_class for r in F.roads],
                       "width_m": [float(r.width_m) for r in F.roads]})
    return _frame(df, [r.line for r in F.roads], off, ["name", "road_class", "width_m"])


def _site_frames(F: Filled, off) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    df = pd.DataFrame({"category": [s.category for s in F.sites], "name": [s.name for s in F.sites],
                       "owner": [s.owner for s in F.sites]})
    sites = _frame(df, _multi([s.geom for s in F.sites]), off, ["category", "name", "owner"])
    ent = [(s.name, s.category, e) for s in F.sites for e in s.entrances]
    edf = pd.DataFrame(ent, columns=["site_name", "category", "geometry"])
    return sites, _frame(edf, edf["geometry"], off, ["site_name", "category"])


def _centre_frame(F: Filled, bld: pd.DataFrame, off) -> gpd.GeoDataFrame:
    rows = []
    gov = next(i for i, s in enumerate(F.sites) if s.name == "示范镇人民政府")
    for k, site_i in enumerate([None] + sorted(F.committees.values())):
        if site_i is None:
            bname, name, level = "示范镇人民政府便民服务中心", "示范镇便民服务中心", "town"
        else:
            s = F.sites[site_i]
            bname, level = f"{s.name}党群服务中心", "village"
            name = s.name.replace("村民委员会", "党群服务中心").replace("居民委员会", "党群服务中心")
        b = bld[bld["name"] == bname]
        geom = b["geometry"].iloc[0].centroid if len(b) else F.sites[gov if site_i is None else site_i].geom.centroid
        addr = b["address"].iloc[0] if len(b) else None
        rows.append({"name": name, "level": level, "address": addr, "phone": f"0572-8900{k + 1:04d}",
                     "geometry": geom})
    df = pd.DataFrame(rows)
    return _frame(df, df["geometry"], off, ["name", "level", "address", "phone"])


# ---------------------------------------------------------------------------------------------
# files

LAYER_FILES = ("grids", "buildings", "roads", "key_sites", "key_site_entrances", "service_centres",
               "cameras", "incidents", "hot_spots")


def write_town(town: DemoTown, out_dir: Path, formats: tuple[str, ...] = ("gpkg", "fgb"),
               progress: Progress | None = None) -> list[Path]:
    """One file per layer and format (GeoPackage, FlatGeobuf), staff and assignments as CSV
    (UTF-8 with BOM, for Excel), the defects and a manifest as JSON."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    drivers = {"gpkg": "GPKG", "fgb": "FlatGeobuf"}
    for key in LAYER_FILES:
        gdf = _for_file(town.layers[key])
        for fmt in formats:
            path = out_dir / f"{key}.{fmt}"
            path.unlink(missing_ok=True)
            gdf.to_file(path, driver=drivers[fmt], layer=key if fmt == "gpkg" else None, engine="pyogrio")
            written.append(path)
        if progress:
            progress(key)
    staff = town.staff.rename(columns={"key": "staff_key"})
    for name, df in (("staff.csv", staff),
                     ("assignments.csv", town.assignments.merge(staff, on="staff_key", how="left"))):
        df.to_csv(out_dir / name, index=False, encoding="utf-8-sig")
        written.append(out_dir / name)
    manifest = {"note": SYNTHETIC_NOTE, "code": town.code, "name": town.name, "name_en": town.name_en,
                "county": COUNTY, "county_code": COUNTY_CODE, "seed": town.seed, "crs": f"EPSG:{STORAGE_EPSG}",
                "metric_crs": f"EPSG:{town.metric_epsg}", "incident_year": YEAR,
                "summary": town.summary(), "defects": town.defects}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str),
                                           encoding="utf-8")
    written.append(out_dir / "manifest.json")
    return written


def _for_file(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Timestamps as ISO text with offset (portable across GPKG, FlatGeobuf, Shapefile)."""
    out = gdf.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            text = out[c].dt.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(r"(\d\d)(\d\d)$", r"\1:\2", regex=True)
            out[c] = text.where(out[c].notna(), None)
    return out
