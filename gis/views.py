"""What a camera sees (视频监控可视域): view sectors, occlusion by buildings, DORI rings.

Pure functions, all in a **metric** CRS (metres): arrays in, arrays out, one polygon per camera
in the order of the cameras given.

Conventions (DOMAIN.md, Cameras):

- ``azimuth_deg`` is the compass bearing of the optical axis: 0° = north, clockwise (90° = east).
- ``hfov_deg`` is the horizontal field of view; ``hfov_deg >= 360`` (PTZ domes, 球机) is a full
  disc around the camera.
- ``range_m`` is the effective range: nothing farther is seen.
- Buildings block the view (2D visibility: footprints are opaque from the ground up, roofs are
  not seen). A camera's **own building** is not an occluder: cameras hang on walls and their
  recorded point often lies on, or just inside, the footprint they hang on; that building must
  not hide what the camera looks out at. Rule: every footprint that contains the camera point or
  lies within ``own_tolerance_m`` (default 1.5 m) of it is ignored for that camera (treated as if
  it were not there: neither hiding anything nor cut out of the view). A camera standing in a
  gap narrower than the tolerance between two buildings therefore ignores both.

Two ways to compute the view (:func:`visible_views`):

``method="exact"``
    the shadow method: the shadow of every nearby footprint (the region behind it as seen from the
    camera, out to beyond the range) is subtracted from the sector. Convex footprints cast one
    convex shadow (hull of the footprint and far points beyond the range on its silhouette
    rays); other footprints cast one shadow per edge. Footprints wholly hidden behind nearer
    ones are dropped first. Exact up to the polygonal arc of the sector (``n_arc`` vertices
    per full turn).
``method="rays"``
    ray casting compiled with numba: ``n_rays`` rays per camera over its field of view, the nearest
    hit against the edges of the footprints near that camera; the view is the polygon of the hit
    points. Several times faster; it cuts a sliver at each shadow edge (between the last ray
    that hits and the first that does not) and along the arc between rays (median IoU with
    the exact view ≈ 0.996–0.999 at 180 rays; give domes more rays for a finer circle).

:func:`reference_view` is a slow, brute-force fine ray casting (numpy, every edge, thousands of
rays plus rays through every footprint vertex) kept as the reference of the tests.

Examples
--------
A camera at the origin looking north (azimuth 0) with a 90° field of view and 50 m range, a
wall 10 m long 10 m in front of it:

>>> import numpy as np
>>> from shapely.geometry import box
>>> cams = {"x": [0.0], "y": [0.0], "azimuth_deg": [0.0], "hfov_deg": [90.0], "range_m": [50.0]}
>>> wall = box(-5, 10, 5, 11)
>>> [view] = visible_views(cams, [wall])
>>> view.contains(shapely.Point(0, 5)), view.intersects(shapely.Point(0, 30))
(True, False)
>>> bool(view.contains(shapely.Point(25, 40)))          # beside the wall's shadow
True
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
import shapely
from shapely import STRtree

#: Pixel densities of the DORI classes (IEC 62676-4), in pixels per metre.
DORI_PPM: dict[str, float] = {"identification": 250.0, "recognition": 125.0,
                              "observation": 62.0, "detection": 25.0}

OWN_TOLERANCE_M = 1.5   # a footprint this close to the camera point is the one it hangs on
N_ARC = 128             # sector arc vertices per full turn (2.8°: area error < 0.05%)
N_RAYS = 180            # rays per camera of the fast method
FAR = 1.0 / math.cos(math.radians(30.0)) * 1.05   # shadows reach this × range (see _shadows)


@dataclass(frozen=True)
class Cameras:
    """Camera parameters as float arrays of one length (metres and degrees)."""

    x: np.ndarray
    y: np.ndarray
    azimuth_deg: np.ndarray
    hfov_deg: np.ndarray
    range_m: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    @property
    def full(self) -> np.ndarray:
        """True for cameras that see all round (hfov ≥ 360°)."""
        return self.hfov_deg >= 360.0

    def take(self, idx) -> Cameras:
        return Cameras(*(a[idx] for a in (self.x, self.y, self.azimuth_deg, self.hfov_deg, self.range_m)))


def camera_arrays(cams) -> Cameras:
    """:class:`Cameras` from a GeoDataFrame of points or a mapping / DataFrame with ``x``, ``y``.

    Both need ``azimuth_deg``, ``hfov_deg`` and ``range_m`` (the names of the cameras table).

    Examples
    --------
    >>> c = camera_arrays({"x": [1], "y": [2], "azimuth_deg": [90], "hfov_deg": [400], "range_m": [5]})
    >>> c.x, c.hfov_deg, c.full
    (array([1.]), array([360.]), array([ True]))
    """
    if isinstance(cams, Cameras):
        return cams
    geom = getattr(cams, "geometry", None)
    if geom is not None and not isinstance(cams, Mapping):
        _check_metric(cams)
        xy = shapely.get_coordinates(np.asarray(geom))
        x, y = xy[:, 0], xy[:, 1]
    else:
        x, y = cams["x"], cams["y"]
    arr = [np.asarray(a, dtype=np.float64).ravel() for a in
           (x, y, cams["azimuth_deg"], cams["hfov_deg"], cams["range_m"])]
    arr[3] = np.minimum(arr[3], 360.0)
    return Cameras(*arr)


def _check_metric(frame) -> None:
    crs = getattr(frame, "crs", None)
    if crs is not None and not crs.is_projected:
        raise ValueError("camera views are computed in metres: give a projected CRS")


def _geoms(buildings) -> np.ndarray:
    """Footprints as a shapely array (GeoDataFrame, GeoSeries, list or array)."""
    if hasattr(buildings, "geometry") and hasattr(buildings, "crs"):
        _check_metric(buildings)
        buildings = buildings.geometry
    return np.asarray(buildings, dtype=object)


def _check_same_crs(cams, buildings) -> None:
    a, b = getattr(cams, "crs", None), getattr(buildings, "crs", None)
    if a is not None and b is not None and a != b:
        raise ValueError(f"CRS differ: cameras {a} vs buildings {b}")


# ---------------------------------------------------------------------------------------------
# sectors

def _arc_counts(hfov_deg: np.ndarray, n_arc: int) -> np.ndarray:
    """Arc vertices of each sector: n_arc per full turn, at least 3 on an arc."""
    full = hfov_deg >= 360.0
    part = np.maximum(np.ceil(n_arc * hfov_deg / 360.0), 2).astype(np.int64) + 1
    return np.where(full, n_arc, part)


def sectors(x, y, azimuth_deg, hfov_deg, range_m, n_arc: int = N_ARC) -> np.ndarray:
    """View sectors without occlusion, one polygon per camera (vectorised).

    Parameters
    ----------
    x, y : array_like
        Camera positions (metres).
    azimuth_deg : array_like
        Bearing of the optical axis, 0° = north, clockwise.
    hfov_deg : array_like
        Horizontal field of view; 360 or more gives the full disc (PTZ domes).
    range_m : array_like
        Effective range (radius of the sector).
    n_arc : int
        Arc vertices per full turn (a 90° sector gets ``n_arc / 4`` segments).

    Returns
    -------
    numpy.ndarray of shapely Polygons

    Examples
    --------
    >>> s = sectors([0, 100], [0, 0], [90, 0], [60, 360], [10, 5])
    >>> [round(float(a), 1) for a in shapely.area(s)], [round(math.pi * 100 / 6, 1), round(math.pi * 25, 1)]
    ([52.3, 78.5], [52.4, 78.5])
    >>> float(shapely.centroid(s[0]).x) > 0      # azimuth 90° looks east
    True
    """
    x, y, az, fov, rng = (np.asarray(a, dtype=np.float64).ravel() for a in
                          (x, y, azimuth_deg, hfov_deg, range_m))
    x, y, az, fov, rng = np.broadcast_arrays(x, y, az, fov, rng)
    full = fov >= 360.0
    m = _arc_counts(fov, n_arc)                       # arc vertices per camera
    size = m + ~full                                  # fixed cameras: the apex first
    end = np.cumsum(size)
    first_arc = end - m
    step = np.where(full, 360.0 / m, fov / np.maximum(m - 1, 1))
    start = az - np.where(full, 0.0, fov / 2.0)
    k = np.arange(end[-1] if len(end) else 0) - np.repeat(first_arc, size)
    ang = np.radians(np.repeat(start, size) + k * np.repeat(step, size))
    r = np.repeat(rng, size)
    coords = np.empty((len(k), 2))
    coords[:, 0] = np.repeat(x, size) + r * np.sin(ang)
    coords[:, 1] = np.repeat(y, size) + r * np.cos(ang)
    apex = first_arc[~full] - 1
    coords[apex, 0], coords[apex, 1] = x[~full], y[~full]
    ring_of = np.repeat(np.arange(len(x)), size)
    return shapely.polygons(shapely.linearrings(coords, indices=ring_of))


# ---------------------------------------------------------------------------------------------
# which footprints matter to which camera

@dataclass(frozen=True)
class Candidates:
    """Camera–footprint pairs whose footprint meets the camera's sector, sorted by camera."""

    cam: np.ndarray       # camera index of each pair
    building: np.ndarray  # footprint index of each pair
    own: np.ndarray       # True where the footprint is the camera's own (not an occluder)


