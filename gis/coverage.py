"""Coverage and blind spots (覆盖率、盲区盲点) from camera views.

Pure functions in a **metric** CRS. The views come from :mod:`gis.views`; they overlap, so
their union is an ordinary union (``shapely.coverage_union`` only dissolves edge-matched,
non-overlapping pieces). Two ways to merge them:

- :func:`coverage_union` — exact vector union; fine for a site or a village.
- :func:`coverage_raster` — a multiplicity raster (how many cameras see each cell, a cell
  counting as seen when its centre is), built without GDAL by a vectorised scanline fill;
  several times faster for a whole town, and it says *how many* cameras see a place.
  :func:`raster_to_polygons` turns a mask of it back into polygons, exactly along cell edges.

Then :func:`blind_spots` lists the parts of must-cover places that no camera sees, and
:func:`share_covered` gives the covered share of each place.

Raster convention: ``counts[row, col]``, row 0 at the north (top); the transform is the
affine of rasterio / GDAL order ``(cell, 0, xmin, 0, -cell, ymax)``: the centre of cell
(row, col) is ``(xmin + (col + 0.5) cell, ymax - (row + 0.5) cell)``.

Examples
--------
Two 10 m × 10 m views overlapping by 5 m × 10 m, on a 1 m raster:

>>> from shapely.geometry import box
>>> views = [box(0, 0, 10, 10), box(5, 0, 15, 10)]
>>> counts, transform = coverage_raster(views, (0, 0, 20, 10), cell=1.0)
>>> int((counts >= 1).sum()), int((counts == 2).sum())
(150, 50)
>>> raster_to_polygons(counts == 2, transform).equals(box(5, 0, 10, 10))
True
"""
from __future__ import annotations

import geopandas as gpd
import numba
import numpy as np
import shapely

Transform = tuple[float, float, float, float, float, float]


def coverage_union(views) -> shapely.Geometry:
    """Exact union of (overlapping) views: what at least one camera sees.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> coverage_union([box(0, 0, 2, 2), box(1, 0, 3, 2), None]).area
    6.0
    """
    g = np.asarray(views, dtype=object)
    g = g[~shapely.is_missing(g)] if len(g) else g
    return shapely.union_all(g) if len(g) else shapely.Polygon()


def raster_grid(bounds, cell: float = 2.0) -> tuple[int, int, Transform]:
    """(rows, cols, transform) of a north-up grid of ``cell`` metres covering ``bounds``.

    The grid starts at ``bounds``'s west and north edges; the last row and column may reach
    past the east and south edges.

    Examples
    --------
    >>> raster_grid((0, 0, 10, 5), cell=2.0)
    (3, 5, (2.0, 0.0, 0.0, 0.0, -2.0, 5.0))
    """
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    cols = max(int(np.ceil((xmax - xmin) / cell - 1e-9)), 1)
    rows = max(int(np.ceil((ymax - ymin) / cell - 1e-9)), 1)
    return rows, cols, (float(cell), 0.0, xmin, 0.0, -float(cell), ymax)


def _crossings(views: np.ndarray, rows: int, t: Transform):
    """Where each polygon edge crosses each row's centre line: (polygon, row, x) arrays.

    Half-open rule (an edge counts for centres with ``ylo <= y < yhi``), so a vertex on a
    centre line is counted once and every row of a polygon has an even number of crossings.
    """
    cell, xmin, ymax = t[0], t[2], t[5]
    rings, ring_poly = shapely.get_rings(shapely.get_parts(views, return_index=True)[0], return_index=True)
    part_poly = shapely.get_parts(views, return_index=True)[1]
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    poly = part_poly[ring_poly][ring]
    same = ring[1:] == ring[:-1]                       # edges within one ring
    x1, y1, x2, y2 = xy[:-1, 0][same], xy[:-1, 1][same], xy[1:, 0][same], xy[1:, 1][same]
    poly = poly[:-1][same]
    ylo, yhi = np.minimum(y1, y2), np.maximum(y1, y2)
    r0 = np.maximum(np.floor((ymax - yhi) / cell - 0.5).astype(np.int64) + 1, 0)
    r1 = np.minimum(np.floor((ymax - ylo) / cell - 0.5).astype(np.int64), rows - 1)
    n = np.maximum(r1 - r0 + 1, 0)
    e = np.repeat(np.arange(len(n)), n)
    r = np.arange(len(e)) - np.repeat(np.cumsum(n) - n, n) + r0[e]
    yc = ymax - (r + 0.5) * cell
    x = x1[e] + (yc - y1[e]) * (x2[e] - x1[e]) / (y2[e] - y1[e])
    return poly[e], r, x


