"""Auto-fix of digitising noise: sliver gaps and overlaps between sibling grids (thinner than
the tolerance) are snapped away. Real gaps and overlaps are left for the planner: they are
decisions, not noise.

Examples
--------
>>> from shapely.geometry import box
>>> parent = box(0, 0, 100, 100)
>>> kids = [box(0, 0, 50.2, 100), box(50, 0, 100, 100.3)]   # 0.2 m overlap, 0.3 m outside
>>> fixed = fix_slivers(parent, kids, tol=0.5)
>>> [round(g.area, 6) for g in fixed]
[5000.0, 5000.0]
>>> import shapely; bool(shapely.coverage_is_valid(np.array(fixed)))
True
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

from gis.rules import _is_sliver, _pieces


def _snap_all(parent, geoms: list, tol: float) -> list:
    """Snap each grid's vertices to the parent's and the siblings' boundaries within ``tol``."""
    out = list(geoms)
    for i in range(len(out)):
        others = [parent.boundary] + [g.boundary for k, g in enumerate(out) if k != i]
        out[i] = shapely.snap(out[i], shapely.union_all(others), tol)
        out[i] = shapely.make_valid(out[i]) if not out[i].is_valid else out[i]
    return out


def _polys(g):
    parts = _pieces(g)
    return shapely.MultiPolygon(list(parts)) if len(parts) > 1 else (parts[0] if len(parts) else shapely.Polygon())


def fix_slivers(parent, geoms: Sequence, tol: float) -> list:
    """Return the sibling ``geoms`` (metric CRS) with sliver gaps, overlaps and outside parts
    (thinner than ``tol`` metres) removed; wider defects are kept as they are.

    Slivers outside the parent are cut off; a sliver overlap goes to the larger grid's
    neighbour (it is removed from the larger one); a sliver gap joins the neighbour sharing
    the longest edge with it.
    """
    gs = _snap_all(parent, [shapely.normalize(g) for g in geoms], tol)
    gs = [_drop_sliver_outside(g, parent, tol) for g in gs]
    gs = _drop_sliver_overlaps(gs, tol)
    return _fill_sliver_gaps(parent, gs, tol)


def _drop_sliver_outside(g, parent, tol: float):
    out = _pieces(shapely.difference(g, parent))
    slv = out[_is_sliver(out, tol)]
    return _polys(shapely.difference(g, shapely.union_all(slv))) if len(slv) else g


def _drop_sliver_overlaps(gs: list, tol: float) -> list:
    tree = shapely.STRtree(gs)
    a, b = tree.query(np.array(gs), predicate="intersects")
    for i, j in zip(a, b):
        if i >= j:
            continue
        pieces = _pieces(shapely.intersection(gs[i], gs[j]))
        slv = pieces[_is_sliver(pieces, tol)] if len(pieces) else pieces
        if len(slv):
            k = i if gs[i].area >= gs[j].area else j
            gs[k] = _polys(shapely.difference(gs[k], shapely.union_all(slv)))
    return gs


def _fill_sliver_gaps(parent, gs: list, tol: float) -> list:
    gaps = _pieces(shapely.difference(parent, shapely.union_all(gs)))
    if not len(gaps):
        return gs
    for gap in gaps[_is_sliver(gaps, tol)]:
        shared = [shapely.length(shapely.intersection(gap.buffer(tol), g.boundary)) for g in gs]
        k = int(np.argmax(shared))
        gs[k] = _polys(shapely.union(gs[k], gap))
    return gs
