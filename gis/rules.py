"""Grid integrity rules ("横向到边、纵向到底、不交叉重叠、不留空白").

Pure functions: GeoDataFrames in a **metric** CRS in, a list of :class:`Violation` out.
The same code serves the API (edits are refused when an error-severity rule breaks),
the CLI (``wangge grids validate``) and the dashboards (violations drawn on the map).

Every violation carries its kind, severity, the grid code(s) and building(s) involved, the
measured value and the limit, a message in zh-CN and en, and the geometry of the problem
itself (the overlap, the gap, the building, the part outside the parent).

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> t = "330521100"
>>> grids = gpd.GeoDataFrame({"code": [t, t + "001", t + "002"], "level": [0, 1, 1],
...                           "parent_code": [None, t, t]},
...                          geometry=[box(0, 0, 20, 10), box(0, 0, 11, 10), box(10, 0, 20, 9)],
...                          crs=32650)
>>> cfg = RuleConfig(level_keys=("town", "basic"), code_digits=(3, 3))
>>> [(v.kind, v.grids, v.value) for v in validate(grids, cfg)]
[('overlap', ('330521100001', '330521100002'), 9.0), ('gap', ('330521100',), 9.0)]
"""
from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

ERROR, WARNING = "error", "warning"

KIND_NAMES: dict[str, tuple[str, str]] = {
    "invalid_geometry": ("几何无效", "Invalid geometry"),
    "overlap": ("同级网格重叠", "Sibling grids overlap"),
    "sliver_overlap": ("细小重叠（数字化误差）", "Sliver overlap (digitising noise)"),
    "gap": ("网格之间存在空白", "Gap between grids"),
    "sliver_gap": ("细小空隙（数字化误差）", "Sliver gap (digitising noise)"),
    "outside_parent": ("网格超出上级网格", "Grid sticks out of its parent"),
    "sliver_outside": ("细小超出（数字化误差）", "Sliver outside the parent (digitising noise)"),
    "wrong_parent_level": ("上级网格层级不符", "Parent grid of the wrong level"),
    "orphan": ("缺少上级网格", "Parent grid missing"),
    "over_cap": ("户数超过上限", "Households over the cap"),
    "undersized": ("规模过小（建议合并）", "Far below the typical size (merge candidate)"),
    "size_spread": ("同级网格规模差异大", "Households uneven between sibling grids"),
    "building_unassigned": ("住宅不在任何基础网格内", "Residential building in no basic grid"),
    "building_cut": ("建筑被网格边界切割", "Building cut by a grid boundary"),
    "multipart": ("网格不连续（多块）", "Grid in several pieces"),
    "understaffed": ("网格人员不足", "Grid has too few staff"),
    "code_prefix": ("编码未延续上级编码", "Code does not extend its parent's code"),
    "code_length": ("编码长度与层级不符", "Code length does not match the level"),
    "duplicate_code": ("网格编码重复", "Duplicate grid code"),
}


@dataclass
class Violation:
    """One broken rule, with what is needed to show it on a map."""

    kind: str
    severity: str
    grids: tuple[str, ...]
    zh: str
    en: str
    geometry: object | None = None  # shapely geometry in the input CRS
    value: float | None = None
    limit: float | None = None
    buildings: tuple = ()

    def as_dict(self) -> dict:
        return {"kind": self.kind, "severity": self.severity, "grids": list(self.grids),
                "buildings": [str(b) for b in self.buildings], "value": self.value,
                "limit": self.limit, "message": {"zh-CN": self.zh, "en": self.en},
                "title": {"zh-CN": KIND_NAMES[self.kind][0], "en": KIND_NAMES[self.kind][1]}}


