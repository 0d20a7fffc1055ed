"""Where new cameras should go (新增点位规划): a maximal covering location problem with
directional, occluded views, solved by lazy greedy with a stated quality bound.

Pure functions in a **metric** CRS (metres), no database.

The problem. Demand is the blind spots (盲区) of must-cover places, each with a priority weight,
discretised into ``cell``-metre raster cells (a cell is demand when its centre lies in a
demand polygon; its weight is the highest weight of the polygons holding it). Each candidate
is a *site* (a point: a building corner looking outwards, a point along a road edge, or given)
times an *azimuth* (every ``azimuth_step_deg``); a candidate covers the demand cells whose
centres lie in its visible view (:func:`gis.views.visible_views`, ``method="rays"``: buildings
occlude, the building the camera hangs on does not). Cells that existing cameras already see
are no demand. Choose ``budget`` candidates covering the most weight.

Covered weight is a coverage function: monotone and submodular, so greedy (take the candidate
with the largest marginal gain, ``budget`` times) reaches at least ``1 - 1/e`` (63.2%) of the
optimum (Nemhauser, Wolsey & Fisher 1978). *Lazy* greedy (Minoux 1978) gives the same picks and
re-evaluates only the candidates at the top of a heap of stale gains. The report also carries a
data-dependent upper bound on the optimum, the smallest of

- ``f(S_i) + sum of the budget largest marginal gains w.r.t. S_i`` for S_0 = {} (the top
  ``budget`` singleton gains) and S_N = the greedy set (submodularity: each of the optimum's
  ``budget`` members adds at most its marginal gain to S_i);
- ``greedy / (1 - 1/e)``; and the total demand weight,

so that a plan states "at least X% of the optimum" (``Plan.quality``). With ``one_per_site``
(at most one new camera per site) the constraint is a partition matroid; greedy then
guarantees 1/2, and the singleton bound uses each site's best azimuth.

Examples
--------
One blind spot north of a site, another (twice as important) east of it; budget 1:

>>> from shapely.geometry import box
>>> demand = demand_cells([box(-5, 20, 5, 30), box(20, -5, 30, 5)], weights=[1.0, 2.0], cell=1.0)
>>> plan = suggest(demand, [0.0], [0.0], [], budget=1, hfov_deg=60, range_m=40, azimuth_step_deg=90)
>>> plan.suggestions[["azimuth_deg", "gain_m2", "gain_weighted"]].to_dict("records")
[{'azimuth_deg': 90.0, 'gain_m2': 100.0, 'gain_weighted': 200.0}]
"""
from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from shapely import STRtree

from gis.coverage import coverage_raster
from gis.views import Scene, visible_views

GREEDY_BOUND = 1.0 - 1.0 / math.e


# ---------------------------------------------------------------------------------------------
# demand

@dataclass(frozen=True)
class Demand:
    """Demand cells: centres, weights and the cell size (a cell's area is ``cell ** 2``)."""

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    cell: float

    def __len__(self) -> int:
        return len(self.x)

    @property
    def area_m2(self) -> float:
        return float(len(self.x) * self.cell ** 2)

    def keep(self, mask: np.ndarray) -> Demand:
        return Demand(self.x[mask], self.y[mask], self.w[mask], self.cell)


def demand_cells(areas, weights=None, cell: float = 2.0) -> Demand:
    """Raster cells (by centre) of the demand polygons with their weights (default 1).

    A cell in several polygons takes the largest weight (it is one place, seen once).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> d = demand_cells([box(0, 0, 4, 2), box(2, 0, 6, 2)], weights=[1, 3], cell=1.0)
    >>> len(d), float(d.w.sum())            # 12 cells: 2 × 2 of weight 1, 2 × 4 of weight 3
    (12, 28.0)
    """
    g = np.asarray(getattr(areas, "geometry", areas), dtype=object)
    w = np.ones(len(g)) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = ~shapely.is_missing(g) & ~shapely.is_empty(g) if len(g) else np.zeros(0, bool)
    g, w = g[keep], w[keep]
    if len(g) == 0:
        return Demand(np.zeros(0), np.zeros(0), np.zeros(0), float(cell))
    counts, t = coverage_raster(g, shapely.total_bounds(g), cell=cell)
    r, c = np.nonzero(counts)
    x = t[2] + (c + 0.5) * cell
    y = t[5] - (r + 0.5) * cell
    pts = shapely.points(x, y)
    pi, gi = STRtree(pts).query(g, predicate="contains")       # polygon contains cell centre
    cw = np.zeros(len(pts))
    np.maximum.at(cw, gi, w[pi])
    ok = cw > 0
    return Demand(x[ok], y[ok], cw[ok], float(cell))