def candidates(cams: Cameras, sector_geoms: np.ndarray, footprints: np.ndarray,
               tree: STRtree | None = None, own_tolerance_m: float = OWN_TOLERANCE_M) -> Candidates:
    """Footprints meeting each sector (STRtree, then an exact ``intersects``); own ones flagged.

    A footprint outside the sector cannot hide any of it: a point of the sector hidden by a
    footprint lies behind some point of that footprint on the same ray from the camera, and
    the sector is star-shaped from the camera, so that point is in the sector too.
    """
    tree = tree if tree is not None else STRtree(footprints)
    ci, bi = tree.query(sector_geoms, predicate="intersects")
    order = np.lexsort((bi, ci))
    ci, bi = ci[order], bi[order]
    # own footprints: one tree query with the camera points (fewer than the pairs)
    oc, ob = tree.query(shapely.points(cams.x, cams.y), predicate="dwithin", distance=own_tolerance_m)
    n = max(len(footprints), 1)
    own = np.isin(ci * n + bi, oc * n + ob)
    return Candidates(ci, bi, own)


# ---------------------------------------------------------------------------------------------
# exact shadow method

@dataclass(frozen=True)
class _Rings:
    """Vertices of every footprint's rings (closing points dropped), as flat arrays."""

    xy: np.ndarray          # (n_vertices, 2)
    ring: np.ndarray        # ring of each vertex
    ring_start: np.ndarray  # first vertex of each ring
    ring_size: np.ndarray
    ring_owner: np.ndarray  # footprint of each ring
    convex: np.ndarray      # per footprint: one ring, convex (one shadow) — else edge by edge