@dataclass(frozen=True)
class RuleConfig:
    """The numbers of the rules (all settings: towns differ)."""

    level_keys: tuple[str, ...] = ("town", "village", "basic")
    household_cap: int | None = 200           # basic level
    sliver_tolerance_m: float = 0.5           # thinner than this = digitising noise
    undersized_ratio: float = 0.25            # < 25% of the siblings' median households
    spread_ratio: float = 3.0                 # max/min households between siblings
    code_digits: tuple[int, ...] = (3, 3, 3)  # digits each level adds
    min_responsible: int = 2
    min_managers: int = 2                     # basic level
    max_managers: int = 3
    building_tolerance_m2: float = 0.5        # overlaps of a building below this are noise
    noise_area_m2: float = 1e-4               # pieces below 1 cm² are floating-point noise
                                              # (reprojection, T-junctions): not reported

    @property
    def basic(self) -> int:
        return len(self.level_keys) - 1


def _v(kind: str, severity: str, grids: Sequence[str], zh: str, en: str, **kw) -> Violation:
    return Violation(kind, severity, tuple(str(g) for g in grids), zh, en, **kw)


# ---------------------------------------------------------------------------------------------
# geometry helpers

def _is_sliver(geoms: np.ndarray, tol: float) -> np.ndarray:
    """True where a polygonal piece is thinner than ``tol`` everywhere (erodes to nothing)."""
    if len(geoms) == 0:
        return np.zeros(0, dtype=bool)
    return shapely.is_empty(shapely.buffer(geoms, -tol / 2.0, quad_segs=2))


def _pieces(geom) -> np.ndarray:
    """Polygon parts of a (multi)polygon or collection, as an array."""
    if geom is None or geom.is_empty:
        return np.empty(0, dtype=object)
    parts = shapely.get_parts(geom)
    return parts[shapely.get_type_id(parts) == 3]


def _classify(kind: str, sliver_kind: str, pieces: np.ndarray, tol: float, noise: float = 1e-4):
    pieces = pieces[shapely.area(pieces) >= noise] if len(pieces) else pieces
    slv = _is_sliver(pieces, tol)
    for piece, s in zip(pieces, slv):
        yield (sliver_kind if s else kind), piece


# ---------------------------------------------------------------------------------------------
# rules on single grids

def check_validity(grids: gpd.GeoDataFrame) -> list[Violation]:
    """Invalid geometries, with the reason from GEOS (never silently fixed)."""
    g = grids.geometry.to_numpy()
    bad = ~shapely.is_valid(g) | shapely.is_empty(g)
    out = []
    for code, geom in zip(grids["code"].to_numpy()[bad], g[bad]):
        reason = "empty geometry" if geom is None or geom.is_empty else shapely.is_valid_reason(geom)
        loc = shapely.Point() if geom is None or geom.is_empty else _reason_point(reason, geom)
        out.append(_v("invalid_geometry", ERROR, [code], f"网格 {code} 几何无效：{reason}",
                      f"Grid {code} has an invalid geometry: {reason}", geometry=loc))
    return out


def _reason_point(reason: str, geom):
    import re
    m = re.search(r"\[([-0-9.e+]+) ([-0-9.e+]+)\]", reason)
    return shapely.Point(float(m.group(1)), float(m.group(2))) if m else geom


def check_codes(grids: gpd.GeoDataFrame, cfg: RuleConfig, base_len: int = 6) -> list[Violation]:
    """Duplicate codes; code length per level; child code extends its parent's code."""
    out = []
    codes = grids["code"].astype(str)
    for code in codes[codes.duplicated()].unique():
        out.append(_v("duplicate_code", ERROR, [code], f"网格编码 {code} 重复", f"Grid code {code} is duplicated"))
    lengths = np.cumsum((base_len,) + tuple(cfg.code_digits))[1:]
    for code, lv, parent in zip(codes, grids["level"], grids["parent_code"]):
        if 0 <= lv < len(lengths) and len(code) != lengths[lv]:
            out.append(_v("code_length", ERROR, [code], f"网格 {code} 编码应为 {lengths[lv]} 位",
                          f"Grid {code} code should have {lengths[lv]} digits", value=len(code),
                          limit=float(lengths[lv])))
        if parent is not None and isinstance(parent, str) and not code.startswith(parent):
            out.append(_v("code_prefix", ERROR, [code, parent], f"网格 {code} 的编码未以上级编码 {parent} 开头",
                          f"Grid {code} code does not start with its parent's code {parent}"))
    return out