def seen_by(demand: Demand, views) -> np.ndarray:
    """Mask of the demand cells whose centre lies in at least one of ``views``."""
    v = np.asarray(views, dtype=object)
    v = v[~shapely.is_missing(v) & ~shapely.is_empty(v)] if len(v) else v
    if len(v) == 0 or len(demand) == 0:
        return np.zeros(len(demand), dtype=bool)
    _, ci = STRtree(shapely.points(demand.x, demand.y)).query(v, predicate="contains")
    out = np.zeros(len(demand), dtype=bool)
    out[ci] = True
    return out


# ---------------------------------------------------------------------------------------------
# candidate sites

def corner_sites(buildings, offset_m: float = 0.2, min_turn_deg: float = 30.0) -> np.ndarray:
    """Outward corners of the footprints' outer rings, as (n, 2) points ``offset_m`` inside
    the corner (a camera hangs on the wall; its own building does not hide its view).

    A corner is outward (convex) where the ring turns by at least ``min_turn_deg``.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> corner_sites([box(0, 0, 10, 5)], offset_m=0.0).tolist()
    [[10.0, 0.0], [10.0, 5.0], [0.0, 5.0], [0.0, 0.0]]
    """
    g = np.asarray(getattr(buildings, "geometry", buildings), dtype=object)
    if len(g) == 0:
        return np.zeros((0, 2))
    parts = shapely.get_parts(g)
    rings = shapely.get_exterior_ring(parts)
    rings = np.where(shapely.is_ccw(rings), rings, shapely.reverse(rings))
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    last = np.r_[ring[1:] != ring[:-1], True]
    xy, ring = xy[~last], ring[~last]                          # drop the closing points
    first = np.searchsorted(ring, ring)
    size = np.bincount(ring)[ring]
    k = np.arange(len(xy)) - first
    prev = xy[first + (k - 1) % size]
    nxt = xy[first + (k + 1) % size]
    a, b = xy - prev, nxt - xy
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    turn = np.degrees(np.arctan2(cross, (a * b).sum(axis=1)))
    corner = turn >= min_turn_deg                               # CCW ring: left turn = convex
    ua = a / np.maximum(np.hypot(*a.T), 1e-12)[:, None]
    ub = b / np.maximum(np.hypot(*b.T), 1e-12)[:, None]
    inward = ub - ua                                            # bisector pointing inside
    inward /= np.maximum(np.hypot(*inward.T), 1e-12)[:, None]
    return (xy + offset_m * inward)[corner]


