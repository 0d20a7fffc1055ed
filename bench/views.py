"""Camera views with occlusion, N cameras among the city's buildings (10 per camera), four ways,
plus the coverage union of the views, all in one run:

- ``sectors``: :func:`gis.views.sectors`, no occlusion (vectorised);
- ``exact``: :func:`gis.views.visible_views` ``method="exact"``: sectors minus the shadows of
  the footprints, array calls over all cameras (2 threads for the overlays; ``exact-1t``: 1);
- ``rays``: ``method="rays"``: 180 rays per camera compiled with numba (numba's kernels are
  compiled, or loaded from their cache, on 10 cameras before timing; the same for ``exact``,
  whose culling of hidden footprints is compiled too);
- ``loop``: the reference — a straightforward per-camera Python loop: the sector, the tree
  query, then each nearby footprint's shadow subtracted one at a time (same own-building rule,
  same shadow construction, no culling);
- ``raster`` / ``union``: the union of the exact views as a 2 m multiplicity raster
  (:func:`gis.coverage.coverage_raster`) and as an exact vector union.

Cameras and buildings come from :mod:`data.city` (``city_cameras`` on ``city_buildings``,
EPSG:32650), generated once under bench/out/data. Each approach runs in its own child process
(its peak RSS is the child's, from ``wait4``); the footprint index (:class:`gis.views.Scene`)
is built before timing and its build time noted. Checks: ``exact`` and ``loop`` must agree
camera by camera (area within 1e-6 relative); ``rays`` is compared with ``exact`` by IoU.

``python -m bench views [--scale S] [--repeat N] [--only exact,rays,loop]`` or
``python -m bench.views [--scale S] ...``; scale 1 = 10,000 cameras, 100,000 buildings.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import OUT, Report, Row, format_report, python_child, run_child

NAME = "views"
FULL_CAMERAS = 10_000
BUILDINGS_PER_CAMERA = 10
SEED = 20261121
APPROACHES = ("sectors", "exact", "exact-1t", "rays", "loop", "raster", "union")
LABELS = {
    "sectors": "sectors, no occlusion (vectorised)",
    "exact": "exact shadows, array calls, 2 threads",
    "exact-1t": "exact shadows, array calls, 1 thread",
    "rays": "ray casting, 180 rays, numba",
    "loop": "per-camera loop, shadow by shadow",
    "raster": "coverage union: 2 m count raster",
    "union": "coverage union: exact vector union",
}
REFERENCE = "loop"
VIEW_APPROACHES = ("sectors", "exact", "exact-1t", "rays", "loop")


# ---------------------------------------------------------------------------------------------
# the data set

def dataset(n_cams: int, seed: int = SEED, data_dir: Path | None = None) -> Path:
    """An .npz with the building footprints (WKB) and camera arrays, generated once."""
    d = Path(data_dir or OUT / "data")
    path = d / f"views-{seed}-{n_cams}.npz"
    if path.exists():
        return path
    import shapely

    from data import city
    d.mkdir(parents=True, exist_ok=True)
    b = city.city_buildings(n_cams * BUILDINGS_PER_CAMERA, seed, crs=city.METRIC_EPSG)
    c = city.city_cameras(n_cams, seed, buildings=b, crs=city.METRIC_EPSG)
    xy = shapely.get_coordinates(c.geometry.to_numpy())
    np.savez(path, buildings=shapely.to_wkb(b.geometry.to_numpy()), x=xy[:, 0], y=xy[:, 1],
             azimuth_deg=c["azimuth_deg"].to_numpy(float), hfov_deg=c["hfov_deg"].to_numpy(float),
             range_m=c["range_m"].to_numpy(float))
    return path


def _load(path: str):
    import shapely

    from gis.views import camera_arrays
    z = np.load(path, allow_pickle=True)
    cams = camera_arrays({k: z[k] for k in ("x", "y", "azimuth_deg", "hfov_deg", "range_m")})
    return cams, shapely.from_wkb(z["buildings"])


# ---------------------------------------------------------------------------------------------
# the reference: a per-camera loop

def _shadow_one(cx: float, cy: float, reach: float, xy: np.ndarray):
    """Shadow of one convex vertex set seen from (cx, cy): hull of the vertices and of four
    far points over its angular extent (the construction of gis.views, one at a time)."""
    import shapely
    d = xy - (cx, cy)
    rel = np.arctan2(d[0, 0] * d[:, 1] - d[0, 1] * d[:, 0], d[0] @ d.T)
    base = math.atan2(d[0, 0], d[0, 1])
    far = max(reach * 1.05 / math.cos(math.radians(30)), 1.01 * float(np.hypot(*d.T).max()))
    ang = base - np.linspace(rel.min(), rel.max(), 4)
    pts = np.vstack([xy, np.column_stack([cx + far * np.sin(ang), cy + far * np.cos(ang)])])
    return shapely.MultiPoint(pts).convex_hull


def loop_views(cams, footprints: np.ndarray, tree, own_tolerance_m: float = 1.5) -> np.ndarray:
    """Sector minus each nearby footprint's shadow, one camera and one footprint at a time."""
    import shapely

    from gis.views import sectors
    out = np.empty(len(cams), dtype=object)
    convex = shapely.area(footprints) >= shapely.area(shapely.convex_hull(footprints)) * (1 - 1e-9)
    for i in range(len(cams)):
        cx, cy, reach = float(cams.x[i]), float(cams.y[i]), float(cams.range_m[i])
        view = sectors(cx, cy, cams.azimuth_deg[i], cams.hfov_deg[i], reach)[0]
        here = shapely.Point(cx, cy)
        for j in tree.query(view, predicate="intersects"):
            b = footprints[j]
            if b.distance(here) <= own_tolerance_m:
                continue                                   # the wall the camera hangs on
            if convex[j] and b.geom_type == "Polygon" and not b.interiors:
                view = view.difference(_shadow_one(cx, cy, reach, np.asarray(b.exterior.coords)[:-1]))
                continue
            for ring in shapely.get_rings(shapely.get_parts(b)):
                xy = np.asarray(ring.coords)
                for k in range(len(xy) - 1):
                    view = view.difference(_shadow_one(cx, cy, reach, xy[k:k + 2]))
        out[i] = view
    return out