def check_multipart(grids: gpd.GeoDataFrame, cfg: RuleConfig) -> list[Violation]:
    """A grid must be one connected piece (地域相邻); sliver parts are ignored."""
    g = grids.geometry.to_numpy()
    n = shapely.get_num_geometries(g)
    out = []
    for i in np.flatnonzero(n > 1):
        parts = _pieces(g[i])
        real = parts[~_is_sliver(parts, cfg.sliver_tolerance_m)]
        if len(real) > 1:
            code = grids["code"].iloc[i]
            out.append(_v("multipart", ERROR, [code], f"网格 {code} 由 {len(real)} 块不相连的区域组成",
                          f"Grid {code} consists of {len(real)} separate pieces", geometry=g[i],
                          value=float(len(real)), limit=1.0))
    return out


# ---------------------------------------------------------------------------------------------
# tiling of siblings inside their parent

def _overlaps(codes: np.ndarray, parents: np.ndarray, geoms: np.ndarray, cfg: RuleConfig,
              misfit: np.ndarray | None = None) -> list[Violation]:
    """Interiors of siblings intersect. Cells of a valid coverage have disjoint interiors, so
    only pairs with a cell the coverage check flagged (``misfit``) need testing: one STRtree
    over all grids queried with those cells, one vectorised predicate pass."""
    tree = STRtree(geoms)
    probe = np.arange(len(geoms)) if misfit is None else np.flatnonzero(misfit)
    a, b = tree.query(geoms[probe], predicate="intersects")
    a = probe[a]
    a, b = np.minimum(a, b), np.maximum(a, b)
    pairs = np.unique(np.stack([a, b], axis=1), axis=0) if len(a) else np.empty((0, 2), dtype=int)
    a, b = pairs[:, 0], pairs[:, 1]
    keep = (a < b) & (parents[a] == parents[b])
    a, b = a[keep], b[keep]
    if len(a) == 0:
        return []
    inter = shapely.relate_pattern(geoms[a], geoms[b], "T********")
    a, b = a[inter], b[inter]
    out = []
    for i, j, ov in zip(a, b, shapely.intersection(geoms[a], geoms[b])):
        for kind, piece in _classify("overlap", "sliver_overlap", _pieces(ov), cfg.sliver_tolerance_m,
                                     cfg.noise_area_m2):
            area = round(float(piece.area), 2)
            sev = ERROR if kind == "overlap" else WARNING
            out.append(_v(kind, sev, [codes[i], codes[j]],
                          f"网格 {codes[i]} 与 {codes[j]} 重叠 {area} 平方米",
                          f"Grids {codes[i]} and {codes[j]} overlap by {area} m²",
                          geometry=piece, value=area, limit=0.0))
    return out


