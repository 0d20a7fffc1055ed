"""Automatic proposals of basic grids: split a village / community into grids that hold at
most ``cap`` households (一个基础网格一般不超过200户), each one connected piece (地域相邻),
compact, of similar size (规模相当), following roads, and never cutting a building.

Pure functions in a **metric** CRS. The steps:

1. *Arrangement.* One noded linework — the village boundary, the road centre lines, the
   building outlines and the Voronoi edges between the buildings (Voronoi of points sampled on
   the outlines, only the edges that separate two different buildings, plus a lattice of seeds
   on empty land) — is polygonised once. Road lines and Voronoi edges are removed inside
   buildings, so no line crosses a building. The faces share their edges vertex for vertex:
   every union of faces is an exact coverage of the village.
2. *Units.* Faces of one building (its footprint and the land closest to it), or of one piece
   of empty land, not separated by a road, form a unit. Units carry households, area,
   centroid; a contiguity graph joins units sharing an edge, with the shared length and the
   part of it lying on roads (weighted: streets 1, lanes less). Major roads split the units
   into *blocks*. A road drawn through a building goes round it (the shorter side).
3. *Regions.* Seeds are spread over the blocks in proportion to their households (weighted
   k-means inside each block), regions grow on the unit graph (lightest region first, nearest
   unit first, roads crossed last, never above the cap), leftovers join their lightest
   neighbour, and a local search moves boundary units between neighbouring regions to reduce
   the spread of households, the road length inside regions and the perimeter, keeping every
   region connected; a region left over the cap hands units on along an ejection chain to a
   region with room. Several starts per number of regions, the cheapest kept; if no start
   keeps every region under the cap, one more region is tried.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import LineString, box
>>> village = box(0, 0, 200, 100)
>>> houses = [box(x, y, x + 12, y + 10) for x in range(8, 190, 24) for y in (10, 60)]
>>> blds = gpd.GeoDataFrame({"households": [25] * len(houses)}, geometry=houses, crs=32650)
>>> road = gpd.GeoSeries([LineString([(100, -5), (100, 105)])], crs=32650)
>>> p = propose(village, blds, road, ProposeConfig(cap=120))
>>> sorted(p.cells["households"].tolist())
[100, 100, 100, 100]
>>> p.metrics["max_households"] <= 120, round(p.metrics["road_on_boundary_share"], 2)
(True, 1.0)
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Voronoi, cKDTree

EPS_LEN = 1e-6             # m: shared boundaries shorter than this do not make two units neighbours
GROW_ROAD_PENALTY = 3.0    # growing across a road costs like going 3 grid widths further
RELIEVE_ROUNDS = 4         # rounds of (local search, ejection chains) while a region is over the cap


@dataclass(frozen=True)
class ProposeConfig:
    """Settings of a proposal (all in metres and households)."""

    cap: int = 200                     # households per basic grid, at most
    target: int | None = None          # wished households per grid (default: as few grids as the cap allows)
    follow_roads: bool = True          # grid boundaries along road centre lines where possible
    seed: int = 0                      # random seed: same seed, same proposal
    sample_step_m: float = 3.0         # spacing of the points sampled on building outlines
    empty_spacing_m: float = 50.0      # lattice of units on land far from buildings
    simplify_m: float = 0.5            # Voronoi edges are simplified by this much
    road_weight: float = 1.0           # cost of road length inside grids (per mean unit perimeter)
    balance_weight: float = 1.0        # cost of the spread of households
    compact_weight: float = 0.05       # cost of the perimeter (isoperimetric ratio)
    max_passes: int = 40               # local-search passes
    max_extra_regions: int = 12        # tries with one more grid when a grid stays over the cap
    starts: int = 3                    # runs (different seeds) per number of grids; the best is kept


# ---------------------------------------------------------------------------------------------
# 1. arrangement: faces of one noded linework

def building_clusters(geoms: np.ndarray) -> np.ndarray:
    """Cluster label of each building: buildings that touch or overlap belong together.

    >>> from shapely.geometry import box
    >>> building_clusters(np.array([box(0, 0, 1, 1), box(1, 0, 2, 1), box(5, 5, 6, 6)])).tolist()
    [0, 0, 1]
    """
    n = len(geoms)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    graph = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _outline_samples(geoms: np.ndarray, owner: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    rings = shapely.segmentize(shapely.boundary(geoms), step)
    xy, idx = shapely.get_coordinates(rings, return_index=True)
    return xy, owner[idx]


def _empty_seeds(area, samples: np.ndarray, spacing: float) -> np.ndarray:
    """Points of a hexagonal lattice inside ``area`` farther than ``spacing / 2`` from
    buildings: the seeds of units of empty land (hexagons make smoother grid boundaries than
    squares)."""
    x0, y0, x1, y1 = area.bounds
    dy = spacing * math.sqrt(3) / 2
    gx, gy = np.meshgrid(np.arange(x0, x1 + spacing, spacing), np.arange(y0, y1 + dy, dy))
    gx = gx + (np.arange(gx.shape[0]) % 2)[:, None] * spacing / 2
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts = pts[shapely.contains_xy(area, pts[:, 0], pts[:, 1])]
    if len(samples) and len(pts):
        d, _ = cKDTree(samples).query(pts)
        pts = pts[d > spacing / 2]
    return pts


def _separating_edges(points: np.ndarray, owner: np.ndarray, area) -> np.ndarray:
    """Voronoi edges of ``points`` between two different owners, as line segments."""
    if len(np.unique(owner)) < 2:
        return np.empty(0, dtype=object)
    x0, y0, x1, y1 = area.bounds
    r = 10 * max(x1 - x0, y1 - y0, 1.0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    frame = np.array([[cx - r, cy - r], [cx + r, cy - r], [cx + r, cy + r], [cx - r, cy + r]])
    pts, own = np.vstack([points, frame]), np.concatenate([owner, -1 - np.arange(4)])
    vor = Voronoi(pts)
    rp = vor.ridge_points
    rv = np.array([v if len(v) == 2 else (-1, -1) for v in vor.ridge_vertices])
    keep = (own[rp[:, 0]] != own[rp[:, 1]]) & (rv.min(axis=1) >= 0) & (own[rp].min(axis=1) >= 0)
    segs = vor.vertices[rv[keep]]
    return shapely.linestrings(segs)


def arrangement(area, bgeoms: np.ndarray, bcluster: np.ndarray, roads: np.ndarray,
                cfg: ProposeConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Faces of the noded linework, each face's owner and whether the owner is a building.

    Returns ``faces`` (polygons tiling ``area``), ``owner`` (building cluster, or
    ``n_clusters + k`` for the k-th empty-land seed) and ``in_building`` (the face is part of
    a footprint).
    """
    n_clusters = int(bcluster.max()) + 1 if len(bcluster) else 0
    samples, s_owner = _outline_samples(bgeoms, bcluster, cfg.sample_step_m) if len(bgeoms) \
        else (np.empty((0, 2)), np.empty(0, dtype=np.int64))
    empty = _empty_seeds(area, samples, cfg.empty_spacing_m)
    points = np.vstack([samples, empty])
    owner = np.concatenate([s_owner, n_clusters + np.arange(len(empty))]).astype(np.int64)
    footprint = shapely.union_all(bgeoms) if len(bgeoms) else shapely.Polygon()
    lines = [area.boundary, shapely.boundary(footprint)]
    if len(points) > 1:
        vor = shapely.line_merge(shapely.union_all(_separating_edges(points, owner, area)))
        vor = shapely.simplify(vor, cfg.simplify_m)
        lines.append(shapely.difference(shapely.intersection(vor, area), footprint))
    if len(roads):
        lines.append(shapely.difference(shapely.intersection(shapely.union_all(roads), area), footprint))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(shapely.union_all(lines))))
    rep = shapely.point_on_surface(faces)
    faces = faces[shapely.contains(area, rep)]
    rep = shapely.point_on_surface(faces)
    face_owner = np.full(len(faces), -1, dtype=np.int64)
    if len(bgeoms):
        # "intersects": a footprint face's point may lie on a wall shared inside a cluster
        fi, bi = shapely.STRtree(bgeoms).query(rep, predicate="intersects")
        face_owner[fi] = bcluster[bi]
    in_bld = face_owner >= 0
    if len(points) and (~in_bld).any():
        _, nearest = cKDTree(points).query(shapely.get_coordinates(rep[~in_bld]))
        face_owner[~in_bld] = owner[nearest]
    return faces, face_owner, in_bld


