"""The city-scale benchmark set: a synthetic city around Hangzhou (杭州市西湖区), seeded and
deterministic, built with vectorised numpy / shapely (no per-feature Python loop).

What it holds (the sizes of ARCHITECTURE.md's "one city"):

- 50 towns / sub-districts (镇/街道) → 1,000 communities (村/社区) → 20,000 basic grids
  (基础网格). Each level tiles its parent exactly (shared edges are the very same vertices),
  the towns tile the city boundary. Basic grids are irregular, ~100 vertices each, like
  digitised ones: a Voronoi partition of jittered seeds, denser in the centre, whose edges are
  densified and bent once per edge (so both neighbours share them exactly). Codes follow the
  6+3+3+3 profile starting with the real county code 330106.
- 1,000,000 building footprints: rectangles of realistic size in rows per grid (each grid has
  its land use: estates, old town, urban village, commerce, industry, campuses), never
  overlapping, each lying inside exactly one basic grid, with households, residential flag,
  floors, codes (grid code + 4 digits) and addresses. Households per grid are drawn around
  165 and shared by floor area (at least one per home), so dense urban-village grids exceed
  the 200-household cap, as in real data.
- 100,000 cameras with valid 20-digit GB/T 28181 IDs (centre code 33010601-50, industry,
  type 131/132, then the 7-digit serial field: network digit + 6 unique digits), most hung on
  building walls looking outwards, the rest on streets (PTZ domes among them).
- 1,000,000 incidents over the year 2025 (UTC instants; Beijing-time daily rhythm) with hot
  spots, seasons, and the closed-loop status timestamps the database checks.

Everything is computed in UTM 50N (EPSG:32650) and handed out in EPSG:4326.

Examples
--------
>>> g = city_grids(towns=2, communities_per_town=2, grids_per_community=3)
>>> g["level"].value_counts().sort_index().tolist()
[2, 4, 12]
>>> sorted(g["code"].str.len().unique().tolist())
[9, 12, 15]
"""
from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.spatial import Voronoi

from gis.vocab import CAMERA_KINDS, INCIDENT_SOURCES, INCIDENT_STATUSES, INCIDENT_TYPES

SEED = 20261121
CENTRE_LONLAT = (120.13, 30.26)      # 杭州 west of the lake shore
METRIC_EPSG = 32650                  # WGS 84 / UTM 50N
STORAGE_EPSG = 4326
COUNTY_CODE = "330106"               # 杭州市西湖区 (统计用区划代码)
CITY_NAME = ("西湖区（合成城市）", "Xihu (synthetic city)")
TOWNS, COMMUNITIES_PER_TOWN, GRIDS_PER_COMMUNITY = 50, 20, 20
N_BUILDINGS, N_CAMERAS, N_INCIDENTS = 1_000_000, 100_000, 1_000_000

SEED_SPACING_M = 125.0     # basic-grid seed spacing in the centre (design space)
EXPANSION_M = 8_000.0      # grids grow with distance: scale 1 + r / EXPANSION_M outwards
EDGE_VERTEX_SPACING_M = 7.5  # one vertex per ~7.5 m of edge (grids get ~100 vertices)

Progress = Callable[[str, int], None]

#: The steps of :func:`generate_city`; ``progress`` is called once per step (advance=1).
GENERATE_STEPS = ("grids", "buildings", "cameras", "incidents", "write boundary", "write grids",
                  "write buildings", "write cameras", "write incidents")


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent generator per layer, so one layer never shifts another's numbers."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode())])


@lru_cache(maxsize=2)
def _to_metric() -> Transformer:
    return Transformer.from_crs(STORAGE_EPSG, METRIC_EPSG, always_xy=True)


@lru_cache(maxsize=2)
def _to_storage() -> Transformer:
    return Transformer.from_crs(METRIC_EPSG, STORAGE_EPSG, always_xy=True)


def _to_lonlat(geoms: np.ndarray) -> np.ndarray:
    t = _to_storage()
    return shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _metric(gdf: gpd.GeoDataFrame) -> np.ndarray:
    if gdf.crs is not None and gdf.crs.to_epsg() == METRIC_EPSG:
        return gdf.geometry.to_numpy()
    return gdf.to_crs(METRIC_EPSG).geometry.to_numpy()


def _centre_metric() -> np.ndarray:
    return np.array(_to_metric().transform(*CENTRE_LONLAT))


# ---------------------------------------------------------------------------------------------
# grids