# ---------------------------------------------------------------------------------------------
# the worker (`python -m bench.views --worker JSON`)

def _worker(args: dict) -> dict:
    import shapely

    from gis import coverage
    from gis.views import Scene, compile_kernels, sectors, visible_views
    compile_kernels()                     # numba: compiled (or loaded from its cache) untimed
    cams, footprints = _load(args["path"])
    a = args["approach"]
    out = Path(args["out"])
    detail: dict = {}
    if a in ("raster", "union"):
        views = shapely.from_wkb(np.load(out / "exact.npy", allow_pickle=True))
        coverage.coverage_raster(views[:10], shapely.total_bounds(views[:10]))   # compiled first
        t0 = time.perf_counter()
        if a == "raster":
            bounds = shapely.total_bounds(views)
            counts, _ = coverage.coverage_raster(views, bounds, cell=2.0)
            seconds = time.perf_counter() - t0
            detail = {"covered_m2": float((counts > 0).sum() * 4.0), "cells": int(counts.size),
                      "max_count": int(counts.max())}
        else:
            u = coverage.coverage_union(views)
            seconds = time.perf_counter() - t0
            detail = {"covered_m2": float(u.area)}
        return {"seconds": seconds, **detail}
    t0 = time.perf_counter()
    scene = Scene.of(footprints)
    detail["scene_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if a == "sectors":
        views = sectors(cams.x, cams.y, cams.azimuth_deg, cams.hfov_deg, cams.range_m)
    elif a in ("exact", "exact-1t"):
        views = visible_views(cams, scene, "exact", threads=1 if a == "exact-1t" else 2)
    elif a == "rays":
        views = visible_views(cams, scene, "rays")
    elif a == "loop":
        views = loop_views(cams, scene.footprints, scene.tree)
    else:
        raise ValueError(a)
    seconds = time.perf_counter() - t0
    if a in ("exact", "rays", "loop"):
        np.save(out / f"{a}.npy", shapely.to_wkb(views))
    return {"seconds": seconds, "area_m2": float(shapely.area(views).sum()), **detail}


# ---------------------------------------------------------------------------------------------
# the benchmark

def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    import shapely
    u = shapely.area(shapely.union(a, b))
    return np.where(u > 0, shapely.area(shapely.intersection(a, b)) / np.maximum(u, 1e-12), 1.0)


def _accuracy(out: Path) -> dict:
    import shapely
    views = {a: shapely.from_wkb(np.load(out / f"{a}.npy", allow_pickle=True))
             for a in ("exact", "rays", "loop") if (out / f"{a}.npy").exists()}
    acc = {}
    if "exact" in views and "loop" in views:
        ae, al = shapely.area(views["exact"]), shapely.area(views["loop"])
        acc["exact_vs_loop_max_rel"] = float(np.max(np.abs(ae - al) / np.maximum(al, 1e-9)))
    if "exact" in views and "rays" in views:
        iou = _iou(views["rays"], views["exact"])
        acc["rays_iou_median"], acc["rays_iou_p5"] = float(np.median(iou)), float(np.percentile(iou, 5))
        ar, ae = shapely.area(views["rays"]), shapely.area(views["exact"])
        acc["rays_area_rel_median"] = float(np.median(np.abs(ar - ae) / np.maximum(ae, 1e-9)))
    return acc


def _candidates_per_camera(path: Path) -> tuple[float, float]:
    from gis.views import Scene, candidates, sectors
    cams, footprints = _load(str(path))
    scene = Scene.of(footprints)
    cand = candidates(cams, sectors(cams.x, cams.y, cams.azimuth_deg, cams.hfov_deg, cams.range_m),
                      scene.footprints, scene.tree)
    return float((~cand.own).sum() / len(cams)), float(cand.own.sum() / len(cams))


def run(scale: float = 1.0, repeat: int = 1, n: int | None = None,
        approaches: tuple[str, ...] = APPROACHES, data_dir: Path | None = None, **_) -> Report:
    """Run the approaches ``repeat`` times, interleaved; check exact against the loop."""
    n = n or max(10, round(FULL_CAMERAS * scale))
    path = dataset(n, SEED, data_dir)
    out = OUT / "views" / str(n)
    out.mkdir(parents=True, exist_ok=True)
    order = [a for a in APPROACHES if a in approaches]
    if any(a in order for a in ("raster", "union")) and "exact" not in order and not (out / "exact.npy").exists():
        order.insert(0, "exact")
    rows = {a: Row(LABELS[a], [], rows=n) for a in order}
    for _ in range(repeat):
        for a in order:
            rows[a].runs.append(run_child(python_child("bench.views", {
                "approach": a, "path": str(path), "out": str(out)}), timed_inside=True))
    acc = _accuracy(out)
    for a, row in rows.items():
        best = min(row.runs, key=lambda r: r.seconds)
        note = f"{1000 * row.best / n:.3f} ms/camera"
        if "scene_s" in best.detail:
            note += f"; footprint index built in {best.detail['scene_s']:.2f} s (not timed)"
        if "covered_m2" in best.detail:
            note = f"covered {best.detail['covered_m2'] / 1e6:.3f} km²"
            if "max_count" in best.detail:
                note += f", up to {best.detail['max_count']} cameras on one cell, {best.detail['cells']:,} cells"
        row.note = note
    if "exact_vs_loop_max_rel" in acc:
        ok = acc["exact_vs_loop_max_rel"] < 1e-6
        for a in ("exact", "exact-1t", "loop"):
            if a in rows:
                rows[a].checksum_ok = ok
    occluders, own = _candidates_per_camera(path)
    notes = [f"{occluders:.1f} occluding footprints meet a camera's sector on average "
             f"({own:.2f} own buildings ignored); {n * BUILDINGS_PER_CAMERA:,} buildings in all"]
    if "exact_vs_loop_max_rel" in acc:
        notes.append(f"exact vs loop: largest per-camera area difference {acc['exact_vs_loop_max_rel']:.1e} (relative)")
    if "rays_iou_median" in acc:
        notes.append(f"rays vs exact: IoU median {acc['rays_iou_median']:.4f}, 5th percentile "
                     f"{acc['rays_iou_p5']:.4f}; area difference median {100 * acc['rays_area_rel_median']:.2f}%")
    if "raster" in rows and "union" in rows:
        notes.append(f"coverage union: raster {rows['raster'].best:.2f} s vs exact union {rows['union'].best:.2f} s "
                     f"({rows['union'].best / max(rows['raster'].best, 1e-9):.1f}x)")
    ref = REFERENCE if REFERENCE in rows else order[0]
    return Report(f"{NAME}: {n:,} camera views among {n * BUILDINGS_PER_CAMERA:,} buildings (data.city), "
                  f"best of {repeat}", list(rows.values()), LABELS[ref], notes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.views", description=__doc__.splitlines()[0])
    ap.add_argument("--worker")
    ap.add_argument("--scale", type=float, default=1.0, help="1 = 10,000 cameras")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--only", help=f"comma-separated approaches of {', '.join(APPROACHES)}")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return 0
    approaches = tuple(args.only.split(",")) if args.only else APPROACHES
    rep = run(scale=args.scale, repeat=args.repeat, approaches=approaches)
    print(format_report(rep))
    return 0 if all(r.checksum_ok is not False for r in rep.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