# ---------------------------------------------------------------------------------------------
# 2. units and their contiguity graph

@dataclass
class Units:
    """Building-aware units: groups of faces, with their contiguity graph (CSR)."""

    faces: np.ndarray          # polygons (the arrangement)
    face_unit: np.ndarray      # unit of each face
    households: np.ndarray     # per unit
    area: np.ndarray
    perimeter: np.ndarray      # whole boundary length of each unit
    xy: np.ndarray             # area centroid of each unit (n, 2)
    block: np.ndarray          # road-separated block of each unit
    indptr: np.ndarray         # CSR of the unit graph
    nbr: np.ndarray
    length: np.ndarray         # shared boundary length per CSR entry
    road: np.ndarray           # weighted length of the part of it on roads
    building_unit: np.ndarray  # unit of each input building
    road_total: float = 0.0    # weighted road length inside the village (detours included)

    @property
    def n(self) -> int:
        return len(self.households)


def face_edges(faces: np.ndarray) -> tuple[np.ndarray, ...]:
    """Segments of the faces' rings: face, segment key, length and midpoint per segment;
    equal keys mean the same segment (faces from one noded linework share them exactly)."""
    rings, ring_face = shapely.get_rings(faces, return_index=True)
    xy, ri = shapely.get_coordinates(rings, return_index=True)
    same = ri[1:] == ri[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    f = ring_face[ri[:-1][same]]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo, hi = np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)
    key = np.ascontiguousarray(np.hstack([lo, hi])).view([("", float)] * 4).ravel()
    _, seg = np.unique(key, return_inverse=True)
    return f, seg.ravel(), np.hypot(*(hi - lo).T), (lo + hi) / 2