def _misfit_cells(geoms: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Cells whose edges do not match their neighbours' (per level, GEOS coverage check):
    they cannot go through the fast coverage union."""
    bad = np.zeros(len(geoms), dtype=bool)
    for lv in np.unique(levels):
        sel = np.flatnonzero(levels == lv)
        bad[sel] = ~shapely.is_empty(shapely.coverage_invalid_edges(geoms[sel]))
    return bad


def _covers(geoms: np.ndarray, groups: list[np.ndarray], misfit: np.ndarray) -> np.ndarray:
    """Union of each group of sibling cells: coverage union of the fitting cells (10–40×
    faster than an ordinary union) plus an ordinary union of the few misfits."""
    out = np.empty(len(groups), dtype=object)
    for k, idx in enumerate(groups):
        good, bad = idx[~misfit[idx]], idx[misfit[idx]]
        cover = shapely.coverage_union_all(geoms[good]) if len(good) else shapely.Polygon()
        out[k] = shapely.union_all(np.append(geoms[bad], cover)) if len(bad) else cover
    return out


def _gap_violations(pcode: str, piece_geoms: np.ndarray, cfg: RuleConfig, label: tuple[str, str]) -> list[Violation]:
    out = []
    for kind, piece in _classify("gap", "sliver_gap", piece_geoms, cfg.sliver_tolerance_m, cfg.noise_area_m2):
        area = round(float(piece.area), 2)
        out.append(_v(kind, ERROR if kind == "gap" else WARNING, [pcode],
                      f"{label[0]} {pcode} 内有 {area} 平方米未被下级网格覆盖",
                      f"{area} m² of {label[1]} {pcode} is covered by no child grid",
                      geometry=piece, value=area, limit=0.0))
    return out


def _outside_violations(pcode: str, outside, codes: np.ndarray, geoms: np.ndarray, cfg: RuleConfig,
                        label: tuple[str, str]) -> list[Violation]:
    """Pieces of the cover outside the parent, attributed to the child they belong to."""
    out = []
    pieces = _pieces(outside)
    if not len(pieces):
        return out
    ci, pi = STRtree(geoms).query(pieces, predicate="intersects")[::-1]
    for i in np.unique(ci):
        mine = shapely.intersection(shapely.union_all(pieces[pi[ci == i]]), geoms[i])
        for kind, piece in _classify("outside_parent", "sliver_outside", _pieces(mine),
                                     cfg.sliver_tolerance_m, cfg.noise_area_m2):
            area = round(float(piece.area), 2)
            out.append(_v(kind, ERROR if kind == "outside_parent" else WARNING, [codes[i], pcode],
                          f"网格 {codes[i]} 有 {area} 平方米超出{label[0]} {pcode}",
                          f"{area} m² of grid {codes[i]} lies outside {label[1]} {pcode}",
                          geometry=piece, value=area, limit=0.0))
    return out


def _segments(geoms: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every ring segment of ``geoms`` as rows (label, x1, y1, x2, y2), endpoints in a
    canonical order, zero-length segments dropped."""
    parts, pidx = shapely.get_parts(geoms, return_index=True)
    rings, ridx = shapely.get_rings(parts, return_index=True)
    xy, cidx = shapely.get_coordinates(rings, return_index=True)
    same = cidx[:-1] == cidx[1:]
    a, b = xy[:-1][same], xy[1:][same]
    lab = labels[pidx[ridx[cidx[:-1][same]]]]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    a[swap], b[swap] = b[swap].copy(), a[swap].copy()
    seg = np.column_stack([lab.astype(float), a, b])
    return seg[(seg[:, 1] != seg[:, 3]) | (seg[:, 2] != seg[:, 4])]


_PRIMES = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                    0xFF51AFD7ED558CCD], dtype=np.uint64)