def line_sites(lines, spacing_m: float = 20.0, offset_m: float = 0.0) -> np.ndarray:
    """Points every ``spacing_m`` along lines (road centre lines or edges), as (n, 2); with
    ``offset_m`` both sides of the line at that distance (road edges from centre lines).

    Examples
    --------
    >>> from shapely.geometry import LineString
    >>> line_sites([LineString([(0, 0), (50, 0)])], spacing_m=20).tolist()
    [[5.0, 0.0], [25.0, 0.0], [45.0, 0.0]]
    """
    g = np.asarray(getattr(lines, "geometry", lines), dtype=object)
    g = shapely.get_parts(g[~shapely.is_missing(g)]) if len(g) else g
    if len(g) == 0:
        return np.zeros((0, 2))
    if offset_m > 0:
        g = np.concatenate([shapely.offset_curve(g, offset_m), shapely.offset_curve(g, -offset_m)])
        g = shapely.get_parts(g)
    length = shapely.length(g)
    n = np.floor(length / spacing_m).astype(np.int64) + 1
    n = np.where(length > 0, n, 0)
    line = np.repeat(np.arange(len(g)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    pad = (length - (n - 1) * spacing_m) / 2.0                  # centred on each line
    d = np.repeat(pad, n) + k * spacing_m
    return shapely.get_coordinates(shapely.line_interpolate_point(g[line], d))


def thin_sites(xy: np.ndarray, min_gap_m: float) -> np.ndarray:
    """Sites at least about ``min_gap_m`` apart (one per ``min_gap_m`` grid cell, first kept)."""
    if len(xy) == 0 or min_gap_m <= 0:
        return xy
    key = np.floor(xy / min_gap_m).astype(np.int64)
    _, first = np.unique(key, axis=0, return_index=True)
    return xy[np.sort(first)]


# ---------------------------------------------------------------------------------------------
# the cover of every candidate

@dataclass(frozen=True)
class CandidateViews:
    """Every (site, azimuth) candidate with the demand cells its view covers (CSR by view)."""

    site: np.ndarray        # site index of each candidate
    x: np.ndarray
    y: np.ndarray
    azimuth_deg: np.ndarray
    view: np.ndarray        # visible view polygons
    start: np.ndarray       # candidate v covers cells[start[v]:start[v + 1]]
    cells: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def covered(self, v: int) -> np.ndarray:
        return self.cells[self.start[v]:self.start[v + 1]]


def candidate_views(demand: Demand, site_x, site_y, buildings, hfov_deg: float = 90.0, range_m: float = 40.0,
                    azimuth_step_deg: float = 30.0, n_rays: int = 90) -> CandidateViews:
    """Views (ray casting) of every site at every azimuth, and the demand cells each covers.

    Sites farther than ``range_m`` from every demand cell are dropped first. A dome
    (``hfov_deg >= 360``) has one azimuth per site.
    """
    sx, sy = np.asarray(site_x, float).ravel(), np.asarray(site_y, float).ravel()
    site = np.arange(len(sx))
    if len(demand) and len(sx):
        near = STRtree(shapely.points(demand.x, demand.y)).query(
            shapely.points(sx, sy), predicate="dwithin", distance=range_m)[0]
        site = np.unique(near)
    else:
        site = site[:0]
    az = np.array([0.0]) if hfov_deg >= 360 else np.arange(0.0, 360.0, azimuth_step_deg)
    s = np.repeat(site, len(az))
    a = np.tile(az, len(site))
    cams = {"x": sx[s], "y": sy[s], "azimuth_deg": a, "hfov_deg": np.full(len(s), float(hfov_deg)),
            "range_m": np.full(len(s), float(range_m))}
    scene = buildings if isinstance(buildings, Scene) else Scene.of(buildings)
    views = visible_views(cams, scene, "rays", n_rays=n_rays) if len(s) else np.empty(0, dtype=object)
    if len(s) and len(demand):
        vi, ci = STRtree(shapely.points(demand.x, demand.y)).query(views, predicate="contains")
    else:
        vi, ci = np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((ci, vi))
    vi, ci = vi[order], ci[order]
    start = np.searchsorted(vi, np.arange(len(s) + 1))
    return CandidateViews(s, sx[s], sy[s], a, views, start, ci)


# ---------------------------------------------------------------------------------------------
# lazy greedy

@dataclass
class Plan:
    """The chosen cameras, what they add, and how close to the optimum that is provably."""

    suggestions: gpd.GeoDataFrame    # one row per new camera, in the order chosen
    demand_weight: float             # total weight of the (uncovered) demand, × cell area
    demand_m2: float
    achieved_weight: float
    achieved_m2: float
    upper_bound: float               # on the optimum's weighted coverage
    guarantee: float                 # a priori factor: 1 - 1/e, or 1/2 with one_per_site
    evaluations: int                 # marginal gains computed by the lazy greedy
    n_candidates: int
    seconds: dict = field(default_factory=dict)

    @property
    def quality(self) -> float:
        """Achieved / upper bound: the plan is at least this share of the optimum."""
        return 1.0 if self.upper_bound <= 0 else self.achieved_weight / self.upper_bound

    def summary(self) -> dict:
        return {"budget_used": len(self.suggestions), "candidates": self.n_candidates,
                "demand_m2": self.demand_m2, "demand_weighted": self.demand_weight,
                "covered_m2": self.achieved_m2, "covered_weighted": self.achieved_weight,
                "upper_bound_weighted": self.upper_bound, "at_least_share_of_optimum": self.quality,
                "a_priori_guarantee": self.guarantee, "gain_evaluations": self.evaluations,
                "seconds": self.seconds}


def _gains(cv: CandidateViews, w: np.ndarray) -> np.ndarray:
    """Marginal gain of every candidate when the cells have (remaining) weights ``w``."""
    owner = np.repeat(np.arange(len(cv)), np.diff(cv.start))
    return np.bincount(owner, weights=w[cv.cells], minlength=len(cv))


def _top_sum(gains: np.ndarray, site: np.ndarray, k: int, one_per_site: bool) -> float:
    if one_per_site and len(gains):
        best = np.zeros(site.max() + 1)
        np.maximum.at(best, site, gains)
        gains = best
    return float(np.sort(gains)[::-1][:k].sum())


def lazy_greedy(cv: CandidateViews, weights: np.ndarray, budget: int, one_per_site: bool = False):
    """Pick up to ``budget`` candidates by lazy greedy.

    Returns (picked candidates, their marginal weighted gains, their new cells counts, the
    remaining weights per cell, number of gain evaluations).
    """
    w = np.asarray(weights, dtype=np.float64).copy()
    g0 = _gains(cv, w)
    heap = [(-g, v) for v, g in enumerate(g0) if g > 0]
    heapq.heapify(heap)
    fresh = np.zeros(len(cv), dtype=np.int64)      # the round a stale gain was computed in
    banned = np.zeros(len(cv), dtype=bool)
    picked, gains, counts, evals = [], [], [], 0
    while heap and len(picked) < budget:
        neg, v = heapq.heappop(heap)
        if banned[v]:
            continue
        if fresh[v] != len(picked):                 # stale: recompute, push back
            cells = cv.covered(v)
            g = float(w[cells].sum())
            evals += 1
            fresh[v] = len(picked)
            if g > 0:
                heapq.heappush(heap, (-g, v))
            continue
        cells = cv.covered(v)
        new = cells[w[cells] > 0]
        picked.append(v)
        gains.append(-neg)
        counts.append(len(new))
        w[new] = 0.0                                # never counted twice
        banned[v] = True
        if one_per_site:
            banned[cv.site == cv.site[v]] = True
    return np.array(picked, dtype=np.int64), np.array(gains), np.array(counts, dtype=np.int64), w, evals


def suggest(demand: Demand, site_x, site_y, buildings, budget: int, *, hfov_deg: float = 90.0,
            range_m: float = 40.0, azimuth_step_deg: float = 30.0, existing=None, n_rays: int = 90,
            one_per_site: bool = False, crs=None) -> Plan:
    """Choose up to ``budget`` new cameras (site + azimuth) covering the most demand weight.

    Parameters
    ----------
    demand : Demand
        From :func:`demand_cells` (blind spots with priority weights).
    site_x, site_y : array_like
        Candidate sites (:func:`corner_sites`, :func:`line_sites`, or given).
    buildings : footprints or :class:`gis.views.Scene`
        Occluders (metric CRS).
    budget : int
        New cameras to place.
    hfov_deg, range_m : float
        The camera model of the new cameras.
    azimuth_step_deg : float
        Azimuths tried per site: 0, step, 2 step, …
    existing : cameras or None
        Fixed cameras (anything :func:`gis.views.visible_views` takes): cells they see are no
        demand. ``None`` when ``demand`` holds blind spots already.
    n_rays : int
        Rays per candidate view.
    one_per_site : bool
        At most one new camera per site.
    crs
        CRS of the returned suggestions.

    Returns
    -------
    Plan
    """
    t = {}
    t0 = time.perf_counter()
    scene = buildings if isinstance(buildings, Scene) else Scene.of(buildings)
    if existing is not None and len(demand):
        ev = visible_views(existing, scene, "rays", n_rays=max(n_rays, 180))
        demand = demand.keep(~seen_by(demand, ev))
    t["existing_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cv = candidate_views(demand, site_x, site_y, scene, hfov_deg, range_m, azimuth_step_deg, n_rays)
    t["views_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    area = demand.cell ** 2
    g0 = _gains(cv, demand.w)
    picked, gains, counts, w_left, evals = lazy_greedy(cv, demand.w, budget, one_per_site)
    t["greedy_s"] = time.perf_counter() - t0
    achieved = float(gains.sum())
    total = float(demand.w.sum())
    guarantee = 0.5 if one_per_site else GREEDY_BOUND
    ub = min(total, _top_sum(g0, cv.site, budget, one_per_site),
             achieved + _top_sum(_gains(cv, w_left), cv.site, budget, one_per_site),
             achieved / guarantee if achieved > 0 else total)
    rows = gpd.GeoDataFrame({
        "rank": np.arange(1, len(picked) + 1), "site": cv.site[picked],
        "azimuth_deg": cv.azimuth_deg[picked], "hfov_deg": float(hfov_deg), "range_m": float(range_m),
        "gain_m2": counts * area, "gain_weighted": gains * area,
        "cumulative_m2": np.cumsum(counts) * area, "cumulative_weighted": np.cumsum(gains) * area,
        "view": cv.view[picked]},
        geometry=shapely.points(cv.x[picked], cv.y[picked]), crs=crs)
    rows["cumulative_share"] = rows["cumulative_weighted"] / (total * area) if total > 0 else 0.0
    return Plan(rows, total * area, demand.area_m2, achieved * area, float(counts.sum()) * area, ub * area,
                guarantee, evals, len(cv), t)

