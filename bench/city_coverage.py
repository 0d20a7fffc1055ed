"""The whole city's blind spots: views with occlusion for every camera (100,000 cameras among
1,000,000 buildings of :mod:`data.city`), their union as a 2 m coverage raster, and the blind
spots of the must-cover areas, in one run, against a per-camera loop.

Approaches (each in its own child process; peak RSS from ``wait4``):

- ``rays``: :func:`gis.views.visible_views` ``method="rays"`` (180 rays per camera, numba) for
  all cameras → :func:`gis.coverage.coverage_raster` (2 m, camera counts) → blind spots;
- ``exact``: the same with ``method="exact"`` (shadow method, array calls, 2 threads);
- ``loop``: the reference — bench.views' straightforward per-camera loop (the sector minus each
  nearby footprint's shadow, one at a time) on a random sample of cameras (``--sample``,
  default 2,000 at full scale), **extrapolated** per camera to all of them. The reference does
  not even include the union and the blind spots, so the ratios favour it.

Must-cover areas (synthetic; the city set has no roads or key sites): every 20th building
(5%) is a key site (school, bank, clinic…), and its must-cover area is the ground within
``KEY_BUFFER_M`` (12 m) of its footprint that is not inside any building (roofs and indoor
space are not what street cameras cover). Both are rasterised on the same 2 m grid as the
coverage; a blind cell is a must-cover cell that no camera sees. Blind spots are the
connected pieces of blind cells (8-connectivity, ``scipy.ndimage.label``), counted when at
least 10 m²; the 100 largest are turned into polygons (:func:`gis.coverage.raster_to_polygons`
on their windows) to show they can be drawn.

Checks: ``exact`` and ``loop`` agree on the sample camera by camera (area within 1e-6
relative); ``rays`` against ``exact`` by IoU on the sample.

``python -m bench.city_coverage [--scale S] [--sample K] [--only rays,exact,loop]``; scale 1 =
100,000 cameras and 1,000,000 buildings (data cached under bench/out/data, shared with
bench.views).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import OUT, Report, Row, format_report, python_child, run_child

NAME = "city_coverage"
FULL_CAMERAS = 100_000
CELL_M = 2.0
KEY_EVERY = 20
KEY_BUFFER_M = 12.0
MIN_SPOT_M2 = 10.0
APPROACHES = ("rays", "exact", "loop")
LABELS = {
    "rays": "rays (numba) + 2 m raster + blind spots",
    "exact": "exact shadows (2 threads) + 2 m raster + blind spots",
    "loop": "per-camera loop, shadow by shadow (sample, extrapolated; views only)",
}
REFERENCE = "loop"


def _key_areas(footprints: np.ndarray):
    import shapely
    key = footprints[::KEY_EVERY]
    return shapely.buffer(key, KEY_BUFFER_M, quad_segs=2, join_style="mitre")


def _blind_spots(counts: np.ndarray, transform, footprints: np.ndarray, times: dict) -> dict:
    """Must-cover mask, blind cells, their connected pieces; polygons of the largest."""
    import shapely
    from scipy import ndimage

    from gis.coverage import coverage_raster, raster_to_polygons
    bounds = (transform[2], transform[5] - counts.shape[0] * CELL_M,
              transform[2] + counts.shape[1] * CELL_M, transform[5])
    t0 = time.perf_counter()
    areas = _key_areas(footprints)
    key, _ = coverage_raster(areas, bounds, cell=CELL_M, dtype=np.uint8)
    near = np.unique(shapely.STRtree(footprints).query(areas, predicate="intersects")[1])
    inside, _ = coverage_raster(footprints[near], bounds, cell=CELL_M, dtype=np.uint8)   # only those that matter
    must = (key > 0) & (inside == 0)
    del key, inside
    blind = must & (counts == 0)
    times["must_cover_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    labels, n = ndimage.label(blind, structure=np.ones((3, 3), dtype=bool))
    r, c = np.nonzero(blind)                     # the blind cells only (a few % of the raster)
    lv = labels[r, c]
    size = np.bincount(lv, minlength=n + 1)[1:] * CELL_M ** 2
    big = np.flatnonzero(size >= MIN_SPOT_M2) + 1
    top = big[np.argsort(size[big - 1])[::-1][:100]]
    sel = np.isin(lv, top)
    r, c, lv = r[sel], c[sel], lv[sel]
    polys = []
    for lab in top:
        rr, cc = r[lv == lab], c[lv == lab]
        r0, c0 = rr.min(), cc.min()
        m = np.zeros((rr.max() - r0 + 1, cc.max() - c0 + 1), dtype=bool)
        m[rr - r0, cc - c0] = True
        t = (CELL_M, 0.0, transform[2] + c0 * CELL_M, 0.0, -CELL_M, transform[5] - r0 * CELL_M)
        polys.append(raster_to_polygons(m, t))
    times["blind_spots_s"] = time.perf_counter() - t0
    must_m2 = float(must.sum()) * CELL_M ** 2
    blind_m2 = float(blind.sum()) * CELL_M ** 2
    return {"must_cover_km2": must_m2 / 1e6, "blind_km2": blind_m2 / 1e6,
            "covered_share": 1 - blind_m2 / max(must_m2, 1e-9), "blind_spots": int(len(big)),
            "largest_spot_m2": float(size.max()) if n else 0.0,
            "top100_polygons_m2": float(sum(shapely.area(polys))) if polys else 0.0}


def _worker(args: dict) -> dict:
    import shapely

    from bench.views import _load, loop_views
    from gis import coverage
    from gis.views import Scene, compile_kernels, visible_views
    compile_kernels()
    cams, footprints = _load(args["path"])
    cpu0 = time.process_time()
    a, out, sample = args["approach"], Path(args["out"]), np.asarray(args["sample"], dtype=np.int64)
    coverage.coverage_raster(footprints[:10], shapely.total_bounds(footprints[:10]))   # compile the fill
    t0 = time.perf_counter()
    scene = Scene.of(footprints)
    times = {"scene_s": time.perf_counter() - t0}
    if a == "loop":
        t0 = time.perf_counter()
        views = loop_views(cams.take(sample), scene.footprints, scene.tree)
        s = time.perf_counter() - t0
        np.save(out / "loop.npy", shapely.to_wkb(views))
        return {"seconds": s / len(sample) * len(cams), "sample_s": s, **times}
    t0 = time.perf_counter()
    views = visible_views(cams, scene, a, threads=2)
    times["views_s"] = time.perf_counter() - t0
    np.save(out / f"{a}.npy", shapely.to_wkb(views[sample]))
    t0 = time.perf_counter()
    counts, transform = coverage.coverage_raster(views, shapely.total_bounds(footprints), cell=CELL_M,
                                                 dtype=np.uint16)
    times["raster_s"] = time.perf_counter() - t0
    del views
    res = _blind_spots(counts, transform, footprints, times)
    res["raster_cells"] = int(counts.size)
    res["covered_km2"] = float((counts > 0).sum()) * CELL_M ** 2 / 1e6
    total = times["views_s"] + times["raster_s"] + times["must_cover_s"] + times["blind_spots_s"]
    return {"seconds": total, "cpu_s": time.process_time() - cpu0, **times, **res}


def _iou(a, b):
    import shapely
    u = shapely.area(shapely.union(a, b))
    return np.where(u > 0, shapely.area(shapely.intersection(a, b)) / np.maximum(u, 1e-12), 1.0)


def run(scale: float = 1.0, sample: int | None = None, approaches=APPROACHES, **_) -> Report:
    import shapely

    from bench.views import dataset
    n = max(100, round(FULL_CAMERAS * scale))
    path = dataset(n)
    out = OUT / NAME / str(n)
    out.mkdir(parents=True, exist_ok=True)
    k = min(n, sample or max(50, round(2000 * scale)))
    idx = np.sort(np.random.default_rng(1).choice(n, k, replace=False)).tolist()
    rows = {}
    for a in [x for x in APPROACHES if x in approaches]:
        r = run_child(python_child("bench.city_coverage", {"approach": a, "path": str(path), "out": str(out),
                                                            "sample": idx}), timed_inside=True)
        rows[a] = Row(LABELS[a], [r], rows=n)
    views = {a: shapely.from_wkb(np.load(out / f"{a}.npy", allow_pickle=True)) for a in rows}
    notes = [f"{n:,} cameras, {10 * n:,} buildings; loop sample {k:,} cameras; must-cover = ground within "
             f"{KEY_BUFFER_M:.0f} m of every {KEY_EVERY}th building, outside all footprints; {CELL_M:.0f} m cells"]
    if "exact" in views and "loop" in views:
        ae, al = shapely.area(views["exact"]), shapely.area(views["loop"])
        rel = float(np.max(np.abs(ae - al) / np.maximum(al, 1e-9)))
        rows["exact"].checksum_ok = rows["loop"].checksum_ok = rel < 1e-6
        notes.append(f"exact vs loop on the sample: largest area difference {rel:.1e} (relative)")
    if "exact" in views and "rays" in views:
        iou = _iou(views["rays"], views["exact"])
        notes.append(f"rays vs exact on the sample: IoU median {np.median(iou):.4f}, 5th percentile "
                     f"{np.percentile(iou, 5):.4f}")
    for a, row in rows.items():
        d = row.runs[0].detail
        if a == "loop":
            row.note = (f"{1000 * d['sample_s'] / k:.3f} ms/camera on {k:,} cameras ({d['sample_s']:.1f} s), "
                        f"× {n:,}")
            continue
        row.note = (f"views {d['views_s']:.1f} s ({1000 * d['views_s'] / n:.3f} ms/camera), raster "
                    f"{d['raster_s']:.1f} s, must-cover {d['must_cover_s']:.1f} s, blind spots "
                    f"{d['blind_spots_s']:.1f} s; index {d['scene_s']:.1f} s (not timed); "
                    f"must-cover {d['must_cover_km2']:.2f} km², blind {d['blind_km2']:.2f} km² "
                    f"({100 * (1 - d['covered_share']):.1f}%), {d['blind_spots']:,} blind spots ≥ "
                    f"{MIN_SPOT_M2:.0f} m², largest {d['largest_spot_m2']:.0f} m²; "
                    f"covered {d['covered_km2']:.2f} km² of {d['raster_cells']:,} cells; "
                    f"CPU {d['cpu_s']:.0f} s (all threads, index included)")
    ref = LABELS[REFERENCE] if REFERENCE in rows else next(iter(rows.values())).approach
    return Report(f"{NAME}: blind spots of the whole city, {n:,} cameras / {10 * n:,} buildings",
                  list(rows.values()), ref, notes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.city_coverage", description=__doc__.splitlines()[0])
    ap.add_argument("--worker")
    ap.add_argument("--scale", type=float, default=1.0, help="1 = 100,000 cameras, 1,000,000 buildings")
    ap.add_argument("--sample", type=int, help="cameras of the loop reference (default 2,000 × scale)")
    ap.add_argument("--only", help=f"comma-separated approaches of {', '.join(APPROACHES)}")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return 0
    rep = run(scale=args.scale, sample=args.sample,
              approaches=tuple(args.only.split(",")) if args.only else APPROACHES)
    print(format_report(rep))
    return 0 if all(r.checksum_ok is not False for r in rep.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