def _occurs(rows: np.ndarray, tag: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each row of a float array: how many times it occurs, and (with ``tag``) whether an
    equal row has the same tag. Rows are grouped by a 64-bit hash of their bits, then the
    groups are verified exactly (a hash collision is reported as a clash, never hidden)."""
    u = np.ascontiguousarray(rows).view(np.uint64)
    h = np.zeros(len(rows), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(u.shape[1]):
            h = (h ^ u[:, k]) * _PRIMES[k % len(_PRIMES)]
    codes = pd.factorize(h)[0]                                  # hash table, O(n)
    count = np.bincount(codes)[codes]
    first = np.empty(codes.max() + 1 if len(codes) else 0, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]            # first row of each group
    clash = (u != u[first[codes]]).any(axis=1)                  # a collision: not really equal
    if tag is not None:
        same_tag = np.bincount(codes, weights=tag)[codes]
        clash |= (count == 2) & (same_tag != 1)
    return count, clash


def _exact_tilings(pgeoms: np.ndarray, groups: list[np.ndarray], geoms: np.ndarray,
                   misfit: np.ndarray) -> np.ndarray:
    """Families whose children tile the parent exactly, proven combinatorially: the children
    form a valid coverage (no misfit cell), and the segments they do not share with each other
    are exactly the parent's segments. No polygon overlay needed; families that fail the proof
    (holes, T-junctions, gaps…) go through union and difference."""
    ok = np.array([not misfit[g].any() for g in groups], dtype=bool)
    if not ok.any():
        return ok
    fam_ids = np.flatnonzero(ok)
    child_idx = np.concatenate([groups[f] for f in fam_ids])
    child_lab = np.concatenate([np.full(len(groups[f]), f) for f in fam_ids])
    kids = _segments(geoms[child_idx], child_lab)
    once, clash_k = _occurs(kids)
    outer = kids[once == 1]                                    # segments not shared by two children
    par = _segments(pgeoms[fam_ids], fam_ids)
    both = np.concatenate([outer, par])
    tag = np.concatenate([np.zeros(len(outer)), np.ones(len(par))])
    n, clash_b = _occurs(both, tag)
    bad = (n != 2) | clash_b                                   # on one side only / twice on a side
    bad_fams = np.unique(np.concatenate([both[bad, 0], kids[clash_k, 0]]).astype(np.int64))
    ok[bad_fams] = False
    return ok


def _canonical(geoms: np.ndarray) -> np.ndarray:
    """Normalised, with single-part multi-polygons as polygons, so equal shapes compare equal."""
    one = shapely.get_num_geometries(geoms) == 1
    out = geoms.copy()
    out[one] = shapely.get_geometry(geoms[one], 0)
    return shapely.normalize(out)


PARENT_LABEL = ("上级网格", "parent grid")
TOP = "<top>"  # parent key of the top level (numpy strings cannot hold "\\0")
BOUNDARY_LABEL = ("辖区", "jurisdiction")


def check_tiling(grids: gpd.GeoDataFrame, cfg: RuleConfig, boundary=None,
                 boundary_code: str = "boundary") -> list[Violation]:
    """Siblings must tile their parent: no overlap, no gap (holes count), nothing outside.

    The top level tiles ``boundary`` (the jurisdiction) when it is given. Vectorised: one
    spatial-index pass finds sibling overlaps for all families; each family's cover is a
    coverage union; gaps and outside parts are two array differences, skipped where a
    family's cover is exactly its parent (the usual case for a clean tiling).
    """
    valid = shapely.is_valid(grids.geometry.to_numpy())
    g = grids[valid]
    codes = g["code"].to_numpy(dtype=object).astype(str)
    parents = g["parent_code"].to_numpy(dtype=object)
    parents = np.where(pd.isna(parents), TOP, parents).astype(str)
    geoms, levels = g.geometry.to_numpy(), g["level"].to_numpy()
    misfit = _misfit_cells(geoms, levels)
    out = _overlaps(codes, parents, geoms, cfg, misfit)
    out += _orphans_and_levels(grids, codes, parents, levels)
    pos = {c: i for i, c in enumerate(codes)}
    order = np.argsort(parents, kind="stable")
    keys, starts = np.unique(parents[order], return_index=True)
    groups = np.split(order, starts[1:])
    fams = [(k, grp) for k, grp in zip(keys, groups) if k in pos or (k == TOP and boundary is not None)]
    if not fams:
        return out
    pgeoms = np.array([boundary if k == TOP else geoms[pos[k]] for k, _ in fams], dtype=object)
    todo = np.flatnonzero(~_exact_tilings(pgeoms, [grp for _, grp in fams], geoms, misfit))
    if len(todo):
        covers = np.empty(len(fams), dtype=object)
        covers[todo] = _covers(geoms, [fams[t][1] for t in todo], misfit)
        same = shapely.equals_exact(_canonical(pgeoms[todo]), _canonical(covers[todo]), 0.0)
        todo = todo[~same]
    if len(todo):
        gaps = shapely.difference(pgeoms[todo], covers[todo])
        outs = shapely.difference(covers[todo], pgeoms[todo])
        for t, k, gap, outside in zip(todo, [fams[t][0] for t in todo], gaps, outs):
            label, pcode = (BOUNDARY_LABEL, boundary_code) if k == TOP else (PARENT_LABEL, k)
            out += _gap_violations(pcode, _pieces(gap), cfg, label)
            grp = fams[t][1]
            out += _outside_violations(pcode, outside, codes[grp], geoms[grp], cfg, label)
    return out


def _orphans_and_levels(grids: gpd.GeoDataFrame, codes: np.ndarray, parents: np.ndarray,
                        levels: np.ndarray) -> list[Violation]:
    level_of = dict(zip(grids["code"].astype(str), grids["level"]))
    out = []
    for c, p, lv in zip(codes, parents, levels):
        if p == TOP:
            continue
        if p not in level_of:
            out.append(_v("orphan", ERROR, [c, p], f"网格 {c} 的上级网格 {p} 不存在",
                          f"Parent {p} of grid {c} does not exist"))
        elif lv != level_of[p] + 1:
            out.append(_v("wrong_parent_level", ERROR, [c, p],
                          f"网格 {c}（第 {lv + 1} 级）的上级 {p} 是第 {level_of[p] + 1} 级",
                          f"Grid {c} (level {lv + 1}) has parent {p} of level {level_of[p] + 1}",
                          value=float(level_of[p]), limit=float(lv - 1)))
    return out


# ---------------------------------------------------------------------------------------------
# households and buildings

@dataclass
class BuildingPlacement:
    """Which basic grid(s) each building lies in."""

    grid_index: np.ndarray      # index into basic grids of the containing grid, -1 if none/cut
    unassigned: np.ndarray      # building positions in no basic grid
    cut: dict[int, np.ndarray] = field(default_factory=dict)  # building position -> grid positions


def place_buildings(basic_geoms: np.ndarray, bgeoms: np.ndarray, tol_m2: float = 0.5) -> BuildingPlacement:
    """Locate buildings in basic grids: prepared ``contains`` from the grid side first (the
    cheap, common case), then the few left over are checked for being cut or outside."""
    n = len(bgeoms)
    idx = np.full(n, -1, dtype=np.int64)
    if n == 0 or len(basic_geoms) == 0:
        return BuildingPlacement(idx, np.arange(n))
    # (the tree prepares each grid for the query itself; preparing the shared grid objects here
    #  would mutate them while another thread validates the tiling)
    tree = STRtree(bgeoms)
    gi, bi = tree.query(basic_geoms, predicate="contains")
    idx[bi] = gi
    rest = np.flatnonzero(idx < 0)
    if len(rest) == 0:
        return BuildingPlacement(idx, rest)
    gtree = STRtree(basic_geoms)
    r, g = gtree.query(bgeoms[rest], predicate="intersects")
    area = shapely.area(shapely.intersection(bgeoms[rest][r], basic_geoms[g]))
    sig = area > tol_m2
    r, g, area = r[sig], g[sig], area[sig]
    counts = np.bincount(r, minlength=len(rest))
    cut = {int(rest[k]): g[r == k] for k in np.flatnonzero(counts > 1)}
    single = np.flatnonzero(counts == 1)
    # a building inside one grid except for noise at the boundary belongs to that grid
    idx[rest[single]] = g[np.searchsorted(r, single)] if len(single) else idx[rest[single]]
    unassigned = rest[counts == 0]
    return BuildingPlacement(idx, unassigned, cut)


def check_buildings(basic: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, cfg: RuleConfig,
                    placement: BuildingPlacement | None = None) -> list[Violation]:
    """不留空白民居: every residential building in exactly one basic grid, none cut."""
    bg = buildings.geometry.to_numpy()
    pl = placement or place_buildings(basic.geometry.to_numpy(), bg, cfg.building_tolerance_m2)
    bid = _building_ids(buildings)
    res = buildings["residential"].to_numpy(dtype=bool) if "residential" in buildings else np.ones(len(bg), bool)
    hh = buildings["households"].to_numpy() if "households" in buildings else np.zeros(len(bg))
    codes = basic["code"].to_numpy()
    out = []
    for i in pl.unassigned:
        if res[i]:
            out.append(_v("building_unassigned", ERROR, [], f"住宅建筑 {bid[i]}（{int(hh[i])} 户）不在任何基础网格内",
                          f"Residential building {bid[i]} ({int(hh[i])} households) lies in no basic grid",
                          geometry=bg[i], buildings=(bid[i],), value=float(hh[i])))
    for i, gs in pl.cut.items():
        names = [str(codes[k]) for k in gs]
        out.append(_v("building_cut", ERROR if res[i] else WARNING, names,
                      f"建筑 {bid[i]} 被网格 {'、'.join(names)} 的边界切割",
                      f"Building {bid[i]} is cut by the boundary of grids {', '.join(names)}",
                      geometry=bg[i], buildings=(bid[i],), value=float(len(gs)), limit=1.0))
    return out


def _building_ids(buildings: gpd.GeoDataFrame) -> np.ndarray:
    for col in ("code", "id"):
        if col in buildings:
            vals = buildings[col].to_numpy(dtype=object)
            if col == "code" and "id" in buildings:
                vals = np.where(pd.isna(vals), buildings["id"].astype(str).to_numpy(), vals)
            return vals.astype(str)
    return np.array([f"#{i}" for i in range(len(buildings))])


def households_per_grid(basic: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame,
                        placement: BuildingPlacement) -> np.ndarray:
    """Households of each basic grid from the buildings placed in it (cut ones excluded)."""
    hh = buildings["households"].to_numpy(dtype=np.int64)
    ok = placement.grid_index >= 0
    return np.bincount(placement.grid_index[ok], weights=hh[ok], minlength=len(basic)).astype(np.int64)


def check_households(grids: gpd.GeoDataFrame, cfg: RuleConfig) -> list[Violation]:
    """Household cap of basic grids; merge candidates; spread between siblings (规模相当).

    ``grids`` needs a ``households`` column (see :func:`households_per_grid`).
    """
    out = []
    basic = grids[(grids["level"] == cfg.basic).to_numpy()]
    hh = basic["households"].to_numpy(dtype=float)
    codes, geoms = basic["code"].to_numpy(), basic.geometry.to_numpy()
    if cfg.household_cap is not None:
        for i in np.flatnonzero(hh > cfg.household_cap):
            out.append(_v("over_cap", ERROR, [codes[i]],
                          f"基础网格 {codes[i]} 有 {int(hh[i])} 户，超过上限 {cfg.household_cap} 户",
                          f"Basic grid {codes[i]} holds {int(hh[i])} households, over the cap of {cfg.household_cap}",
                          geometry=geoms[i], value=float(hh[i]), limit=float(cfg.household_cap)))
    par = basic["parent_code"].astype(str).to_numpy()
    stats = pd.DataFrame({"p": par, "h": hh}).groupby("p")["h"]
    size, med = stats.transform("size").to_numpy(), stats.transform("median").to_numpy()
    for i in np.flatnonzero((size >= 2) & (hh < cfg.undersized_ratio * med)):
        out.append(_v("undersized", WARNING, [codes[i]],
                      f"基础网格 {codes[i]} 仅 {int(hh[i])} 户，远低于同级中位数 {med[i]:.0f} 户，可考虑合并",
                      f"Basic grid {codes[i]} holds only {int(hh[i])} households, far below the siblings' median "
                      f"{med[i]:.0f}: a merge candidate", geometry=geoms[i], value=hh[i],
                      limit=cfg.undersized_ratio * med[i]))
    agg = stats.agg(["size", "min", "max"])
    agg = agg[(agg["size"] >= 2) & (agg["max"] > 0) & ((agg["min"] == 0) | (agg["max"] > cfg.spread_ratio * agg["min"]))]
    for parent, lo, hi in zip(agg.index, agg["min"], agg["max"]):
        ratio = float("inf") if lo == 0 else round(hi / lo, 2)
        out.append(_v("size_spread", WARNING, [parent],
                      f"{parent} 下各网格户数从 {int(lo)} 到 {int(hi)} 不等（相差 {ratio} 倍）",
                      f"Households of the grids under {parent} range from {int(lo)} to {int(hi)} "
                      f"({ratio}×)", value=ratio if np.isfinite(ratio) else None, limit=cfg.spread_ratio))
    return out


# ---------------------------------------------------------------------------------------------
# staffing (三定: 定格、定人、定责)

def check_staff(grids: gpd.GeoDataFrame, assignments: pd.DataFrame, cfg: RuleConfig) -> list[Violation]:
    """Every grid has >= ``min_responsible`` responsible persons (a person may be assigned to
    several grids); a basic grid has ``min_managers``–``max_managers`` grid managers.

    ``assignments`` has columns ``grid_code`` and ``role``.
    """
    counts = assignments.groupby(["grid_code", "role"]).size().unstack(fill_value=0) \
        if len(assignments) else pd.DataFrame()
    out = []
    for code, lv, geom in zip(grids["code"], grids["level"], grids.geometry):
        c = counts.loc[code] if code in counts.index else pd.Series(dtype=int)
        total = int(c.sum()) if len(c) else 0
        resp = int(c.get("responsible", 0))
        if lv != cfg.basic and resp < cfg.min_responsible:
            out.append(_v("understaffed", ERROR, [code],
                          f"网格 {code} 只有 {resp} 名责任人员（至少 {cfg.min_responsible} 名）",
                          f"Grid {code} has {resp} responsible persons (at least {cfg.min_responsible})",
                          geometry=geom, value=float(resp), limit=float(cfg.min_responsible)))
        if lv == cfg.basic:
            m = int(c.get("grid_manager", 0))
            if m < cfg.min_managers or m > cfg.max_managers:
                sev = ERROR if m < cfg.min_managers else WARNING
                out.append(_v("understaffed", sev, [code],
                              f"基础网格 {code} 有 {m} 名网格员（应为 {cfg.min_managers}–{cfg.max_managers} 名），共 {total} 人",
                              f"Basic grid {code} has {m} grid managers ({cfg.min_managers}–{cfg.max_managers} "
                              f"expected), {total} staff in all", geometry=geom, value=float(m),
                              limit=float(cfg.min_managers if m < cfg.min_managers else cfg.max_managers)))
    return out


# ---------------------------------------------------------------------------------------------
# everything

def validate(grids: gpd.GeoDataFrame, cfg: RuleConfig = RuleConfig(), *, boundary=None,
             buildings: gpd.GeoDataFrame | None = None, assignments: pd.DataFrame | None = None,
             base_code_len: int = 6) -> list[Violation]:
    """All grid rules. ``grids`` (metric CRS) has ``code``, ``level`` (0 = top) and
    ``parent_code``; ``buildings`` (same CRS) has ``households`` and ``residential``;
    ``assignments`` has ``grid_code`` and ``role``. Household counts come from the buildings
    when given, else from a ``households`` column of ``grids`` if present."""
    if buildings is not None and grids.crs != buildings.crs:
        raise ValueError(f"CRS differ: grids {grids.crs} vs buildings {buildings.crs}")
    if grids.crs is not None and not grids.crs.is_projected:
        raise ValueError("grid rules are computed in metres: give grids in a projected CRS")
    grids = grids.copy()
    basic_mask = (grids["level"] == cfg.basic).to_numpy()
    basic = grids[basic_mask]
    with ThreadPoolExecutor(max_workers=1) as pool:  # GEOS releases the GIL: use both cores
        placing = None if buildings is None else pool.submit(
            place_buildings, basic.geometry.to_numpy(), buildings.geometry.to_numpy(), cfg.building_tolerance_m2)
        out = check_validity(grids) + check_codes(grids, cfg, base_code_len) + check_multipart(grids, cfg)
        out += check_tiling(grids, cfg, boundary=boundary)
        pl = placing.result() if placing is not None else None
    if buildings is not None:
        out += check_buildings(basic, buildings, cfg, pl)
        grids.loc[basic_mask, "households"] = households_per_grid(basic, buildings, pl)
    if "households" in grids:
        out += check_households(grids, cfg)
    if assignments is not None:
        out += check_staff(grids, assignments, cfg)
    return out


def config_from_levels(levels: Sequence[dict], household_cap: int | None = None,
                       sliver_tolerance_m: float = 0.5) -> RuleConfig:
    """RuleConfig from a jurisdiction's level configuration (api settings' GridLevelConfig)."""
    basic = levels[-1]
    return RuleConfig(level_keys=tuple(lv["key"] for lv in levels),
                      household_cap=household_cap or basic.get("household_cap"),
                      code_digits=tuple(lv["code_digits"] for lv in levels),
                      min_responsible=min(lv.get("min_responsible", 2) for lv in levels),
                      min_managers=basic.get("min_managers", 2),
                      max_managers=basic.get("max_managers") or 3,
                      sliver_tolerance_m=sliver_tolerance_m)