def _shared(faces: np.ndarray, road_lines: np.ndarray, road_w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Face pairs sharing boundary: (i, j, length, road weight), and each face's outer length.
    The road weight of a shared segment is the largest weight of the roads it lies on (0: none)."""
    f, seg, ln, mid = face_edges(faces)
    order = np.argsort(seg, kind="stable")
    f, seg, ln, mid = f[order], seg[order], ln[order], mid[order]
    first = np.r_[True, seg[1:] != seg[:-1]]
    count = np.diff(np.r_[np.flatnonzero(first), len(seg)])
    starts = np.flatnonzero(first)
    pair = starts[count == 2]
    i, j, plen = f[pair], f[pair + 1], ln[pair]
    weight = np.zeros(len(pair))
    if len(road_lines):
        m, r = shapely.STRtree(road_lines).query(shapely.points(mid[pair]), predicate="dwithin", distance=1e-6)
        np.maximum.at(weight, m, road_w[r])
    single = starts[count == 1]
    outer = np.bincount(f[single], weights=ln[single], minlength=len(faces))
    keep = i != j
    return i[keep], j[keep], plen[keep], weight[keep], outer


def _pair_sums(i, j, *vals, n):
    """Symmetric sums over unordered pairs (i != j), as CSR arrays."""
    a, b = np.minimum(i, j), np.maximum(i, j)
    key = a.astype(np.int64) * n + b
    uk, inv = np.unique(key, return_inverse=True)
    sums = [np.bincount(inv, weights=v, minlength=len(uk)) for v in vals]
    a, b = uk // n, uk % n
    return a, b, sums


def _road_pieces(area, bgeoms: np.ndarray, roads: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Road lines inside ``area`` with their weights, plus the detours round the buildings
    they run through (with the weight of their road)."""
    lines, ws = [], []
    for w in np.unique(weights[weights > 0]):
        line = shapely.intersection(shapely.union_all(roads[weights == w]), area)
        parts = list(shapely.get_parts(line)) + road_detours(bgeoms, line)
        lines += parts
        ws += [w] * len(parts)
    return np.asarray(lines, dtype=object), np.asarray(ws, dtype=float)


def build_units(area, buildings: gpd.GeoDataFrame, roads=(), cfg: ProposeConfig = ProposeConfig(),
                road_weights=None) -> Units:
    """Units and their contiguity graph for ``area`` (one polygon, metric CRS). A road's
    weight (default 1) scales the cost of having it inside a grid; roads of weight >= 0.5
    bound the blocks, roads of weight 0 are ignored."""
    bgeoms = buildings.geometry.to_numpy() if len(buildings) else np.empty(0, dtype=object)
    hh = buildings["households"].to_numpy(dtype=float) if len(buildings) else np.zeros(0)
    bcl = building_clusters(bgeoms)
    road_geoms = np.asarray(list(roads), dtype=object) if cfg.follow_roads else np.empty(0, dtype=object)
    rw = np.ones(len(road_geoms)) if road_weights is None or not cfg.follow_roads else \
        np.clip(np.asarray(road_weights, dtype=float), 0, None)
    faces, owner, in_bld = arrangement(area, bgeoms, bcl, road_geoms[rw > 0], cfg)
    pieces, piece_w = _road_pieces(area, bgeoms, road_geoms, rw)
    i, j, ln, w_e, outer = _shared(faces, pieces, piece_w)
    # units: faces of one owner joined across edges on no road; blocks: across no major road
    face_unit = _components_of(len(faces), i, j, (owner[i] == owner[j]) & (w_e == 0))
    face_block = _components_of(len(faces), i, j, w_e < 0.5)
    nu = int(face_unit.max()) + 1 if len(face_unit) else 0
    area_u, xy = _unit_area_centroid(faces, face_unit, nu)
    # households: a building's cluster -> the unit of its footprint face
    cluster_unit = np.full(int(bcl.max()) + 1 if len(bcl) else 0, -1, dtype=np.int64)
    cluster_unit[owner[in_bld]] = face_unit[in_bld]
    building_unit = cluster_unit[bcl] if len(bcl) else np.zeros(0, dtype=np.int64)
    ok = building_unit >= 0
    hh_u = np.bincount(building_unit[ok], weights=hh[ok], minlength=nu)
    indptr, nbr, length, road, per = _unit_graph(face_unit, nu, i, j, ln, ln * w_e, outer)
    block_u = np.zeros(nu, dtype=np.int64)
    block_u[face_unit] = face_block
    road_total = float((shapely.length(pieces) * piece_w).sum()) if len(pieces) else 0.0
    return Units(faces, face_unit, hh_u, area_u, per, xy, _relabel(block_u), indptr, nbr, length, road,
                 building_unit, road_total)


def _components_of(n: int, i: np.ndarray, j: np.ndarray, joined: np.ndarray) -> np.ndarray:
    g = sparse.coo_matrix((np.ones(joined.sum()), (i[joined], j[joined])), shape=(n, n))
    return connected_components(g, directed=False)[1]


def _unit_area_centroid(faces: np.ndarray, face_unit: np.ndarray, nu: int) -> tuple[np.ndarray, np.ndarray]:
    fa = shapely.area(faces)
    c = shapely.get_coordinates(shapely.centroid(faces))
    area_u = np.bincount(face_unit, weights=fa, minlength=nu)
    xy = np.column_stack([np.bincount(face_unit, weights=fa * c[:, k], minlength=nu) for k in (0, 1)])
    return area_u, xy / np.maximum(area_u, 1e-12)[:, None]


def _unit_graph(face_unit, nu: int, i, j, ln, rd, outer) -> tuple[np.ndarray, ...]:
    """CSR of the unit graph (indptr, neighbours, shared length, weighted road length) and
    each unit's perimeter, from the face pairs."""
    ui, uj = face_unit[i], face_unit[j]
    cross = ui != uj
    a, b, (slen, sroad) = _pair_sums(ui[cross], uj[cross], ln[cross], rd[cross], n=nu)
    keep = slen > EPS_LEN
    a, b, slen, sroad = a[keep], b[keep], slen[keep], sroad[keep]
    per = np.bincount(face_unit, weights=outer, minlength=nu) + np.bincount(a, slen, nu) + np.bincount(b, slen, nu)
    eid = np.arange(1, 2 * len(a) + 1, dtype=float)
    m = sparse.csr_matrix((eid, (np.r_[a, b], np.r_[b, a])), shape=(nu, nu))
    m.sort_indices()
    e = m.data.astype(np.int64) - 1
    return m.indptr, m.indices, np.r_[slen, slen][e], np.r_[sroad, sroad][e], per


def road_detours(bgeoms: np.ndarray, road_line) -> list:
    """Where a road centre line runs through a building, the road is taken to go round it
    along the shorter side of its outline (the building is never cut; it falls on the other
    side of the road). Returns those outline arcs.

    >>> from shapely.geometry import LineString, box
    >>> [round(a.length, 1) for a in road_detours(np.array([box(0, 0, 10, 4)]), LineString([(3, -5), (3, 9)]))]
    [10.0]
    """
    if road_line is None or road_line.is_empty or len(bgeoms) == 0:
        return []
    foot = shapely.get_parts(shapely.union_all(bgeoms))
    hit = foot[shapely.intersects(foot, road_line)]
    out = []
    for poly in hit:
        ring = poly.exterior
        d = np.unique(ring.project(shapely.points(shapely.get_coordinates(ring.intersection(road_line)))))
        if len(d) < 2:
            continue
        ends = np.r_[d, d[0] + ring.length]
        arcs = [_ring_arc(ring, a, b) for a, b in zip(ends[:-1], ends[1:])]
        longest = int(np.argmax([a.length for a in arcs]))
        out += [a for k, a in enumerate(arcs) if k != longest]
    return out


def _ring_arc(ring, a: float, b: float):
    from shapely.ops import linemerge, substring
    n = ring.length
    if b <= n:
        return substring(ring, a, b)
    return linemerge([substring(ring, a, n), substring(ring, 0, b - n)])


def _relabel(x: np.ndarray) -> np.ndarray:
    return np.unique(x, return_inverse=True)[1].ravel()


# ---------------------------------------------------------------------------------------------
# 3. regions on the unit graph

def _neighbours(u: Units, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s, e = u.indptr[i], u.indptr[i + 1]
    return u.nbr[s:e], u.length[s:e], u.road[s:e]


def allocate_seeds(u: Units, k: int, cap: int) -> np.ndarray:
    """Number of regions per road block: in proportion to the block's households (largest
    remainder), at least enough to hold them under the cap, and at least one in every
    connected part of the village that has households."""
    nb = int(u.block.max()) + 1
    hh_b = np.bincount(u.block, weights=u.households, minlength=nb)
    total = hh_b.sum()
    if total <= 0:
        kb = np.zeros(nb, dtype=np.int64)
        kb[np.argmax(np.bincount(u.block, weights=u.area, minlength=nb))] = k
        return kb
    quota = hh_b / (total / k)
    kb = np.floor(quota).astype(np.int64)
    rest = k - kb.sum()
    kb[np.argsort(-(quota - kb), kind="stable")[:rest]] += 1
    kb = np.maximum(kb, np.ceil(hh_b / cap - 1e-9).astype(np.int64))
    comp = _components(u)
    block_comp = np.zeros(nb, dtype=np.int64)
    block_comp[u.block] = comp
    for c in np.unique(comp):
        blocks = np.flatnonzero(block_comp == c)
        if kb[blocks].sum() == 0 and hh_b[blocks].sum() > 0:
            kb[blocks[np.argmax(hh_b[blocks])]] = 1
    return kb


def _components(u: Units) -> np.ndarray:
    g = sparse.csr_matrix((np.ones(len(u.nbr)), u.nbr, u.indptr), shape=(u.n, u.n))
    return connected_components(g, directed=False)[1]


def _kmeans(xy: np.ndarray, w: np.ndarray, k: int, rng, iters: int = 15) -> np.ndarray:
    """Weighted k-means (k-means++ start) of points ``xy``: the k centres."""
    centres = [xy[rng.choice(len(xy), p=w / w.sum())]]
    d2 = ((xy - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        p = d2 * w
        centres.append(xy[rng.choice(len(xy), p=p / p.sum())] if p.sum() > 0 else xy[rng.integers(len(xy))])
        d2 = np.minimum(d2, ((xy - centres[-1]) ** 2).sum(1))
    c = np.array(centres)
    for _ in range(iters):
        lab = np.argmin(((xy[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        sw = np.bincount(lab, weights=w, minlength=k)
        new = np.column_stack([np.bincount(lab, weights=w * xy[:, j], minlength=k) for j in (0, 1)])
        ok = sw > 0
        c[ok] = new[ok] / sw[ok, None]
    return c


def choose_seeds(u: Units, kb: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """Seed units and their centres: weighted k-means of the unit centroids in every block."""
    seeds, centres = [], []
    wgt = u.households + 0.05 * u.households.sum() * u.area / max(u.area.sum(), 1e-9)
    for b in np.flatnonzero(kb):
        idx = np.flatnonzero(u.block == b)
        k = int(min(kb[b], len(idx)))
        c = _kmeans(u.xy[idx], wgt[idx] + 1e-12, k, rng)
        taken: set[int] = set()
        for cc in c:
            d = ((u.xy[idx] - cc) ** 2).sum(1) + np.where(u.households[idx] > 0, 0.0, 1e12)
            for j in np.argsort(d, kind="stable"):
                if int(idx[j]) not in taken:
                    taken.add(int(idx[j]))
                    seeds.append(int(idx[j]))
                    centres.append(cc)
                    break
    return np.array(seeds, dtype=np.int64), np.array(centres).reshape(-1, 2)


def grow_regions(u: Units, seeds: np.ndarray, centres: np.ndarray, cap: int, cfg: ProposeConfig) -> np.ndarray:
    """Grow regions from ``seeds``: the lightest region takes its cheapest free neighbour
    (distance to its centre, plus a penalty for crossing a road), never above ``cap``.
    Returns the region of each unit (-1: left over)."""
    k = len(seeds)
    lab = np.full(u.n, -1, dtype=np.int64)
    w = np.zeros(k)
    a = np.zeros(k)
    m_hh = max(u.households.sum() / k, 1.0)
    m_area = u.area.sum() / k
    scale = math.sqrt(m_area)
    pen = GROW_ROAD_PENALTY if cfg.follow_roads else 0.0
    heaps: list[list] = [[] for _ in range(k)]

    def take(r: int, i: int) -> None:
        lab[i] = r
        w[r] += u.households[i]
        a[r] += u.area[i]
        nb, ln, rd = _neighbours(u, i)
        free = lab[nb] < 0
        cost = np.hypot(*(u.xy[nb[free]] - centres[r]).T) / scale + pen * (rd[free] > 0.5 * ln[free])
        for c, j in zip(cost.tolist(), nb[free].tolist()):
            heapq.heappush(heaps[r], (c, j))

    for r, s in enumerate(seeds):
        take(r, int(s))
    queue = [(w[r] / m_hh + 0.3 * a[r] / m_area, r) for r in range(k)]
    heapq.heapify(queue)
    while queue:
        _, r = heapq.heappop(queue)
        h = heaps[r]
        while h:
            _, i = heapq.heappop(h)
            if lab[i] < 0 and w[r] + u.households[i] <= cap:
                take(r, i)
                heapq.heappush(queue, (w[r] / m_hh + 0.3 * a[r] / m_area, r))
                break
    return lab


def repair(u: Units, lab: np.ndarray) -> np.ndarray:
    """Give every left-over unit to its lightest neighbouring region (even above the cap: the
    local search moves units off again); parts reached by no region become new regions."""
    lab = lab.copy()
    k = int(lab.max()) + 1 if (lab >= 0).any() else 0
    w = np.bincount(lab[lab >= 0], weights=u.households[lab >= 0], minlength=k)
    rows = np.repeat(np.arange(u.n), np.diff(u.indptr))
    while (lab < 0).any():
        cand = (lab[rows] < 0) & (lab[u.nbr] >= 0)
        if not cand.any():
            i = int(np.flatnonzero(lab < 0)[0])
            lab[i] = k
            w = np.r_[w, u.households[i]]
            k += 1
            continue
        i_s, r_s = rows[cand], lab[u.nbr[cand]]
        order = np.lexsort((r_s, w[r_s], i_s))
        i_s, r_s = i_s[order], r_s[order]
        first = np.r_[True, i_s[1:] != i_s[:-1]]
        for i, r in zip(i_s[first].tolist(), r_s[first].tolist()):
            lab[i] = r
            w[r] += u.households[i]
    return lab


@dataclass
class _Search:
    """State of the local search: region totals and the unit graph as Python lists."""

    u: Units
    lab: np.ndarray
    cap: float
    cfg: ProposeConfig
    k: int = 0
    w: list = field(default_factory=list)
    area: list = field(default_factory=list)
    per: list = field(default_factory=list)
    road: list = field(default_factory=list)
    count: list = field(default_factory=list)

    def __post_init__(self):
        u, lab = self.u, self.lab
        self.k = int(lab.max()) + 1
        self.lab_l = lab.tolist()
        self.nb = [u.nbr[u.indptr[i]:u.indptr[i + 1]].tolist() for i in range(u.n)]
        self.ln = [u.length[u.indptr[i]:u.indptr[i + 1]].tolist() for i in range(u.n)]
        self.rd = [u.road[u.indptr[i]:u.indptr[i + 1]].tolist() for i in range(u.n)]
        self.hh, self.ua, self.up = u.households.tolist(), u.area.tolist(), u.perimeter.tolist()
        rows = np.repeat(np.arange(u.n), np.diff(u.indptr))
        inner = lab[rows] == lab[u.nbr]
        k = self.k
        self.w = np.bincount(lab, weights=u.households, minlength=k).tolist()
        self.area = np.bincount(lab, weights=u.area, minlength=k).tolist()
        self.per = (np.bincount(lab, weights=u.perimeter, minlength=k)
                    - np.bincount(lab[rows[inner]], weights=u.length[inner], minlength=k)).tolist()
        self.road = (np.bincount(lab[rows[inner]], weights=u.road[inner], minlength=k) / 2).tolist()
        self.count = np.bincount(lab, minlength=k).tolist()
        self.member_sets = [set() for _ in range(k)]
        for i, r in enumerate(self.lab_l):
            self.member_sets[r].add(i)
        self.mean = max(sum(self.w) / k, 1.0)
        self.scale = math.sqrt(sum(self.area) / k)
        self.wr = self.cfg.road_weight if self.cfg.follow_roads else 0.0

    def cost(self, w: float, a: float, p: float, r: float) -> float:
        cfg, m = self.cfg, self.mean
        return (cfg.balance_weight * ((w - m) / m) ** 2 + 100.0 * max(0.0, w - self.cap) / m
                + cfg.compact_weight * p * p / (4 * math.pi * max(a, 1e-9)) + self.wr * r / self.scale)

    def shared(self, i: int, r: int) -> tuple[float, float]:
        s = rr = 0.0
        lab = self.lab_l
        for j, ln, rd in zip(self.nb[i], self.ln[i], self.rd[i]):
            if lab[j] == r:
                s += ln
                rr += rd
        return s, rr

    def delta(self, i: int, a: int, b: int) -> tuple[float, tuple, tuple]:
        hh, ua, up = self.hh[i], self.ua[i], self.up[i]
        sa, ra = self.shared(i, a)
        sb, rb = self.shared(i, b)
        na = (self.w[a] - hh, self.area[a] - ua, self.per[a] - up + 2 * sa, self.road[a] - ra)
        nb = (self.w[b] + hh, self.area[b] + ua, self.per[b] + up - 2 * sb, self.road[b] + rb)
        old = self.cost(self.w[a], self.area[a], self.per[a], self.road[a]) + \
            self.cost(self.w[b], self.area[b], self.per[b], self.road[b])
        return self.cost(*na) + self.cost(*nb) - old, na, nb

    def stays_connected(self, i: int, a: int) -> bool:
        """Region ``a`` without unit ``i`` is still one piece (its neighbours in ``a`` stay
        mutually reachable)."""
        lab = self.lab_l
        targets = {j for j in self.nb[i] if lab[j] == a}
        if len(targets) <= 1:
            return True
        start = next(iter(targets))
        seen, stack = {start, i}, [start]
        found = 1
        while stack:
            x = stack.pop()
            for y in self.nb[x]:
                if y not in seen and lab[y] == a:
                    seen.add(y)
                    if y in targets:
                        found += 1
                        if found == len(targets):
                            return True
                    stack.append(y)
        return False

    def move(self, i: int, a: int, b: int, na: tuple, nb: tuple) -> None:
        self.lab_l[i] = b
        self.w[a], self.area[a], self.per[a], self.road[a] = na
        self.w[b], self.area[b], self.per[b], self.road[b] = nb
        self.count[a] -= 1
        self.count[b] += 1
        self.member_sets[a].discard(i)
        self.member_sets[b].add(i)

    def _sums(self, i: int) -> dict[int, list]:
        """Shared length and weighted road length of unit ``i`` with each neighbouring region."""
        lab, out = self.lab_l, {}
        for j, ln, rd in zip(self.nb[i], self.ln[i], self.rd[i]):
            e = out.get(lab[j])
            if e is None:
                out[lab[j]] = [ln, rd]
            else:
                e[0] += ln
                e[1] += rd
        return out

    def try_unit(self, i: int) -> bool:
        """Move unit ``i`` to the neighbouring region where that lowers the cost most."""
        a = self.lab_l[i]
        if self.count[a] <= 1:
            return False
        sums = self._sums(i)
        sa, ra = sums.pop(a, (0.0, 0.0))
        hh, ua, up = self.hh[i], self.ua[i], self.up[i]
        na = (self.w[a] - hh, self.area[a] - ua, self.per[a] - up + 2 * sa, self.road[a] - ra)
        gain_a = self.cost(*na) - self.cost(self.w[a], self.area[a], self.per[a], self.road[a])
        best, move = -1e-9, None
        for b in sorted(sums):
            if self.w[b] + hh > self.cap and self.w[a] <= self.cap:
                continue
            sb, rb = sums[b]
            nb = (self.w[b] + hh, self.area[b] + ua, self.per[b] + up - 2 * sb, self.road[b] + rb)
            d = gain_a + self.cost(*nb) - self.cost(self.w[b], self.area[b], self.per[b], self.road[b])
            if d < best:
                best, move = d, (b, na, nb)
        if move is None or not self.stays_connected(i, a):
            return False
        self.move(i, a, *move)
        return True

    def _sheddable(self, r: int, need: float, banned: set, start: bool) -> dict[int, int]:
        """For each neighbouring region ``q`` not in ``banned``: the smallest unit of ``r``
        bordering ``q`` with at least ``need`` households (or the largest one, if none is that
        large and ``need`` is the excess of the start), whose removal keeps ``r`` connected."""
        lab, out = self.lab_l, {}
        members = [i for i in self.members(r) if self.hh[i] > 0 and (start or self.hh[i] >= need)]
        members.sort(key=lambda i: (self.hh[i] < need, self.hh[i] if self.hh[i] >= need else -self.hh[i], i))
        over_road: dict[int, int] = {}
        for i in members:
            for q in sorted({lab[j] for j in self.nb[i]} - {r} - banned - set(out)):
                if not self.stays_connected(i, r):
                    break
                sq, rq = self.shared(i, q)
                if rq > 0.5 * sq:  # handing over across a road: only if nothing else
                    over_road.setdefault(q, i)
                else:
                    out[q] = i
        return {**over_road, **out}

    def members(self, r: int) -> list[int]:
        return sorted(self.member_sets[r])

    def relieve(self, a: int, max_depth: int = 8) -> bool:
        """Ejection chain from the over-cap region ``a``: a breadth-first search over chains
        a → r1 → … → t where each region hands the next one a boundary unit at least as large
        as its own excess after receiving, and ``t`` has room for what it gets (a region is
        revisited only with a smaller unit coming in). The chain is applied from its end.
        Returns whether ``a`` got under the cap."""
        frontier = [(a, 0.0, (a,), ())]
        best_in: dict[int, float] = {a: -1.0}
        for _ in range(max_depth):
            nxt = []
            for r, h_in, path, units in frontier:
                need = self.w[r] + h_in - self.cap
                for q, i in self._sheddable(r, need, set(path), r == a).items():
                    if self.w[q] + self.hh[i] <= self.cap:
                        return self._apply_chain(path + (q,), units + (i,), a)
                    if self.hh[i] < best_in.get(q, math.inf):
                        best_in[q] = self.hh[i]
                        nxt.append((q, self.hh[i], path + (q,), units + (i,)))
            if not nxt:
                return False
            frontier = nxt
        return False

    def _apply_chain(self, path: tuple, units: tuple, a: int) -> bool:
        for k in range(len(units) - 1, -1, -1):  # from the end of the chain back to a
            i, src, dst = units[k], path[k], path[k + 1]
            if self.count[src] <= 1 or not self.stays_connected(i, src) or \
                    not any(self.lab_l[j] == dst for j in self.nb[i]):
                return False
            _, na, nb = self.delta(i, src, dst)
            self.move(i, src, dst, na, nb)
        return self.w[a] <= self.cap


def improve(u: Units, lab: np.ndarray, cap: int, cfg: ProposeConfig, rng) -> np.ndarray:
    """Local search: move boundary units to a neighbouring region while that lowers the cost
    (spread of households, households over the cap, road length inside regions, perimeter),
    keeping every region connected and non-empty; regions left over the cap hand units on
    along ejection chains to regions with room."""
    s = _Search(u, lab, cap, cfg)
    rows = np.repeat(np.arange(u.n), np.diff(u.indptr))
    for _ in range(RELIEVE_ROUNDS):
        _descend(s, u, rows, cfg, rng)
        over = [r for r in range(s.k) if s.w[r] > cap]
        if not over:
            break
        for r in over:
            for _ in range(6):
                if s.w[r] <= cap or not s.relieve(r):
                    break
    return np.array(s.lab_l, dtype=np.int64)


def _descend(s: _Search, u: Units, rows: np.ndarray, cfg: ProposeConfig, rng) -> None:
    """Passes over the border units; after the first pass only those of regions that changed."""
    changed = np.ones(s.k, dtype=bool)
    for _ in range(cfg.max_passes):
        cur = np.array(s.lab_l)
        border = np.unique(rows[(cur[rows] != cur[u.nbr]) & (changed[cur[rows]] | changed[cur[u.nbr]])])
        changed[:] = False
        for i in rng.permutation(border).tolist():
            a = s.lab_l[i]
            if s.try_unit(i):
                changed[a] = changed[s.lab_l[i]] = True
        if not changed.any():
            break


def regionalise(u: Units, k: int, cap: int, cfg: ProposeConfig, rng) -> np.ndarray:
    """Seeds, growth, repair and local search for (at least) ``k`` regions."""
    kb = allocate_seeds(u, k, cap)
    seeds, centres = choose_seeds(u, kb, rng)
    lab = repair(u, grow_regions(u, seeds, centres, cap, cfg))
    return improve(u, lab, cap, cfg, rng)


# ---------------------------------------------------------------------------------------------
# 4. the proposal

@dataclass
class Proposal:
    """Proposed basic grids (``cells``: geometry, households, buildings, area_m2,
    perimeter_m, polsby_popper), the region of each input building and the metrics."""

    cells: gpd.GeoDataFrame
    building_cell: np.ndarray
    metrics: dict
    units: Units
    unit_cell: np.ndarray


def _cells(u: Units, lab: np.ndarray, crs) -> gpd.GeoDataFrame:
    k = int(lab.max()) + 1
    face_cell = lab[u.face_unit]
    union = shapely.coverage_union_all if shapely.coverage_is_valid(u.faces) else shapely.union_all
    geoms = [union(u.faces[face_cell == r]) for r in range(k)]
    geoms = [g if g.geom_type == "Polygon" or len(shapely.get_parts(g)) > 1 else shapely.get_parts(g)[0]
             for g in geoms]
    area, per = shapely.area(geoms), shapely.length(geoms)
    return gpd.GeoDataFrame({"households": np.bincount(lab, weights=u.households, minlength=k).round().astype(np.int64),
                             "area_m2": area.round(1), "perimeter_m": per.round(1),
                             "polsby_popper": (4 * np.pi * area / np.maximum(per, 1e-9) ** 2).round(3)},
                            geometry=geoms, crs=crs)


def polsby_popper(geoms) -> np.ndarray:
    """Compactness 4πA/P² (1 for a circle, ~0.785 for a square).

    >>> from shapely.geometry import box
    >>> polsby_popper([box(0, 0, 1, 1)]).round(3).tolist()
    [0.785]
    """
    g = np.asarray(geoms, dtype=object)
    return 4 * np.pi * shapely.area(g) / np.maximum(shapely.length(g), 1e-12) ** 2


def road_on_boundary_share(cells: np.ndarray, roads, area, tol: float = 0.05) -> float | None:
    """Share of the road length inside ``area`` that does not run through the interior of a
    cell (it lies on cell boundaries, within ``tol`` metres)."""
    road = shapely.intersection(shapely.union_all(np.asarray(list(roads), dtype=object)), area) \
        if roads is not None and len(roads) else None
    if road is None or road.length <= 0:
        return None
    inside = shapely.length(shapely.intersection(road, shapely.buffer(np.asarray(cells), -tol))).sum()
    return float(1.0 - inside / road.length)


def proposal_metrics(cells: gpd.GeoDataFrame, cap: int, roads=None, area=None) -> dict:
    """Size and shape figures of a set of cells (households per cell, spread, compactness)."""
    hh = cells["households"].to_numpy(dtype=float)
    pp = polsby_popper(cells.geometry.to_numpy())
    mean = float(hh.mean()) if len(hh) else 0.0
    return {"cells": int(len(hh)), "households": int(hh.sum()), "cap": int(cap),
            "min_cells": int(math.ceil(hh.sum() / cap)) if cap else None,
            "max_households": int(hh.max()) if len(hh) else 0, "min_households": int(hh.min()) if len(hh) else 0,
            "mean_households": round(mean, 1),
            "max_min_ratio": round(float(hh.max() / hh.min()), 3) if len(hh) and hh.min() > 0 else None,
            "cv_households": round(float(hh.std() / mean), 4) if mean > 0 else 0.0,
            "over_cap_share": round(float((hh > cap).mean()), 4) if len(hh) else 0.0,
            "mean_polsby_popper": round(float(pp.mean()), 4) if len(pp) else None,
            "min_polsby_popper": round(float(pp.min()), 4) if len(pp) else None,
            "road_on_boundary_share": None if area is None else
            (lambda s: None if s is None else round(s, 4))(road_on_boundary_share(cells.geometry.to_numpy(), roads, area))}


def _prepare_buildings(area, buildings: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Buildings of the village (point on surface inside it, as the database assigns them),
    clipped to it; returns them and their positions in the input."""
    if len(buildings) == 0:
        return buildings.iloc[:0], np.zeros(0, dtype=np.int64)
    g = buildings.geometry.to_numpy()
    keep = np.flatnonzero(shapely.contains(area, shapely.point_on_surface(g)))
    clipped = shapely.intersection(g[keep], area)
    poly = shapely.get_type_id(clipped) >= 3
    keep = keep[poly & ~shapely.is_empty(clipped)]
    out = buildings.iloc[keep].copy()
    out = out.set_geometry(shapely.intersection(g[keep], area))
    if "households" not in out:
        out["households"] = 0
    out["households"] = out["households"].fillna(0)
    return out, keep


def _check_crs(buildings, roads) -> None:
    crs = getattr(buildings, "crs", None)
    if crs is not None and not crs.is_projected:
        raise ValueError("proposals are computed in metres: give the buildings in a projected CRS")
    rcrs = getattr(roads, "crs", None)
    if crs is not None and rcrs is not None and rcrs != crs:
        raise ValueError(f"CRS differ: buildings {crs} vs roads {rcrs}")


def propose(area, buildings: gpd.GeoDataFrame, roads=None, cfg: ProposeConfig = ProposeConfig(),
            road_weights=None) -> Proposal:
    """Split ``area`` (a village; polygon in a metric CRS) into basic grids.

    ``buildings`` (GeoDataFrame, same CRS) needs a ``households`` column; ``roads`` are road
    centre lines (GeoSeries or array of lines, same CRS), used when ``cfg.follow_roads``;
    ``road_weights`` (one per road, default 1) say how much a road should be a boundary: 1 for
    streets and main roads, e.g. 0.25 for lanes (followed where cheap; they do not bound
    blocks), 0 to ignore. ``road_on_boundary_share`` is measured on roads of weight >= 0.5.
    The number of grids starts at ``ceil(households / cap)`` (or ``/ target``) and grows by
    one while a grid stays over the cap (at most ``cfg.max_extra_regions`` times).
    Deterministic for a given ``cfg.seed``.
    """
    _check_crs(buildings, roads)
    area = shapely.normalize(area) if area.geom_type == "Polygon" else area
    blds, kept = _prepare_buildings(area, buildings)
    road_arr = np.asarray(list(roads), dtype=object) if roads is not None else np.empty(0, dtype=object)
    rw = np.ones(len(road_arr)) if road_weights is None else np.asarray(road_weights, dtype=float)
    u = build_units(area, blds, road_arr, cfg, rw)
    lab = _best_partition(u, cfg)
    cells = _cells(u, lab, getattr(buildings, "crs", None))
    building_cell = np.full(len(buildings), -1, dtype=np.int64)
    building_cell[kept] = np.where(u.building_unit >= 0, lab[np.maximum(u.building_unit, 0)], -1)
    cells["buildings"] = np.bincount(building_cell[building_cell >= 0], minlength=len(cells))
    metrics = proposal_metrics(cells, cfg.cap, road_arr[rw >= 0.5], area)
    metrics["units"] = int(u.n)
    return Proposal(cells, building_cell, metrics, u, lab)


def _best_partition(u: Units, cfg: ProposeConfig) -> np.ndarray:
    """From ``ceil(households / cap)`` regions up: ``cfg.starts`` runs per number of regions;
    the first number where a run keeps every region under the cap wins, and of its runs the
    one of least cost (spread, roads inside, perimeter)."""
    total = float(u.households.sum())
    k0 = max(1, math.ceil(total / cfg.cap - 1e-9))
    if cfg.target and cfg.target < cfg.cap:
        k0 = max(k0, math.ceil(total / cfg.target - 1e-9))
    k0 = min(k0, u.n)
    feasible = u.households.max(initial=0) <= cfg.cap
    best, best_key = None, (math.inf, math.inf)
    k, last = k0, min(k0 + cfg.max_extra_regions, u.n)
    while k <= last:
        used = k
        for start in range(max(1, cfg.starts)):
            lab = regionalise(u, k, cfg.cap, cfg, np.random.default_rng([cfg.seed, k, start]))
            over = float(np.maximum(np.bincount(lab, weights=u.households) - cfg.cap, 0).sum())
            key = (over, partition_cost(u, lab, cfg))
            if key < best_key:
                best, best_key = lab, key
            used = max(used, int(lab.max()) + 1)
        if best_key[0] == 0 or not feasible:
            break
        k = used + 1  # seeding may already have used more regions
    return best


def partition_cost(u: Units, lab: np.ndarray, cfg: ProposeConfig) -> float:
    """The local search's cost of a partition (lower is better)."""
    s = _Search(u, lab, cfg.cap, cfg)
    return float(sum(s.cost(*x) for x in zip(s.w, s.area, s.per, s.road)))