def _rings(footprints: np.ndarray) -> _Rings:
    polys = shapely.get_parts(footprints, return_index=True)
    parts, part_owner = polys
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    size = np.bincount(ring, minlength=len(rings))
    last = np.cumsum(size) - 1
    keep = np.ones(len(xy), dtype=bool)
    keep[last] = False                                          # closing points
    xy, ring, size = xy[keep], ring[keep], size - 1
    single = np.bincount(part_owner[ring_part], minlength=len(footprints)) == 1
    area = shapely.area(footprints)
    hull = shapely.area(shapely.convex_hull(footprints))
    convex = single & (area >= hull * (1 - 1e-9))
    return _Rings(xy, ring, np.cumsum(size) - size, size, part_owner[ring_part], convex)


def _shadow_units(cand: Candidates, rings: _Rings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The vertex sets casting one convex shadow each: a whole convex footprint, or one edge.

    Returns (camera of each unit, vertex xy of all units concatenated, unit of each vertex).
    """
    occ = ~cand.own
    cam, bld = cand.cam[occ], cand.building[occ]
    # rings of the occluders, pair by pair
    ring_lists = _csr(rings.ring_owner, len(rings.convex))
    pr, ring_idx = _expand(ring_lists, bld)
    pair_cam, pair_convex = cam[pr], rings.convex[bld[pr]]
    size = rings.ring_size[ring_idx]
    # convex footprint: the whole ring is one unit
    vc = _ranges(rings.ring_start[ring_idx[pair_convex]], size[pair_convex])
    unit_c = np.repeat(np.arange(pair_convex.sum()), size[pair_convex])
    # other footprints: every edge (both ends) is a unit
    nc = ~pair_convex
    e0 = _ranges(rings.ring_start[ring_idx[nc]], size[nc])
    e_ring_start = np.repeat(rings.ring_start[ring_idx[nc]], size[nc])
    e_ring_size = np.repeat(size[nc], size[nc])
    e1 = e_ring_start + (e0 - e_ring_start + 1) % e_ring_size
    n_c = int(pair_convex.sum())
    verts = np.concatenate([vc, np.column_stack([e0, e1]).ravel()])
    unit = np.concatenate([unit_c, n_c + np.repeat(np.arange(len(e0)), 2)])
    unit_cam = np.concatenate([pair_cam[pair_convex], np.repeat(pair_cam[nc], size[nc])])
    return unit_cam, rings.xy[verts], unit


def _csr(owner: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start, count, members): the items of each of ``n`` owners, as compressed lists."""
    order = np.argsort(owner, kind="stable")
    count = np.bincount(owner, minlength=n)
    return np.cumsum(count) - count, count, order


def _expand(lists, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each key, its list members: (position of the key, member) pairs."""
    start, count, members = lists
    c = count[keys]
    return np.repeat(np.arange(len(keys)), c), members[_ranges(start[keys], c)]


def _ranges(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + c)`` for each (s, c), vectorised."""
    total = int(count.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.cumsum(count) - count
    return np.repeat(start - first, count) + np.arange(total)


@dataclass(frozen=True)
class _Units:
    """Shadow-casting units (a convex footprint, or one edge of another), sorted by camera."""

    cam: np.ndarray      # camera of each unit
    xy: np.ndarray       # vertices of all units, unit after unit
    unit: np.ndarray     # unit of each vertex (sorted)
    first: np.ndarray    # first vertex of each unit


def _sorted_units(unit_cam: np.ndarray, xy: np.ndarray, unit: np.ndarray) -> _Units:
    order = np.argsort(unit_cam, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    new = rank[unit]
    vorder = np.argsort(new, kind="stable")
    new = new[vorder]
    return _Units(unit_cam[order], xy[vorder], new, np.searchsorted(new, np.arange(len(order))))


def _unit_extent(cams: Cameras, u: _Units):
    """Per unit: compass angle of its first vertex, relative angles (lo, hi) of its extent
    (counter-clockwise positive, within (-pi, pi]), nearest and farthest distance."""
    cam = u.cam[u.unit]
    dx, dy = u.xy[:, 0] - cams.x[cam], u.xy[:, 1] - cams.y[cam]
    rx, ry = dx[u.first][u.unit], dy[u.first][u.unit]
    rel = np.arctan2(rx * dy - ry * dx, rx * dx + ry * dy)
    lo, hi = np.minimum.reduceat(rel, u.first), np.maximum.reduceat(rel, u.first)
    dist = np.hypot(dx, dy)
    # nearest point of each unit: over its edges (vertex k to the next one of the same unit)
    nxt = np.arange(len(dx)) + 1
    last = np.append(u.first[1:], len(dx)) - 1
    nxt[last] = u.first
    ex, ey = dx[nxt] - dx, dy[nxt] - dy
    t = np.clip(-(dx * ex + dy * ey) / np.maximum(ex * ex + ey * ey, 1e-300), 0.0, 1.0)
    seg = np.hypot(dx + t * ex, dy + t * ey)
    base = np.arctan2(dx[u.first], dy[u.first])
    return base, lo, hi, np.minimum.reduceat(seg, u.first), np.maximum.reduceat(dist, u.first), dx, dy, dist


def _visible_units(cams: Cameras, u: _Units, base, lo, hi, dmin, dmax) -> np.ndarray:
    """Mask of the units not wholly hidden behind nearer ones (see :func:`_hidden_units`)."""
    a = np.mod(base - hi, 2 * np.pi)      # compass angle where the extent starts (clockwise)
    b = a + (hi - lo)
    cam_first = np.searchsorted(u.cam, np.arange(len(cams) + 1))
    by_near, by_far = np.lexsort((dmin, u.cam)), np.lexsort((dmax, u.cam))   # sorted outside numba
    return ~_hidden_units(cam_first, by_near, by_far, a, b, dmin, dmax)


def _shadows(cams: Cameras, u: _Units, base, lo, hi, dmax) -> np.ndarray:
    """The shadow of each unit: convex hull of its vertices and of far points behind them.

    The shadow of a convex set seen from a point outside it is convex ({c + t (b - c), t ≥ 1}).
    Its part within the range is the hull of the vertices and of four far points at a distance
    ``R ≥ FAR × range`` (and beyond every vertex), on the two silhouette rays and on two rays
    splitting the angular extent (< 180°) in three: consecutive far points are < 60° apart, so
    the far side of the hull stays beyond R cos 30° > range, and every hull point is in the
    true shadow (a far point lies behind the footprint on its ray).
    """
    n_units = len(u.cam)
    ux, uy = cams.x[u.cam], cams.y[u.cam]
    far = np.maximum(FAR * cams.range_m[u.cam], 1.01 * dmax)
    ang = base[:, None] - (lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, 4))
    pts = np.concatenate([
        u.xy,
        np.column_stack([(ux[:, None] + far[:, None] * np.sin(ang)).ravel(),
                         (uy[:, None] + far[:, None] * np.cos(ang)).ravel()])])
    idx = np.concatenate([u.unit, np.repeat(np.arange(n_units), 4)])
    order = np.lexsort((pts[:, 1], pts[:, 0], idx))          # by unit, then x, then y
    count = np.bincount(idx, minlength=n_units)
    hx, hy, size = _hulls(pts[order, 0], pts[order, 1], np.cumsum(count) - count, count)
    out = np.full(n_units, None, dtype=object)
    ok = size >= 4                      # a closed ring of >= 3 corners (else the unit is edge-on)
    if ok.any():
        slot = (np.cumsum(count + 1) - (count + 1))[ok]
        at = _ranges(slot, size[ok])
        rings = shapely.linearrings(np.column_stack([hx[at], hy[at]]), indices=np.repeat(np.arange(ok.sum()), size[ok]))
        out[ok] = shapely.polygons(rings)
    return out


@numba.njit(cache=True)
def _hulls(px: np.ndarray, py: np.ndarray, first: np.ndarray, count: np.ndarray):
    """Convex hull of each point set ``first[u]:first[u] + count[u]``, sorted by x then y
    (Andrew's monotone chain).

    Returns the hull rings (counter-clockwise, closed) in slots of ``count[u] + 1`` points per
    set, and the ring size of each (< 4 when the points are collinear).
    """
    n = len(first)
    hx = np.empty(len(px) + n)
    hy = np.empty(len(px) + n)
    size = np.zeros(n, dtype=np.int64)
    slot = 0
    for u in range(n):
        a, m = first[u], count[u]
        idx = np.arange(a, a + m)
        k = 0
        stack = np.empty(2 * m + 1, dtype=np.int64)
        for i in range(m):                                   # lower hull
            while k >= 2 and _turn(px, py, stack[k - 2], stack[k - 1], idx[i]) <= 0.0:
                k -= 1
            stack[k] = idx[i]
            k += 1
        low = k + 1
        for i in range(m - 2, -1, -1):                       # upper hull
            while k >= low and _turn(px, py, stack[k - 2], stack[k - 1], idx[i]) <= 0.0:
                k -= 1
            stack[k] = idx[i]
            k += 1
        # stack[0..k-1] is closed (last == first) when the hull has an area
        for q in range(k):
            hx[slot + q] = px[stack[q]]
            hy[slot + q] = py[stack[q]]
        size[u] = k
        slot += m + 1
    return hx, hy, size


@numba.njit(cache=True, inline="always")
def _turn(px, py, i, j, k) -> float:
    return (px[j] - px[i]) * (py[k] - py[i]) - (py[j] - py[i]) * (px[k] - px[i])


def _subtract(geoms: np.ndarray, owner: np.ndarray, cutters: np.ndarray, threads: int = 1) -> np.ndarray:
    """``geoms[i]`` minus the union of the ``cutters`` whose owner is ``i`` (array calls: one
    union per row of an owner × cutter table, then one difference; ``threads`` chunks)."""
    out = geoms.copy()
    if len(cutters) == 0:
        return out
    order = np.argsort(owner, kind="stable")
    owner, cutters = owner[order], cutters[order]
    count = np.bincount(owner, minlength=len(geoms))
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    table = np.full((len(geoms), int(count.max())), None, dtype=object)
    table[owner, rank] = cutters
    has = np.flatnonzero(count > 0)

    def work(rows: np.ndarray) -> np.ndarray:
        return shapely.difference(geoms[rows], shapely.union_all(table[rows], axis=1))

    if threads > 1 and len(has) > 1000:
        chunks = [has[k::threads] for k in range(threads)]   # interleaved: similar loads
        with ThreadPoolExecutor(threads) as pool:
            for rows, res in zip(chunks, pool.map(work, chunks)):
                out[rows] = res
    else:
        out[has] = work(has)
    return out


def _exact(cams: Cameras, sector_geoms: np.ndarray, cand: Candidates, rings: _Rings,
           cull: bool = True, threads: int = 1) -> np.ndarray:
    """Sector minus the union of the shadows of its occluders (array calls over all cameras)."""
    u = _sorted_units(*_shadow_units(cand, rings))
    if len(u.cam) == 0:
        return sector_geoms.copy()
    base, lo, hi, dmin, dmax, dx, dy, dist = _unit_extent(cams, u)
    keep = _visible_units(cams, u, base, lo, hi, dmin, dmax) if cull else np.ones(len(u.cam), bool)
    shadows = _shadows(cams, u, base, lo, hi, dmax)
    keep &= ~shapely.is_missing(shadows)               # an edge pointing at the camera: no area
    return _subtract(sector_geoms, u.cam[keep], shadows[keep], threads)


@numba.njit(cache=True)
def _insert(us: np.ndarray, ue: np.ndarray, n: int, a: float, b: float) -> int:
    """Add [a, b] to the union of ``n`` disjoint sorted intervals (in place); new count."""
    k = 0
    while k < n and ue[k] < a:                 # intervals wholly before [a, b] stay
        k += 1
    m = k
    while m < n and us[m] <= b:                # intervals meeting [a, b] merge into it
        a = min(a, us[m])
        b = max(b, ue[m])
        m += 1
    shift = 1 - (m - k)                        # one interval replaces m - k of them
    if shift > 0:
        for q in range(n - 1, m - 1, -1):
            us[q + shift], ue[q + shift] = us[q], ue[q]
    elif shift < 0:
        for q in range(m, n):
            us[q + shift], ue[q + shift] = us[q], ue[q]
    us[k], ue[k] = a, b
    return n + shift


@numba.njit(cache=True)
def _inside(us: np.ndarray, ue: np.ndarray, n: int, a: float, b: float) -> bool:
    """Is [a, b] inside one of ``n`` disjoint sorted intervals? (binary search)"""
    lo, hi = 0, n                      # first interval starting after a
    while lo < hi:
        mid = (lo + hi) // 2
        if us[mid] <= a:
            lo = mid + 1
        else:
            hi = mid
    return lo > 0 and ue[lo - 1] >= b


@numba.njit(cache=True)
def _hidden_units(cam_first: np.ndarray, by_near: np.ndarray, by_far: np.ndarray, a: np.ndarray,
                  b: np.ndarray, dmin: np.ndarray, dmax: np.ndarray) -> np.ndarray:
    """Units wholly behind nearer ones (the units of camera c are cam_first[c]:cam_first[c+1];
    ``by_near`` / ``by_far`` order them by camera, then nearest / farthest distance).

    Unit ``j`` is hidden when its angular interval [a, b] (radians, 0 <= a < 2 pi,
    b - a < pi) is covered by the intervals of units lying entirely nearer (dmax_i <= dmin_j):
    every ray through ``j`` then meets a nearer footprint first, so ``j``'s shadow lies inside
    theirs. Units are taken nearest first while the union of the nearer intervals grows.
    """
    two_pi = 2 * np.pi
    hidden = np.zeros(len(a), dtype=np.bool_)
    us = np.empty(2 * len(a) + 1)
    ue = np.empty(2 * len(a) + 1)
    for c in range(len(cam_first) - 1):
        lo, hi = cam_first[c], cam_first[c + 1]
        if hi - lo < 2:
            continue
        n = 0
        p = lo
        for q in range(lo, hi):
            j = by_near[q]
            while p < hi and dmax[by_far[p]] <= dmin[j]:
                i = by_far[p]
                if b[i] > two_pi:              # wraps past north: two pieces
                    n = _insert(us, ue, n, a[i], two_pi)
                    n = _insert(us, ue, n, 0.0, b[i] - two_pi)
                else:
                    n = _insert(us, ue, n, a[i], b[i])
                p += 1
            if n == 0:
                continue
            if b[j] > two_pi:
                hidden[j] = _inside(us, ue, n, a[j], two_pi) and _inside(us, ue, n, 0.0, b[j] - two_pi)
            else:
                hidden[j] = _inside(us, ue, n, a[j], b[j])
    return hidden


# ---------------------------------------------------------------------------------------------
# ray casting (numba)

@dataclass(frozen=True)
class _Edges:
    """Edges of all footprints (every ring), grouped by footprint: footprint b owns edges
    ``start[b]:start[b + 1]``."""

    x1: np.ndarray
    y1: np.ndarray
    x2: np.ndarray
    y2: np.ndarray
    start: np.ndarray


def _edges(rings: _Rings) -> _Edges:
    nxt = np.arange(len(rings.xy)) + 1
    last = rings.ring_start + rings.ring_size - 1
    nxt[last] = rings.ring_start
    owner = rings.ring_owner[rings.ring]
    start = np.searchsorted(owner, np.arange(len(rings.convex) + 1))
    return _Edges(rings.xy[:, 0], rings.xy[:, 1], rings.xy[nxt, 0], rings.xy[nxt, 1], start)


@numba.njit(cache=True, inline="always")
def _hit(px: float, py: float, ex: float, ey: float, sx: float, sy: float) -> float:
    """Distance along the unit ray (sx, sy) from the origin to segment p → p + e, inf if none."""
    den = sx * ey - sy * ex
    if den == 0.0:
        return np.inf
    t = (px * ey - py * ex) / den
    u = (px * sy - py * sx) / den
    if t <= 0.0 or u < -1e-9 or u > 1.0 + 1e-9:
        return np.inf
    return t


@numba.njit(cache=True)
def _cast(cx, cy, start, step, reach, n_rays, cam_first, pair_b, e_start, x1, y1, x2, y2):
    """Nearest hit distance of ``n_rays`` rays per camera (ray k at compass angle
    start + k step) against the edges of the camera's occluders, capped at ``reach``.

    Each edge is tested only against the rays inside its angular extent (< pi).
    """
    n = len(cx)
    two_pi = 2.0 * np.pi
    out = np.empty((n, n_rays))
    for c in range(n):
        t = out[c]
        t[:] = reach[c]
        ang = start[c] + step[c] * np.arange(n_rays)
        sx, sy = np.sin(ang), np.cos(ang)
        for p in range(cam_first[c], cam_first[c + 1]):
            b = pair_b[p]
            for e in range(e_start[b], e_start[b + 1]):
                px, py = x1[e] - cx[c], y1[e] - cy[c]
                qx, qy = x2[e] - cx[c], y2[e] - cy[c]
                r1 = (np.arctan2(px, py) - start[c]) % two_pi
                d = (np.arctan2(qx, qy) - start[c]) % two_pi - r1
                if d > np.pi:
                    d -= two_pi
                elif d < -np.pi:
                    d += two_pi
                lo = r1 + min(d, 0.0)
                if lo < 0.0:
                    lo += two_pi
                hi = lo + abs(d)
                for shift in (0.0, two_pi):       # the extent may run past north
                    k0 = max(0, int(np.ceil((lo - shift) / step[c])))
                    k1 = min(n_rays - 1, int(np.floor((hi - shift) / step[c])))
                    for k in range(k0, k1 + 1):
                        h = _hit(px, py, qx - px, qy - py, sx[k], sy[k])
                        if h < t[k]:
                            t[k] = h
    return out


def _ray_frame(cams: Cameras, n_rays: int) -> tuple[np.ndarray, np.ndarray]:
    """Compass angle (radians) of the first ray and the step between rays, per camera."""
    full = cams.full
    start = np.radians(np.where(full, cams.azimuth_deg, cams.azimuth_deg - cams.hfov_deg / 2))
    step = np.radians(np.where(full, 360.0 / n_rays, cams.hfov_deg / max(n_rays - 1, 1)))
    return start, step


def _ray_polygons(cams: Cameras, dist: np.ndarray, start: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Star-shaped polygons of the hit points (fixed cameras: from the camera point)."""
    n_rays = dist.shape[1]
    ang = start[:, None] + step[:, None] * np.arange(n_rays)
    xy = np.stack([cams.x[:, None] + dist * np.sin(ang), cams.y[:, None] + dist * np.cos(ang)], axis=-1)
    out = np.empty(len(cams), dtype=object)
    full = cams.full
    if full.any():
        out[full] = shapely.polygons(xy[full])
    if (~full).any():
        apex = np.stack([cams.x[~full], cams.y[~full]], axis=-1)[:, None, :]
        out[~full] = shapely.polygons(np.concatenate([apex, xy[~full]], axis=1))
    # star-shaped round the camera, hence valid, unless a ray hit at the camera point itself
    bad = np.flatnonzero((dist <= 1e-9).any(axis=1))
    if len(bad):
        bad = bad[~shapely.is_valid(out[bad])]
        out[bad] = shapely.make_valid(out[bad], method="structure", keep_collapsed=False)
    return out


def _rays(cams: Cameras, cand: Candidates, edges: _Edges, n_rays: int) -> np.ndarray:
    occ = ~cand.own
    cam_first = np.searchsorted(cand.cam[occ], np.arange(len(cams) + 1))
    start, step = _ray_frame(cams, n_rays)
    dist = _cast(cams.x, cams.y, start, step, cams.range_m, n_rays, cam_first,
                 cand.building[occ], edges.start, edges.x1, edges.y1, edges.x2, edges.y2)
    return _ray_polygons(cams, dist, start, step)


# ---------------------------------------------------------------------------------------------
# the views

@dataclass
class Scene:
    """Footprints prepared once for many view computations (tree, rings, edges)."""

    footprints: np.ndarray
    tree: STRtree
    rings: _Rings
    edges: _Edges

    @classmethod
    def of(cls, buildings) -> Scene:
        g = _geoms(buildings)
        rings = _rings(g)
        return cls(g, STRtree(g), rings, _edges(rings))


def visible_views(cams, buildings, method: str = "exact", *, own_tolerance_m: float = OWN_TOLERANCE_M,
                  n_arc: int = N_ARC, n_rays: int = N_RAYS, threads: int = 1) -> np.ndarray:
    """What each camera sees: its sector minus what the footprints around it hide.

    Parameters
    ----------
    cams : GeoDataFrame, DataFrame, mapping or :class:`Cameras`
        Points (or ``x``, ``y``) with ``azimuth_deg``, ``hfov_deg``, ``range_m``; metric CRS.
    buildings : GeoDataFrame, GeoSeries, array of polygons or :class:`Scene`
        Footprints in the same CRS (a :class:`Scene` reuses its tree across calls).
    method : {"exact", "rays"}
        ``"exact"``: sector minus the shadows of the footprints (shapely, array calls);
        ``"rays"``: ``n_rays`` rays per camera compiled with numba (fast, coarse at shadow edges).
    own_tolerance_m : float
        Footprints containing the camera point or within this distance of it are the camera's
        own building (it hangs on their wall): they hide nothing from it.
    n_arc : int
        Vertices of the sector arc per full turn (``"exact"``).
    n_rays : int
        Rays per camera over its field of view (``"rays"``).
    threads : int
        Threads for the shapely overlays of ``"exact"`` (the rays run on one).

    Returns
    -------
    numpy.ndarray of shapely (Multi)Polygons, one per camera (empty when nothing is seen).

    Examples
    --------
    A PTZ dome at the origin, range 20 m, a 4 m × 4 m kiosk 10 m to its east:

    >>> from shapely.geometry import box
    >>> cams = {"x": [0.0], "y": [0.0], "azimuth_deg": [0.0], "hfov_deg": [360.0], "range_m": [20.0]}
    >>> exact = visible_views(cams, [box(10, -2, 14, 2)])[0]
    >>> fast = visible_views(cams, [box(10, -2, 14, 2)], method="rays", n_rays=720)[0]
    >>> exact.contains(shapely.Point(-15, 0)), exact.contains(shapely.Point(17, 0))
    (True, False)
    >>> round(exact.area), round(fast.area)
    (1197, 1198)
    """
    _check_same_crs(cams, buildings)
    scene = buildings if isinstance(buildings, Scene) else Scene.of(buildings)
    c = camera_arrays(cams)
    if len(c) == 0:
        return np.empty(0, dtype=object)
    sec = sectors(c.x, c.y, c.azimuth_deg, c.hfov_deg, c.range_m, n_arc=n_arc)
    cand = candidates(c, sec, scene.footprints, scene.tree, own_tolerance_m)
    if method == "exact":
        return _exact(c, sec, cand, scene.rings, threads=threads)
    if method == "rays":
        return _rays(c, cand, scene.edges, n_rays)
    raise ValueError(f"unknown method {method!r}: 'exact' or 'rays'")


def reference_view(cams, buildings, n_rays: int = 3600, *, own_tolerance_m: float = OWN_TOLERANCE_M,
                   vertex_rays: bool = True) -> np.ndarray:
    """Brute-force fine ray casting, camera by camera (slow; the reference of the tests).

    Independent of the fast paths: no sector, no tree, no numba. Every edge of every footprint
    that is not the camera's own is tested against ``n_rays`` rays spread evenly over the field
    of view and, with ``vertex_rays``, against two rays grazing each footprint vertex (so the
    shadow edges are sharp). The view is the star-shaped polygon of the nearest hits (capped at
    the range).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> cams = {"x": [0.0], "y": [0.0], "azimuth_deg": [90.0], "hfov_deg": [90.0], "range_m": [30.0]}
    >>> ref = reference_view(cams, [box(10, -1, 11, 1)])[0]
    >>> round(ref.area, 1), round(math.pi * 900 / 4 - (math.atan(0.1) * 900 - 10), 1)
    (627.2, 627.2)
    """
    _check_same_crs(cams, buildings)
    c = camera_arrays(cams)
    geoms = _geoms(buildings)
    edges = _edges(_rings(geoms))
    owner = np.repeat(np.arange(len(geoms)), np.diff(edges.start))
    out = np.empty(len(c), dtype=object)
    for i in range(len(c)):
        own = shapely.dwithin(geoms, shapely.Point(c.x[i], c.y[i]), own_tolerance_m)
        keep = ~own[owner]
        seg = np.column_stack([edges.x1, edges.y1, edges.x2, edges.y2])[keep] - [c.x[i], c.y[i]] * 2
        out[i] = _reference_one(c.take(slice(i, i + 1)), seg, n_rays, vertex_rays)
    return out


def _reference_one(c: Cameras, seg: np.ndarray, n_rays: int, vertex_rays: bool):
    full = bool(c.full[0])
    half = math.radians(c.hfov_deg[0]) / 2
    az = math.radians(c.azimuth_deg[0])
    # angles relative to the start of the field of view, clockwise
    rel = np.linspace(0.0, 2 * math.pi, n_rays, endpoint=False) if full else np.linspace(0.0, 2 * half, n_rays)
    start = az if full else az - half
    if vertex_rays and len(seg):
        v = np.mod(np.arctan2(seg[:, 0], seg[:, 1]) - start, 2 * math.pi)
        v = np.concatenate([v - 1e-7, v + 1e-7])       # grazing either side of the vertex
        v = np.mod(v, 2 * math.pi)
        rel = np.unique(np.concatenate([rel, v if full else v[v <= 2 * half]]))
    ang = start + rel
    sx, sy = np.sin(ang)[:, None], np.cos(ang)[:, None]
    dist = np.full(len(ang), float(c.range_m[0]))
    for chunk in np.array_split(np.arange(len(seg)), max(1, len(seg) // 256)):
        px, py, ex, ey = (seg[chunk, 0], seg[chunk, 1], seg[chunk, 2] - seg[chunk, 0],
                          seg[chunk, 3] - seg[chunk, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            den = sx * ey - sy * ex
            t = (px * ey - py * ex) / den
            u = (px * sy - py * sx) / den
        ok = (den != 0) & (t > 0) & (u >= -1e-12) & (u <= 1 + 1e-12)
        if len(chunk):
            dist = np.minimum(dist, np.where(ok, t, np.inf).min(axis=1))
    xy = np.column_stack([c.x[0] + dist * np.sin(ang), c.y[0] + dist * np.cos(ang)])
    if not full:
        xy = np.vstack([[c.x[0], c.y[0]], xy])
    poly = shapely.Polygon(xy)
    return poly if poly.is_valid else shapely.make_valid(poly, method="structure", keep_collapsed=False)


# ---------------------------------------------------------------------------------------------
# DORI (detection, observation, recognition, identification)

def dori_distances(resolution_px, hfov_deg, ppm=DORI_PPM) -> dict[str, np.ndarray]:
    """Distance at which the horizontal pixel density falls to each DORI class.

    ``d = resolution_px / (2 tan(hfov / 2) ppm)``: at distance d the field of view is
    ``2 d tan(hfov / 2)`` metres wide, spread over ``resolution_px`` pixels. Undefined (NaN)
    for a field of view of 180° or more: give a PTZ camera its lens's field of view.

    Examples
    --------
    A 1920-pixel camera with a 90° lens identifies faces up to 3.84 m and detects to 38.4 m:

    >>> {k: round(float(v[0]), 2) for k, v in dori_distances([1920], [90]).items()}
    {'identification': 3.84, 'recognition': 7.68, 'observation': 15.48, 'detection': 38.4}
    """
    res = np.asarray(resolution_px, dtype=np.float64)
    fov = np.asarray(hfov_deg, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        width_per_m = 2.0 * np.tan(np.radians(np.where(fov < 180.0, fov, np.nan)) / 2.0)
        return {k: res / (width_per_m * float(v)) for k, v in ppm.items()}


def dori_rings(cams, views: np.ndarray, resolution_px, lens_hfov_deg=None, *, n_arc: int = N_ARC,
               ppm=DORI_PPM) -> dict[str, np.ndarray]:
    """The visible view split into DORI rings, nearest (identification) first.

    Ring k is the part of the view between the DORI distances of classes k - 1 and k (capped
    at the range); the rings do not overlap and their union is the view out to the detection
    distance. ``lens_hfov_deg`` (default: the camera's ``hfov_deg``) is the lens's field of view
    the resolution is spread over — needed for PTZ domes, whose 360° is not one image.

    Examples
    --------
    >>> cams = {"x": [0.0], "y": [0.0], "azimuth_deg": [0.0], "hfov_deg": [90.0], "range_m": [30.0]}
    >>> view = sectors(0, 0, 0, 90, 30)
    >>> rings = dori_rings(cams, view, [1920])
    >>> [round(float(shapely.area(g[0])), 1) for g in rings.values()]
    [11.6, 34.7, 141.9, 518.4]
    """
    c = camera_arrays(cams)
    views = np.asarray(views, dtype=object)
    lens = c.hfov_deg if lens_hfov_deg is None else np.broadcast_to(np.asarray(lens_hfov_deg, float), len(c))
    dist = dori_distances(np.broadcast_to(np.asarray(resolution_px, float), len(c)), lens, ppm)
    out, inner = {}, np.full(len(c), shapely.Polygon(), dtype=object)
    for name, d in dist.items():
        d = np.where(np.isnan(d), 0.0, d)
        whole = d >= c.range_m
        outer = views.copy()
        part = ~whole & (d > 0)
        outer[part] = shapely.intersection(views[part], sectors(c.x[part], c.y[part], 0.0, 360.0, d[part], n_arc))
        outer[~whole & ~part] = shapely.Polygon()
        out[name] = shapely.difference(outer, inner)
        inner = outer
    return out


def compile_kernels() -> None:
    """Compile (or load from numba's cache) the compiled kernels on a tiny scene, so that the
    first real call does not pay for it (a service may call this at start-up).

    Examples
    --------
    >>> compile_kernels()
    """
    c = {"x": [0.0, 0.0], "y": [0.0, 0.0], "azimuth_deg": [0.0, 0.0], "hfov_deg": [90.0, 360.0],
         "range_m": [30.0, 30.0]}
    walls = [shapely.box(-5, 10, 5, 11), shapely.box(-3, 15, 3, 16), shapely.box(10, -2, 12, 2)]
    for method in ("exact", "rays"):
        visible_views(c, walls, method)