def _seed_lattice(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Jittered hexagonal seeds in design space; the ``n`` innermost (under a wavy city outline)
    are the basic grids, the rest only close their Voronoi cells. Returns (points, inside)."""
    s = SEED_SPACING_M
    radius = np.sqrt(n * s * s * np.sqrt(3) / 2 / np.pi)
    half = 1.6 * radius + 4 * s
    rows = np.arange(-half, half, s * np.sqrt(3) / 2)
    cols = np.arange(-half, half, s)
    x = cols[None, :] + np.where(np.arange(len(rows)) % 2, s / 2, 0.0)[:, None]
    y = np.broadcast_to(rows[:, None], x.shape)
    pts = np.column_stack([x.ravel(), y.ravel()]) + rng.uniform(-0.32, 0.32, (x.size, 2)) * s
    theta = np.arctan2(pts[:, 1], pts[:, 0])
    k = np.arange(2, 6)
    amp, phase = rng.uniform(0.03, 0.10, 4) / np.sqrt(k - 1), rng.uniform(0, 2 * np.pi, 4)
    outline = 1 + (amp * np.cos(k * theta[:, None] + phase)).sum(axis=1)
    rank = np.hypot(pts[:, 0], pts[:, 1]) / outline
    inside = np.sort(np.argsort(rank, kind="stable")[:n])
    r = np.hypot(pts[:, 0], pts[:, 1])
    pts = pts * (1 + r / (2 * EXPANSION_M))[:, None]   # dense centre, wide outskirts
    return pts, inside


@dataclass
class _Edges:
    """Voronoi ridges bordering at least one basic grid, densified (flat point array)."""

    cells: np.ndarray    # (m, 2) cell index on each side, -1 outside the city
    start: np.ndarray    # (m,) first point of each ridge in ``pts``
    npts: np.ndarray     # (m,) points per ridge, ends included
    pts: np.ndarray      # (total, 2)


def _bent_edges(vor: Voronoi, cell_of: np.ndarray, rng: np.random.Generator) -> tuple[_Edges, np.ndarray]:
    """Densify every ridge once and bend it sideways (smooth harmonics + digitising jitter);
    both cells use the same points, so the partition stays an exact coverage.
    Returns the edges and the per-point bend (for straightening edges that break validity)."""
    rp = vor.ridge_points
    cells = cell_of[rp]
    keep = (cells >= 0).any(axis=1)
    rv = np.asarray(vor.ridge_vertices, dtype=np.int64)[keep]
    if (rv < 0).any():
        raise RuntimeError("a basic grid touches the Voronoi infinity: widen the seed lattice")
    cells = cells[keep]
    v0, v1 = vor.vertices[rv[:, 0]], vor.vertices[rv[:, 1]]
    d = v1 - v0
    length = np.hypot(d[:, 0], d[:, 1])
    k = np.clip(np.rint(length / EDGE_VERTEX_SPACING_M), 0, 60).astype(np.int64)
    npts = k + 2
    start = np.concatenate([[0], np.cumsum(npts)[:-1]])
    ridge = np.repeat(np.arange(len(npts)), npts)
    j = np.arange(npts.sum()) - start[ridge]
    t = j / (k + 1)[ridge]
    harm = rng.normal(0, 1, (len(npts), 3)) * np.array([0.045, 0.022, 0.011])
    bend = (harm[ridge, 0] * np.sin(np.pi * t) + harm[ridge, 1] * np.sin(2 * np.pi * t)
            + harm[ridge, 2] * np.sin(3 * np.pi * t)) * length[ridge]
    bend += rng.normal(0, 0.6, len(t)) * np.minimum(np.sin(np.pi * t) * 4, 1)  # hand digitising
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / np.maximum(length, 1e-9)[:, None]
    pts = v0[ridge] + t[:, None] * d[ridge]
    ends = (j == 0) | (j == (k + 1)[ridge])
    bend[ends] = 0.0
    pts[j == 0], pts[j == (k + 1)[ridge]] = v0, v1  # exact shared vertices
    return _Edges(cells, start, npts, pts), bend, normal[ridge]


def _assemble_cells(e: _Edges, pts: np.ndarray, seeds: np.ndarray, n: int) -> np.ndarray:
    """Polygons of the ``n`` basic grids from their (shared) edges, walked counter-clockwise."""
    side_cells, side_ridge = [], []
    for side in (0, 1):
        ok = e.cells[:, side] >= 0
        side_cells.append(e.cells[ok, side])
        side_ridge.append(np.flatnonzero(ok))
    cell, ridge = np.concatenate(side_cells), np.concatenate(side_ridge)
    first, last = pts[e.start[ridge]], pts[e.start[ridge] + e.npts[ridge] - 1]
    s = seeds[cell]
    cross = (first[:, 0] - s[:, 0]) * (last[:, 1] - s[:, 1]) - (first[:, 1] - s[:, 1]) * (last[:, 0] - s[:, 0])
    mid = (first + last) / 2 - s
    order = np.lexsort((np.arctan2(mid[:, 1], mid[:, 0]), cell))
    cell, ridge, fwd = cell[order], ridge[order], cross[order] > 0
    count = e.npts[ridge] - 1                      # the last point starts the next edge
    half = np.repeat(np.arange(len(ridge)), count)
    j = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    idx = np.where(fwd[half], e.start[ridge][half] + j, e.start[ridge][half] + e.npts[ridge][half] - 1 - j)
    rings = shapely.linearrings(pts[idx], indices=cell[half])
    return shapely.polygons(rings)


def _basic_cells(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(polygons, seed points, neighbour pairs) of ``n`` basic grids in metric coordinates
    around the origin; neighbours share an edge."""
    rng = _rng(seed, "grids")
    lattice, inside = _seed_lattice(n, rng)
    cell_of = np.full(len(lattice), -1, dtype=np.int64)
    cell_of[inside] = np.arange(n)
    vor = Voronoi(lattice)
    edges, bend, normal = _bent_edges(vor, cell_of, rng)
    weight = np.ones(len(edges.npts))
    ridge_of_pt = np.repeat(np.arange(len(edges.npts)), edges.npts)
    pairs = edges.cells[(edges.cells >= 0).all(axis=1)]
    for _ in range(6):   # an edge bent across its neighbour makes a cell invalid: straighten it
        pts = edges.pts + (bend * weight[ridge_of_pt])[:, None] * normal
        polys = _assemble_cells(edges, pts, lattice[inside], n)
        bad = np.flatnonzero(~shapely.is_valid(polys))
        if len(bad) == 0:
            return polys, lattice[inside], pairs
        weight[np.isin(edges.cells, bad).any(axis=1)] = 0.0
    raise RuntimeError("could not build valid basic grids")


def _rcb(xy: np.ndarray, parts: int) -> np.ndarray:
    """Recursive coordinate bisection into ``parts`` equal groups; labels in walk order."""
    labels = np.empty(len(xy), dtype=np.int64)
    stack = [(np.arange(len(xy)), parts, 0)]
    while stack:
        idx, p, first = stack.pop()
        if p == 1:
            labels[idx] = first
            continue
        left = p // 2
        axis = int(np.ptp(xy[idx], axis=0).argmax())
        order = idx[np.argsort(xy[idx, axis], kind="stable")]
        cut = int(round(len(idx) * left / p))
        stack += [(order[cut:], p - left, first + left), (order[:cut], left, first)]
    return labels


def _warp(xy: np.ndarray, rng: np.random.Generator, amp: float, wave: float) -> np.ndarray:
    """A smooth displacement (slope < 0.5, so it never folds): bisection lines come out as
    curved boundaries."""
    ph = rng.uniform(0, 2 * np.pi, 4)
    w = 2 * np.pi / wave
    return xy + amp * np.column_stack([np.sin(xy[:, 1] * w + ph[0]) + 0.3 * np.sin(xy[:, 1] * w * 1.7 + ph[1]),
                                       np.sin(xy[:, 0] * w + ph[2]) + 0.3 * np.sin(xy[:, 0] * w * 1.7 + ph[3])])


def _split(seeds: np.ndarray, towns: int, comms: int, grids: int, rng):
    """Town of each community, community of each cell, and an order key within a community
    (equal counts, compact groups with curved borders)."""
    town = _rcb(_warp(seeds, rng, 450.0, 9000.0), towns)
    comm = np.empty(len(seeds), dtype=np.int64)
    key = np.empty(len(seeds), dtype=np.int64)
    for t in range(towns):              # loops over towns and communities, never over features
        it = np.flatnonzero(town == t)
        local = _rcb(_warp(seeds[it], rng, 85.0, 1600.0), comms)
        comm[it] = t * comms + local
        for c in range(comms):
            ic = it[local == c]
            key[ic] = _rcb(seeds[ic], len(ic))
    return np.repeat(np.arange(towns), comms), comm, key


def _groups(label: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(label, kind="stable")
    return order, np.searchsorted(label[order], np.arange(n_groups + 1))


def _union_by(geoms: np.ndarray, label: np.ndarray, n_groups: int) -> np.ndarray:
    order, b = _groups(label, n_groups)
    return np.array([shapely.coverage_union_all(geoms[order[b[k]:b[k + 1]]]) for k in range(n_groups)])


def _connect(label: np.ndarray, geoms: np.ndarray, pairs: np.ndarray, n_groups: int,
             home: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(labels, group unions). Make every group one piece: units (cells or communities) of a group's smaller pieces
    join the neighbouring group they share an edge with (in the same ``home`` if possible).
    Loops only over the few stray units."""
    label = label.copy()
    a, b = np.concatenate([pairs[:, 0], pairs[:, 1]]), np.concatenate([pairs[:, 1], pairs[:, 0]])
    nb_order = np.argsort(a, kind="stable")
    a, b = a[nb_order], b[nb_order]
    nb_bounds = np.searchsorted(a, np.arange(len(geoms) + 1))
    probe = shapely.point_on_surface(geoms)
    for _ in range(20):
        unions = _union_by(geoms, label, n_groups)
        multi = np.flatnonzero(shapely.get_num_geometries(unions) > 1)
        if len(multi) == 0:
            return label, unions
        order, gb = _groups(label, n_groups)
        for k in multi:
            parts = shapely.get_parts(unions[k])
            main = parts[np.argmax(shapely.area(parts))]
            members = order[gb[k]:gb[k + 1]]
            for u in members[~shapely.covers(main, probe[members])]:
                nb = b[nb_bounds[u]:nb_bounds[u + 1]]
                cand = label[nb][label[nb] != k]
                if home is not None and (home[cand] == home[k]).any():
                    cand = cand[home[cand] == home[k]]
                if len(cand):
                    label[u] = np.bincount(cand).argmax()
    raise RuntimeError("could not make every grid one piece")


_NAME_A = list("翠文古北西灵转蒋留双三五龙梅云金银湖紫东南清桃杨花荷竹松柳石")
_NAME_B = list("苑新荡山溪隐塘墩浦桥坞湾港堰里岭园庄洲畈")


def _names(rng: np.random.Generator, k: int) -> np.ndarray:
    n_all = len(_NAME_A) * len(_NAME_B)
    pick = rng.choice(n_all, k, replace=k > n_all)
    return np.array([_NAME_A[i // len(_NAME_B)] + _NAME_B[i % len(_NAME_B)] for i in pick])


def _seq_codes(parent_codes: np.ndarray, parent_of: np.ndarray) -> np.ndarray:
    """Child codes: the parent's code + a 3-digit sequence within the parent (children are
    sorted by parent)."""
    seq = np.arange(len(parent_of)) - np.searchsorted(parent_of, parent_of)
    return np.char.add(parent_codes[parent_of], np.char.zfill((seq + 1).astype(str), 3))


@dataclass
class _City:
    """The grid hierarchy in metric coordinates (what every other layer is placed in)."""

    codes: np.ndarray       # all levels, towns first
    names: np.ndarray
    levels: np.ndarray
    parents: np.ndarray     # parent code, None at the top
    geoms: np.ndarray       # Polygon (MultiPolygon if ever needed), metric
    basic_first: int        # index of the first basic grid
    boundary: object        # city polygon, metric
    community: np.ndarray   # per basic grid, index of its community (0..communities-1)
    land_use: np.ndarray    # per basic grid, index into _LAND_USE

    @property
    def basic(self) -> np.ndarray:
        return self.geoms[self.basic_first:]

    @property
    def basic_codes(self) -> np.ndarray:
        return self.codes[self.basic_first:]

    @property
    def basic_names(self) -> np.ndarray:
        return self.names[self.basic_first:]


@lru_cache(maxsize=2)
def _city(seed: int = SEED, towns: int = TOWNS, comms: int = COMMUNITIES_PER_TOWN,
          grids: int = GRIDS_PER_COMMUNITY) -> _City:
    n, n_comm = towns * comms * grids, towns * comms
    rng = _rng(seed, "hierarchy")
    polys, seeds, pairs = _basic_cells(n, seed)
    polys = shapely.transform(polys, lambda xy: xy + _centre_metric())
    comm_town, comm, key = _split(seeds, towns, comms, grids, rng)
    comm, comm_geoms = _connect(comm, polys, pairs, n_comm, home=comm_town)
    comm_pairs = np.unique(comm[pairs], axis=0)
    comm_town, town_geoms = _connect(comm_town, comm_geoms, comm_pairs[comm_pairs[:, 0] != comm_pairs[:, 1]],
                                     towns)
    c_order = np.lexsort((np.arange(n_comm), comm_town))  # communities by town
    c_rank = np.empty(n_comm, dtype=np.int64)
    c_rank[c_order] = np.arange(n_comm)
    order = np.lexsort((key, c_rank[comm]))                # cells by community, position
    polys, comm = polys[order], c_rank[comm[order]]
    comm_town, comm_geoms = comm_town[c_order], comm_geoms[c_order]
    town_codes = np.array([f"{COUNTY_CODE}{t + 1:03d}" for t in range(towns)])
    comm_codes = _seq_codes(town_codes, comm_town)
    basic_codes = _seq_codes(comm_codes, comm)
    town_names = np.char.add(_names(rng, towns), "街道")
    comm_names = np.char.add(_names(rng, n_comm), np.where(rng.random(n_comm) < 0.3, "村", "社区"))
    basic_names = _basic_names(comm_names, comm)
    return _City(
        codes=np.concatenate([town_codes, comm_codes, basic_codes]).astype(object),
        names=np.concatenate([town_names, comm_names, basic_names]).astype(object),
        levels=np.repeat([0, 1, 2], [towns, n_comm, n]),
        parents=np.concatenate([np.full(towns, None, dtype=object), town_codes[comm_town].astype(object),
                                comm_codes[comm].astype(object)]),
        geoms=np.concatenate([town_geoms, comm_geoms, polys]),
        basic_first=towns + n_comm, boundary=shapely.coverage_union_all(town_geoms),
        community=comm, land_use=_land_use(polys, comm, rng))


def _basic_names(comm_names: np.ndarray, comm: np.ndarray) -> np.ndarray:
    seq = np.arange(len(comm)) - np.searchsorted(comm, comm) + 1
    return np.char.add(np.char.add(comm_names[comm], "第"), np.char.add(seq.astype(str), "网格"))


def city_grids(seed: int = SEED, towns: int = TOWNS, communities_per_town: int = COMMUNITIES_PER_TOWN,
               grids_per_community: int = GRIDS_PER_COMMUNITY, crs: int = STORAGE_EPSG) -> gpd.GeoDataFrame:
    """All grid levels: ``code``, ``name``, ``level`` (0 = town), ``parent_code`` and a
    MultiPolygon geometry, in ``crs`` (EPSG:4326 by default; 32650 gives metres)."""
    c = _city(seed, towns, communities_per_town, grids_per_community)
    geoms = shapely.multipolygons(shapely.get_parts(c.geoms), indices=_part_owner(c.geoms))
    if crs == STORAGE_EPSG:
        geoms = _to_lonlat(geoms)
    elif crs != METRIC_EPSG:
        return city_grids(seed, towns, communities_per_town, grids_per_community).to_crs(crs)
    return gpd.GeoDataFrame({"code": c.codes, "name": c.names, "level": c.levels.astype(np.int16),
                             "parent_code": c.parents}, geometry=geoms, crs=crs)


def city_boundary(seed: int = SEED, towns: int = TOWNS, communities_per_town: int = COMMUNITIES_PER_TOWN,
                  grids_per_community: int = GRIDS_PER_COMMUNITY) -> gpd.GeoDataFrame:
    """The jurisdiction (county) boundary, the union of the towns, in EPSG:4326."""
    c = _city(seed, towns, communities_per_town, grids_per_community)
    return gpd.GeoDataFrame({"code": [COUNTY_CODE], "name": [CITY_NAME[0]], "name_en": [CITY_NAME[1]]},
                            geometry=_to_lonlat(np.array([c.boundary])), crs=STORAGE_EPSG)


def _part_owner(geoms: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(geoms)), shapely.get_num_geometries(geoms))


# ---------------------------------------------------------------------------------------------
# land use and buildings

@dataclass(frozen=True)
class _Use:
    key: str
    plot: tuple[float, float]       # plot pitch along a row, between rows (m)
    width: tuple[float, float]      # footprint share of the pitch along the row
    depth: tuple[float, float]      # footprint share of the pitch between rows
    floors: tuple[int, int]
    residential: float              # share of residential buildings
    weight: tuple[float, float, float]  # how common in the centre / middle ring / outskirts


_LAND_USE = (
    _Use("estate", (30, 38), (0.45, 0.78), (0.30, 0.42), (6, 33), 0.95, (0.30, 0.45, 0.20)),
    _Use("old_town", (15, 17), (0.60, 0.85), (0.55, 0.85), (2, 7), 0.78, (0.35, 0.07, 0.00)),
    _Use("village", (13, 15), (0.60, 0.85), (0.55, 0.80), (2, 5), 0.92, (0.00, 0.25, 0.45)),
    _Use("commercial", (36, 36), (0.45, 0.85), (0.40, 0.80), (3, 30), 0.10, (0.25, 0.10, 0.05)),
    _Use("industrial", (55, 45), (0.50, 0.85), (0.45, 0.80), (1, 4), 0.02, (0.00, 0.05, 0.25)),
    _Use("campus", (42, 38), (0.30, 0.70), (0.25, 0.50), (2, 8), 0.15, (0.10, 0.08, 0.05)),
)
LAND_USES = tuple(u.key for u in _LAND_USE)


def _use_table(attr: str) -> np.ndarray:
    return np.array([getattr(u, attr) for u in _LAND_USE], dtype=float)


def _land_use(polys: np.ndarray, comm: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Land use per basic grid: mostly its community's, drawn by distance from the centre."""
    c = shapely.get_coordinates(shapely.centroid(polys)) - _centre_metric()
    r = np.hypot(c[:, 0], c[:, 1])
    rho = r / max(r.max(), 1.0)
    w = _use_table("weight")                      # (uses, 3 rings)
    at = np.column_stack([np.interp(rho, [0, 0.45, 0.9], w[u]) for u in range(len(w))])
    p = at / at.sum(axis=1, keepdims=True)

    def draw(prob):
        return (prob.cumsum(axis=1) < rng.random(len(prob))[:, None]).sum(axis=1).clip(0, len(w) - 1)

    own = draw(p)
    n_comm = comm.max() + 1
    comm_p = np.column_stack([np.bincount(comm, p[:, u], n_comm) for u in range(len(w))])
    comm_use = draw(comm_p / comm_p.sum(axis=1, keepdims=True))[comm]
    return np.where(rng.random(len(polys)) < 0.7, comm_use, own)


def _candidate_plots(c: _City, grids: np.ndarray, rng: np.random.Generator):
    """Plot centres on a rotated lattice per grid (rows aligned within a community), kept
    where the centre falls in the grid. Returns (grid, x, y, angle, pitch_x, pitch_y)."""
    basic = c.basic[grids]
    use = c.land_use[grids]
    plot = np.array([u.plot for u in _LAND_USE])[use] * rng.uniform(0.88, 1.12, (len(grids), 1))
    comm_angle = rng.uniform(0, np.pi, c.community.max() + 1)
    angle = comm_angle[c.community[grids]] + rng.normal(0, np.radians(5), len(grids))
    b = shapely.bounds(basic)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    radius = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) / 2
    nx = np.ceil(radius / plot[:, 0]).astype(np.int64)
    ny = np.ceil(radius / plot[:, 1]).astype(np.int64)
    count = (2 * nx + 1) * (2 * ny + 1)
    g = np.repeat(np.arange(len(grids)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    i = k % (2 * nx + 1)[g] - nx[g]
    j = k // (2 * nx + 1)[g] - ny[g]
    u, v = i * plot[g, 0], j * plot[g, 1]
    keep = np.hypot(u, v) <= radius[g]
    g, u, v = g[keep], u[keep], v[keep]
    ca, sa = np.cos(angle[g]), np.sin(angle[g])
    x, y = cx[g] + u * ca - v * sa, cy[g] + u * sa + v * ca
    shapely.prepare(basic)
    inside = shapely.contains_xy(basic[g], x, y)
    g = g[inside]
    return g, x[inside], y[inside], angle[g], plot[g, 0], plot[g, 1]


def _rectangles(x, y, angle, w, d) -> np.ndarray:
    ca, sa = np.cos(angle), np.sin(angle)
    ux, uy = np.column_stack([ca, sa]) * (w / 2)[:, None], np.column_stack([-sa, ca]) * (d / 2)[:, None]
    c = np.column_stack([x, y])
    ring = np.stack([c - ux - uy, c + ux - uy, c + ux + uy, c - ux + uy, c - ux - uy], axis=1)
    return shapely.polygons(ring)


def _pick(weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct positions drawn with probability ~ ``weights`` (Efraimidis–Spirakis),
    returned sorted."""
    if k >= len(weights):
        return np.arange(len(weights))
    key = np.log(rng.random(len(weights))) / weights
    return np.sort(np.argpartition(-key, k - 1)[:k])


def _central_grids(c: _City, n_buildings: int) -> np.ndarray:
    """The basic grids nearest the centre that hold ~2x ``n_buildings`` plots (all for a city)."""
    plot = np.array([u.plot for u in _LAND_USE]).prod(axis=1)[c.land_use]
    expect = shapely.area(c.basic) / plot * 0.35
    ctr = shapely.centroid(c.basic)
    dist = np.hypot(*(shapely.get_coordinates(ctr) - _centre_metric()).T)
    order = np.argsort(dist, kind="stable")
    m = int(np.searchsorted(np.cumsum(expect[order]), 2.0 * n_buildings)) + 1
    return np.sort(order[:m])


@dataclass
class _Buildings:
    geoms: np.ndarray       # metric polygons
    grid: np.ndarray        # index into the basic grids
    frame: pd.DataFrame     # code, address, households, residential, floors


def _buildings(n: int, seed: int, c: _City) -> _Buildings:
    rng = _rng(seed, "buildings")
    grids = _central_grids(c, n)
    g, x, y, angle, px, py = _candidate_plots(c, grids, rng)
    occupancy = rng.uniform(0.45, 0.95, len(grids))[g]
    spare = 1.25                                          # some plots fail the edge test below
    while True:
        take = _pick(occupancy, int(n * spare) + 16, rng)
        t_g, t_use = g[take], c.land_use[grids][g[take]]
        lo, hi = _use_table("width")[t_use].T, _use_table("depth")[t_use].T
        w = rng.uniform(lo[0], lo[1]) * px[take]
        d = rng.uniform(hi[0], hi[1]) * py[take]
        tilt = angle[take] + np.clip(rng.normal(0, np.radians(1.5), len(take)), -np.radians(4), np.radians(4))
        geoms = _rectangles(x[take], y[take], tilt, w, d)
        keep = np.flatnonzero(shapely.contains(c.basic[grids][t_g], geoms))   # not cut by a grid edge
        if len(keep) >= n or len(take) == len(g):
            break
        spare *= 1.5
    if len(keep) < n:
        raise ValueError(f"the city holds {len(keep)} plots, fewer than the {n} buildings asked")
    g, use = t_g, t_use
    keep = np.sort(rng.choice(keep, n, replace=False))
    g, use, geoms, w, d = g[keep], use[keep], geoms[keep], w[keep], d[keep]
    gi = grids[g]                                   # basic grid index of each building
    floors_lo, floors_hi = np.array([u.floors for u in _LAND_USE])[use].T
    floors = (floors_lo + (floors_hi - floors_lo + 1) * rng.random(n) ** 1.6).astype(np.int16)
    residential = rng.random(n) < _use_table("residential")[use]
    households = _households(gi, w * d * floors * residential, len(c.basic), rng)
    seq = np.arange(n) - np.searchsorted(gi, gi)    # gi is sorted: position within the grid
    S = np.dtypes.StringDType()
    codes = np.strings.add(c.basic_codes.astype(S)[gi], np.strings.zfill((seq + 1).astype(S), 4))
    roads = _road_names(c, rng)
    address = np.strings.add(np.strings.add(roads.astype(S)[gi], (2 * seq + 1).astype(S)), "号")
    frame = pd.DataFrame({"code": codes.astype(object), "address": address.astype(object),
                          "households": households.astype(np.int32), "residential": residential,
                          "floors": floors})
    return _Buildings(geoms, gi, frame)


def _households(grid: np.ndarray, weight: np.ndarray, n_grids: int, rng) -> np.ndarray:
    """Households per building: each grid's total is drawn around 165 (a few over the 200
    cap) and shared among its residential buildings by floor area."""
    target = np.clip(rng.normal(165, 32, n_grids), 30, 320) * np.where(rng.random(n_grids) < 0.03, 1.4, 1.0)
    total = np.bincount(grid, weights=weight, minlength=n_grids)
    share = np.divide(weight, total[grid], out=np.zeros_like(weight), where=total[grid] > 0)
    return np.where(weight > 0, np.maximum(1, np.rint(target[grid] * share)), 0).astype(np.int64)


def _road_names(c: _City, rng) -> np.ndarray:
    """A street name per basic grid (three streets per community; names may repeat)."""
    n_comm = int(c.community.max()) + 1
    road = np.char.add(_names(rng, 3 * n_comm), np.array(["路", "街", "巷"])[rng.integers(0, 3, 3 * n_comm)])
    k = np.arange(len(c.basic))
    return road[c.community * 3 + k % 3]


def city_buildings(n: int = N_BUILDINGS, seed: int = SEED, grids: gpd.GeoDataFrame | None = None,
                   crs: int = STORAGE_EPSG, *, towns: int = TOWNS,
                   communities_per_town: int = COMMUNITIES_PER_TOWN,
                   grids_per_community: int = GRIDS_PER_COMMUNITY) -> gpd.GeoDataFrame:
    """``n`` building footprints with ``code``, ``address``, ``households``, ``residential``,
    ``floors``, in EPSG:4326 (``crs=32650`` for metres).

    They are placed in the city of :func:`city_grids` with the same ``seed`` (``grids`` is
    accepted for symmetry but the metric grids of that seed are used, so that a building never
    crosses a grid edge by a rounding error). Fewer than a city's worth fill the grids nearest
    the centre. Footprints never overlap and each lies inside exactly one basic grid.
    """
    del grids  # the metric grids of ``seed`` are the reference, see above
    b = _buildings(n, seed, _city(seed, towns, communities_per_town, grids_per_community))
    geoms = _to_lonlat(b.geoms) if crs == STORAGE_EPSG else b.geoms
    out = gpd.GeoDataFrame(b.frame, geometry=geoms, crs=METRIC_EPSG if crs != STORAGE_EPSG else crs)
    return out if crs in (STORAGE_EPSG, METRIC_EPSG) else out.to_crs(crs)


# ---------------------------------------------------------------------------------------------
# cameras

_OWNERS = np.array(["公安分局", "街道办事处", "社区居委会", "物业公司", "学校", "医院", "银行网点",
                    "商户", "交通管理部门", "企业"])


def _wall_mounts(buildings: np.ndarray, k: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``k`` points on (0.2 m inside) the walls of random buildings, and the outward bearing."""
    pick = rng.choice(len(buildings), k, replace=k > len(buildings))
    rings = shapely.get_exterior_ring(buildings[pick])
    xy, owner = shapely.get_coordinates(rings, return_index=True)
    n_pts = np.bincount(owner, minlength=k)
    first = np.cumsum(n_pts) - n_pts
    edge = first + (rng.random(k) * (n_pts - 1)).astype(np.int64)   # a wall (closing point excluded)
    p0, p1 = xy[edge], xy[edge + 1]
    along = p0 + (p1 - p0) * rng.uniform(0.2, 0.8, k)[:, None]
    d = p1 - p0
    out = np.column_stack([d[:, 1], -d[:, 0]]) / np.hypot(d[:, 0], d[:, 1])[:, None]
    out *= np.where(shapely.is_ccw(rings), 1.0, -1.0)[:, None]        # right of a CCW ring = outside
    bearing = np.degrees(np.arctan2(out[:, 0], out[:, 1]))
    return along - 0.2 * out, bearing


def _street_points(c: _City, k: int, rng) -> np.ndarray:
    """Points a few metres inside grid edges (streets run along them)."""
    grid = rng.integers(0, len(c.basic), k)
    xy, owner = shapely.get_coordinates(shapely.get_exterior_ring(c.basic), return_index=True)
    n_pts = np.bincount(owner, minlength=len(c.basic))
    first = np.cumsum(n_pts) - n_pts
    v = first[grid] + (rng.random(k) * (n_pts[grid] - 1)).astype(np.int64)
    inner = shapely.get_coordinates(shapely.point_on_surface(c.basic))[grid]
    step = np.minimum(rng.uniform(2, 8, k) / np.maximum(np.hypot(*(inner - xy[v]).T), 1e-9), 0.5)
    return xy[v] + (inner - xy[v]) * step[:, None]


def _locate(points: np.ndarray, polys: np.ndarray) -> np.ndarray:
    """Index of the polygon containing each point (prepared polygons drive the query), -1 if none."""
    pts = shapely.points(points)
    out = np.full(len(points), -1, dtype=np.int64)
    poly_i, pt_i = shapely.STRtree(pts).query(polys, predicate="contains")
    out[pt_i] = poly_i
    return out


def city_cameras(n: int = N_CAMERAS, seed: int = SEED, buildings: gpd.GeoDataFrame | None = None,
                 crs: int = STORAGE_EPSG, *, towns: int = TOWNS,
                 communities_per_town: int = COMMUNITIES_PER_TOWN,
                 grids_per_community: int = GRIDS_PER_COMMUNITY) -> gpd.GeoDataFrame:
    """``n`` cameras with GB/T 28181 ``gb_id`` and view parameters, in EPSG:4326.

    With ``buildings`` two thirds hang on their walls (the point 0.2 m inside the footprint,
    looking outwards ± 25°); the rest (all, without buildings) stand near streets, 45% of those
    PTZ domes seeing all round. Sensitive data in real life: this set is synthetic.
    """
    rng = _rng(seed, "cameras")
    c = _city(seed, towns, communities_per_town, grids_per_community)
    n_wall = int(round(n * 2 / 3)) if buildings is not None and len(buildings) else 0
    xy = np.empty((n, 2))
    azimuth = rng.uniform(0, 360, n)
    if n_wall:
        b = _metric(buildings)
        xy[:n_wall], bearing = _wall_mounts(b, n_wall, rng)
        azimuth[:n_wall] = bearing + rng.normal(0, 25, n_wall)
    xy[n_wall:] = _street_points(c, n - n_wall, rng)
    ptz = np.where(np.arange(n) < n_wall, rng.random(n) < 0.05, rng.random(n) < 0.45)
    grid = _locate(xy, c.basic)
    lost = grid < 0                                  # rare: a bent edge; use the grid's inside point
    if lost.any():
        grid[lost] = rng.integers(0, len(c.basic), lost.sum())
        xy[lost] = shapely.get_coordinates(shapely.point_on_surface(c.basic[grid[lost]]))
    town = _locate(xy, c.geoms[c.levels == 0])
    order = np.argsort(grid, kind="stable")          # cameras listed grid by grid
    xy, azimuth, ptz, town, grid = xy[order], azimuth[order], ptz[order], town[order], grid[order]
    gb_id = _gb_ids(np.maximum(town, 0), ptz, rng)
    seq = np.arange(n) - np.searchsorted(grid, grid) + 1
    names = c.basic_names[grid].astype(str)
    frame = pd.DataFrame({
        "gb_id": gb_id,
        "name": np.char.add(np.char.add(names, np.where(ptz, "球机", "枪机")), seq.astype(str)).astype(object),
        "height_m": np.round(np.where(ptz, rng.uniform(6, 12, n), rng.uniform(2.8, 8, n)), 1),
        "azimuth_deg": np.round(np.mod(azimuth, 360), 1) % 360,
        "hfov_deg": np.where(ptz, 360.0, np.round(rng.uniform(45, 100, n))),
        "range_m": np.round(np.where(ptz, rng.uniform(80, 200, n), rng.uniform(25, 90, n))),
        "kind": np.where(ptz, "ptz", "fixed").astype(object),
        "networked": rng.random(n) < 0.83,
        "online": rng.random(n) < 0.93,
        "documented": rng.random(n) < 0.75,
        "owner": _OWNERS[rng.integers(0, len(_OWNERS), n)].astype(object),
    })
    assert set(frame["kind"]) <= set(CAMERA_KINDS)
    pts = shapely.points(xy)
    out = gpd.GeoDataFrame(frame, geometry=_to_lonlat(pts), crs=STORAGE_EPSG)
    return out if crs == STORAGE_EPSG else out.to_crs(crs)


def _gb_ids(town: np.ndarray, ptz: np.ndarray, rng) -> np.ndarray:
    """20-digit GB/T 28181 IDs: centre (county + 2 police-station digits per town), industry
    (2), type (3: 131 camera / 132 network camera), then the 7-digit serial field whose first
    digit is the network code and the other six are unique here."""
    n = len(town)
    centre = np.char.add(COUNTY_CODE, np.char.zfill((town % 99 + 1).astype(str), 2))
    industry = np.array(["00", "01", "02", "03", "04"])[rng.choice(5, n, p=[0.35, 0.3, 0.2, 0.05, 0.1])]
    kind = np.where(ptz | (rng.random(n) < 0.8), "132", "131")
    network = rng.choice(np.array(list("01234")), n, p=[0.55, 0.15, 0.1, 0.05, 0.15])
    if n > 1_000_000:
        raise ValueError("at most 1,000,000 cameras get unique serials")
    serial = np.char.zfill(rng.choice(1_000_000, n, replace=False).astype(str), 6)
    out = centre
    for part in (industry, kind, network, serial):
        out = np.char.add(out, part)
    return out.astype(object)


# ---------------------------------------------------------------------------------------------
# incidents

_YEAR = pd.Timestamp("2025-01-01", tz="Asia/Shanghai")
_HOURLY = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.2, 3.4, 4.2, 4.4, 4.0,
                    3.2, 3.4, 4.0, 4.2, 4.0, 3.6, 3.4, 3.6, 3.8, 3.2, 2.2, 1.4])


def _incident_places(n: int, c: _City, anchors: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """(xy, hot spot or -1): 55% in ~300 hot spots (σ 30-250 m), the rest near ``anchors``;
    only places inside the city are kept."""
    n_hot = 300
    centre = anchors[rng.integers(0, len(anchors), n_hot)]
    weight = rng.lognormal(0, 1.0, n_hot)
    sigma = rng.uniform(30, 250, n_hot)
    shapely.prepare(c.boundary)
    xy, spot = np.empty((0, 2)), np.empty(0, dtype=np.int64)
    while len(xy) < n:
        m = int((n - len(xy)) * 1.1) + 100
        hs = np.where(rng.random(m) < 0.55, rng.choice(n_hot, m, p=weight / weight.sum()), -1)
        p = anchors[rng.integers(0, len(anchors), m)] + rng.normal(0, 15.0, (m, 2))
        hot = hs >= 0
        p[hot] = centre[hs[hot]] + rng.normal(0, 1, (hot.sum(), 2)) * sigma[hs[hot], None]
        inside = shapely.contains_xy(c.boundary, p[:, 0], p[:, 1])
        xy, spot = np.concatenate([xy, p[inside]]), np.concatenate([spot, hs[inside]])
    return xy[:n], spot[:n]


def _incident_times(n: int, rng) -> pd.DataFrame:
    """Occurrence over 2025 (seasonal and daily rhythm) and the closed-loop steps after it;
    the status is the last step reached by the end of the year."""
    day = np.arange(365)
    p_day = 1 + 0.25 * np.sin(2 * np.pi * (day - 100) / 365) + 0.1 * (day % 7 >= 5)
    d = rng.choice(365, n, p=p_day / p_day.sum())
    h = rng.choice(24, n, p=_HOURLY / _HOURLY.sum())
    sec = (d * 86400 + h * 3600 + rng.integers(0, 3600, n)).astype("int64")
    base = _YEAR.value // 10**9                 # seconds since the epoch (UTC)
    minutes = np.column_stack([rng.lognormal(np.log(m), 0.8, n) for m in (20, 90, 1440, 2880, 4320)])
    steps = base + sec[:, None] + np.cumsum(minutes * 60, axis=1).astype("int64")
    stall = rng.random(n)                       # some cases stop early (still open / not rated)
    last = np.where(stall < 0.04, 2, np.where(stall < 0.1, 4, 5))
    reached = (steps <= base + 365 * 86400) & (np.arange(5) < last[:, None])
    reached = np.logical_and.accumulate(reached, axis=1)
    reached[:, 0] = True                        # reporting happens with the incident
    status = np.array(list(INCIDENT_STATUSES))[reached.sum(axis=1) - 1]
    cols = ["reported_at", "accepted_at", "handled_at", "resolved_at", "evaluated_at"]
    out = {"occurred_at": _local_times(base + sec)}
    for i, col in enumerate(cols):
        out[col] = _local_times(steps[:, i], reached[:, i])
    out["status"] = status.astype(object)
    return pd.DataFrame(out)


def _local_times(sec: np.ndarray, present: np.ndarray | None = None) -> pd.DatetimeIndex:
    t = sec.astype("datetime64[s]")
    if present is not None:
        t[~present] = np.datetime64("NaT")
    return pd.DatetimeIndex(t).tz_localize("UTC")


def city_incidents(n: int = N_INCIDENTS, seed: int = SEED, buildings: gpd.GeoDataFrame | None = None,
                   crs: int = STORAGE_EPSG, *, towns: int = TOWNS,
                   communities_per_town: int = COMMUNITIES_PER_TOWN,
                   grids_per_community: int = GRIDS_PER_COMMUNITY) -> gpd.GeoDataFrame:
    """``n`` incidents of 2025 with ``type``, ``source``, ``status`` and the step timestamps
    (UTC instants; the daily rhythm is Beijing time's), clustered in hot spots, in EPSG:4326. Places follow ``buildings`` when
    given, else the basic grids."""
    rng = _rng(seed, "incidents")
    c = _city(seed, towns, communities_per_town, grids_per_community)
    if buildings is not None and len(buildings):
        anchors = shapely.get_coordinates(shapely.centroid(_metric(buildings)))
    else:
        anchors = shapely.get_coordinates(shapely.point_on_surface(c.basic))
    xy, spot = _incident_places(n, c, anchors, rng)
    types = np.array(list(INCIDENT_TYPES))
    base = rng.choice(len(types), n, p=[0.3, 0.15, 0.2, 0.25, 0.1])
    spot_type = rng.integers(0, len(types), 300)
    t = np.where((spot >= 0) & (rng.random(n) < 0.6), spot_type[np.maximum(spot, 0)], base)
    frame = _incident_times(n, rng)
    frame.insert(0, "type", types[t].astype(object))
    frame.insert(1, "source", np.array(list(INCIDENT_SOURCES))[
        rng.choice(len(INCIDENT_SOURCES), n, p=[0.55, 0.2, 0.1, 0.15])].astype(object))
    out = gpd.GeoDataFrame(frame, geometry=_to_lonlat(shapely.points(xy)), crs=STORAGE_EPSG)
    return out if crs == STORAGE_EPSG else out.to_crs(crs)


# ---------------------------------------------------------------------------------------------
# files

def _write(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> Path:
    import pyogrio

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    try:   # Arrow writes datetimes ~10x faster than the per-feature path
        import pyarrow  # noqa: F401
        arrow = True
    except ImportError:
        arrow = False
    pyogrio.write_dataframe(gdf, path, layer=layer, use_arrow=arrow)
    return path


def generate_city(out_dir: Path, seed: int = SEED, progress: Progress | None = None, *,
                  fmt: str = "fgb", buildings: int = N_BUILDINGS, cameras: int = N_CAMERAS,
                  incidents: int = N_INCIDENTS, towns: int = TOWNS,
                  communities_per_town: int = COMMUNITIES_PER_TOWN,
                  grids_per_community: int = GRIDS_PER_COMMUNITY) -> dict[str, Path]:
    """Write the city set to ``out_dir``, one file per layer; returns ``{layer: path}`` for
    ``boundary``, ``grids``, ``buildings``, ``cameras``, ``incidents``.

    ``progress(description, advance)`` is called once per finished step of
    :data:`GENERATE_STEPS` with ``advance=1`` (so a bar's total is ``len(GENERATE_STEPS)``);
    ``fmt`` is ``"fgb"`` (FlatGeobuf, default) or ``"gpkg"`` (GeoPackage). Same seed, same
    files (up to the writer's own metadata). The keyword sizes make smaller cities (tests).
    """
    if fmt not in ("fgb", "gpkg"):
        raise ValueError(f"unknown format {fmt!r}: fgb or gpkg")
    out_dir = Path(out_dir)
    step = (lambda what: progress(what, 1)) if progress else (lambda what: None)
    size = {"towns": towns, "communities_per_town": communities_per_town,
            "grids_per_community": grids_per_community}
    grids = city_grids(seed, **size)
    step("grids")
    bld = city_buildings(buildings, seed, crs=METRIC_EPSG, **size)   # metres, to place the others
    step("buildings")
    cams = city_cameras(cameras, seed, buildings=bld, **size)
    step("cameras")
    inc = city_incidents(incidents, seed, buildings=bld, **size)
    step("incidents")
    bld = bld.set_geometry(_to_lonlat(bld.geometry.to_numpy()), crs=STORAGE_EPSG)
    layers = {"boundary": city_boundary(seed, **size), "grids": grids, "buildings": bld, "cameras": cams,
              "incidents": inc}
    paths = {}
    for name, gdf in layers.items():
        paths[name] = _write(gdf, out_dir / f"{name}.{fmt}", name)
        step(f"write {name}")
    return paths