def coverage_raster(views, bounds, cell: float = 2.0, dtype=np.int32) -> tuple[np.ndarray, Transform]:
    """How many views cover each cell (by its centre): a multiplicity raster, without GDAL.

    Parameters
    ----------
    views : array_like of shapely (Multi)Polygons
        The camera views (valid polygons; None and empty are skipped), metric CRS.
    bounds : (xmin, ymin, xmax, ymax)
        Extent of the raster.
    cell : float
        Cell size in metres.

    Returns
    -------
    counts : numpy.ndarray (rows, cols)
        Number of views containing each cell centre.
    transform : tuple
        ``(cell, 0, xmin, 0, -cell, ymax)`` (rasterio / GDAL affine order).

    Notes
    -----
    A vectorised scanline fill: every edge of every view is crossed with the centre lines of
    the rows it spans; sorted by (view, row, x), consecutive crossings pair up into runs of
    cells inside the view (even-odd rule, so holes and multipolygons are handled), and each
    run adds 1 to its cells (a compiled loop touching only the covered cells, so a sparse
    city-wide raster costs little more than its covered part).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> counts, t = coverage_raster([box(0, 0, 4, 4), box(2, 2, 6, 6)], (0, 0, 6, 6), cell=2.0)
    >>> counts
    array([[0, 1, 1],
           [1, 2, 1],
           [1, 1, 0]], dtype=int32)
    """
    rows, cols, t = raster_grid(bounds, cell)
    g = np.asarray(views, dtype=object).ravel()
    g = g[~shapely.is_missing(g) & ~shapely.is_empty(g)] if len(g) else g
    counts = np.zeros((rows, cols), dtype=dtype)
    if len(g) == 0:
        return counts, t
    poly, r, x = _crossings(g, rows, t)
    order = np.lexsort((x, r, poly))
    r, x = r[order], x[order]
    xa, xb, row = x[0::2], x[1::2], r[0::2]
    c0 = np.clip(np.ceil((xa - t[2]) / cell - 0.5), 0, cols).astype(np.int64)
    c1 = np.clip(np.ceil((xb - t[2]) / cell - 0.5), 0, cols).astype(np.int64)
    _fill_runs(counts, row, c0, c1)
    return counts, t


@numba.njit(cache=True)
def _fill_runs(counts: np.ndarray, row: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> None:
    """counts[row, c0:c1] += 1 for every run (touches only the covered cells)."""
    for k in range(len(row)):
        r = counts[row[k]]
        for c in range(c0[k], c1[k]):
            r[c] += 1


def raster_to_polygons(mask: np.ndarray, transform: Transform) -> shapely.Geometry:
    """The cells of ``mask`` as one (multi)polygon, exactly along the cell edges.

    Runs of cells in each row become rectangles; their union (integer multiples of the cell
    size apart, so the overlay is exact) is the area of the cells.

    Examples
    --------
    >>> m = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
    >>> g = raster_to_polygons(m, (1.0, 0.0, 0.0, 0.0, -1.0, 2.0))
    >>> g.area, g.geom_type, len(g.exterior.coords)
    (4.0, 'Polygon', 9)
    """
    m = np.asarray(mask, dtype=bool)
    cell, xmin, ymax = transform[0], transform[2], transform[5]
    pad = np.zeros((m.shape[0], m.shape[1] + 2), dtype=np.int8)
    pad[:, 1:-1] = m
    d = np.diff(pad, axis=1)
    r_start, c_start = np.nonzero(d == 1)
    r_end, c_end = np.nonzero(d == -1)                # same order: row-major, runs alternate
    if len(r_start) == 0:
        return shapely.Polygon()
    boxes = shapely.box(xmin + c_start * cell, ymax - (r_start + 1) * cell,
                        xmin + c_end * cell, ymax - r_end * cell)
    return shapely.simplify(shapely.union_all(boxes), 0.0)   # drop the collinear run corners


def blind_spots(must_cover, coverage, min_area_m2: float = 10.0) -> gpd.GeoDataFrame:
    """Parts of the must-cover places (重点部位) that no camera sees (盲区盲点).

    Parameters
    ----------
    must_cover : GeoDataFrame, GeoSeries or array of polygons
        The places that must be covered, metric CRS.
    coverage : shapely geometry
        What the cameras see (:func:`coverage_union`, or :func:`raster_to_polygons` of a
        :func:`coverage_raster` mask).
    min_area_m2 : float
        Pieces smaller than this are not reported.

    Returns
    -------
    GeoDataFrame with ``place`` (position of the place in ``must_cover``), ``area_m2`` and the
    blind spot's polygon, largest first; the CRS of ``must_cover`` when it has one.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> spots = blind_spots([box(0, 0, 10, 10)], box(0, 0, 5, 10), min_area_m2=1)
    >>> spots["place"].tolist(), spots["area_m2"].tolist(), spots.geometry[0].equals(box(5, 0, 10, 10))
    ([0], [50.0], True)
    """
    crs = getattr(must_cover, "crs", None)
    g = np.asarray(getattr(must_cover, "geometry", must_cover), dtype=object)
    shapely.prepare(coverage)
    missing = shapely.difference(g, coverage)
    parts, place = shapely.get_parts(missing, return_index=True)
    keep = shapely.get_type_id(parts) == 3
    parts, place = parts[keep], place[keep]
    area = shapely.area(parts)
    big = area >= min_area_m2
    out = gpd.GeoDataFrame({"place": place[big], "area_m2": area[big]}, geometry=parts[big], crs=crs)
    return out.sort_values("area_m2", ascending=False, kind="stable").reset_index(drop=True)


def share_covered(areas, coverage) -> np.ndarray:
    """Covered share (0–1) of each polygon; NaN for an empty one.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> share_covered([box(0, 0, 10, 10), box(20, 0, 30, 10)], box(0, 0, 5, 10)).tolist()
    [0.5, 0.0]
    """
    g = np.asarray(getattr(areas, "geometry", areas), dtype=object)
    shapely.prepare(coverage)
    total = shapely.area(g)
    seen = shapely.area(shapely.intersection(g, coverage))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, seen / total, np.nan)
