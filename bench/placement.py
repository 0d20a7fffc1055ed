"""Camera placement on the demo town: our lazy greedy on directional, occluded views against
PySAL spopt's maximal covering location problem (MCLP, solved exactly by pulp's bundled CBC).

The instance (built once in the parent, the same for every approach): a square window
(``--window`` m, default 300) around the demo town's central key site; demand = the key sites
inside it minus the building footprints, on ``CELL_M`` (3 m) cells, minus the cells the
existing cameras see (ray casting, 180 rays), weighted ``1 + ln(1 + incidents within 50 m of
the site)``; candidate sites = outward building corners and both road edges, thinned to one
per 15 m, within range of the demand; new cameras: 90° field of view, 40 m range, azimuths
every 30°; budget ``--budget`` (default 8).

Approaches (each in its own child process; peak RSS from ``wait4``):

- ``greedy``: :func:`gis.placement.candidate_views` (views of every site × azimuth with
  occlusion, numba rays) + :func:`gis.placement.lazy_greedy`; it states its own bound on the
  optimum.
- ``mclp-circles`` (the reference): ``spopt.locate.MCLP.from_cost_matrix`` on the Euclidean
  distance site → cell with service radius = range: the textbook MCLP, isotropic and blind to
  walls, solved to optimality *in its own model*. Its sites are then evaluated as real cameras
  with occlusion, two ways: (a) a fixed 90° camera at each site, azimuths chosen greedily site
  after site (the best azimuth given the others); (b) a 360° dome of the same range (what a
  circle would be if a camera could see all round, still with walls) — (b) is an upper view of
  what circles promise, (a) is what the same budget of the cameras we plan would give.
- ``mclp-directional``: spopt's MCLP on *our* cover sets (each site × azimuth a facility;
  cost 0 where the occluded view covers the cell, else 1; radius 0.5): the exact optimum of our
  model by CBC (time limit ``--time-limit`` s), to measure the greedy's real gap.

``python -m bench.placement [--window M] [--budget N] [--time-limit S]``
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import OUT, Report, Row, format_report, python_child, run_child

NAME = "placement"
CELL_M = 3.0
HFOV, RANGE, AZ_STEP, SPACING, N_RAYS = 90.0, 40.0, 30.0, 15.0, 90
APPROACHES = ("greedy", "mclp-circles", "mclp-directional")
LABELS = {"greedy": "lazy greedy, directional + occluded (ours)",
          "mclp-circles": "spopt MCLP, isotropic circles, no walls (CBC)",
          "mclp-directional": "spopt MCLP on our occluded cover sets (CBC, exact)"}
REFERENCE = "mclp-circles"


# ---------------------------------------------------------------------------------------------
# the instance

def instance(window_m: float, out: Path) -> Path:
    """Demand cells, candidate sites and occluders of a window of the demo town (.npz)."""
    import shapely

    from data.demo import generate_town
    from gis import placement as pl
    town = generate_town()
    sites = town.metric("key_sites")
    bld = town.metric("buildings").geometry.to_numpy()
    cent = shapely.centroid(sites.geometry.to_numpy())
    mid = shapely.Point(np.median(shapely.get_coordinates(cent), axis=0))
    c = cent[np.argmin(shapely.distance(cent, mid))]
    win = shapely.box(c.x - window_m / 2, c.y - window_m / 2, c.x + window_m / 2, c.y + window_m / 2)
    near = bld[shapely.intersects(bld, win.buffer(2 * RANGE))]
    must = shapely.intersection(sites.geometry.to_numpy(), win)
    must = shapely.difference(must, shapely.union_all(near))
    inc = town.metric("incidents").geometry.to_numpy()
    si, _ = shapely.STRtree(inc).query(sites.geometry.to_numpy(), predicate="dwithin", distance=50.0)
    w = 1.0 + np.log1p(np.bincount(si, minlength=len(sites)))
    demand = pl.demand_cells(must, w, cell=CELL_M)
    cams = town.metric("cameras")
    cams = cams[shapely.intersects(cams.geometry.to_numpy(), win.buffer(2 * RANGE))]
    from gis.views import visible_views
    seen = pl.seen_by(demand, visible_views(cams, near, "rays", n_rays=180))
    demand = demand.keep(~seen)
    roads = town.metric("roads")
    xy = np.vstack([pl.corner_sites(near), pl.line_sites(roads.geometry.to_numpy(), SPACING, offset_m=4.0)])
    xy = pl.thin_sites(xy, SPACING)
    xy = xy[shapely.dwithin(shapely.points(xy), win, RANGE)]
    path = out / f"instance-{window_m:.0f}.npz"
    np.savez(path, x=demand.x, y=demand.y, w=demand.w, sx=xy[:, 0], sy=xy[:, 1],
             buildings=shapely.to_wkb(near), existing_seen_cells=int(seen.sum()))
    return path


def _load(path: str):
    import shapely

    from gis import placement as pl
    z = np.load(path, allow_pickle=True)
    return (pl.Demand(z["x"], z["y"], z["w"], CELL_M), z["sx"], z["sy"], shapely.from_wkb(z["buildings"]))


# ---------------------------------------------------------------------------------------------
# the workers

def _worker(args: dict) -> dict:
    from gis import placement as pl
    from gis.views import Scene, compile_kernels
    compile_kernels()
    demand, sx, sy, bld = _load(args["path"])
    scene = Scene.of(bld)
    a, budget = args["approach"], args["budget"]
    import pulp
    from spopt.locate import MCLP                  # imported before the clock starts
    t0 = time.perf_counter()
    if a == "greedy":
        cv = pl.candidate_views(demand, sx, sy, scene, HFOV, RANGE, AZ_STEP, N_RAYS)
        picked, gains, _, _, evals = pl.lazy_greedy(cv, demand.w, budget)
        s = time.perf_counter() - t0
        plan = pl.suggest(demand, sx, sy, scene, budget, hfov_deg=HFOV, range_m=RANGE,
                          azimuth_step_deg=AZ_STEP, n_rays=N_RAYS)      # for its bound (untimed)
        return {"seconds": s, "x": cv.x[picked].tolist(), "y": cv.y[picked].tolist(),
                "az": cv.azimuth_deg[picked].tolist(), "own_model": float(gains.sum()),
                "upper_bound": plan.upper_bound / CELL_M ** 2, "candidates": len(cv), "evals": evals}
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=args["time_limit"], threads=1)
    if a == "mclp-circles":
        d = np.hypot(demand.x[:, None] - sx[None, :], demand.y[:, None] - sy[None, :])
        m = MCLP.from_cost_matrix(d, demand.w, service_radius=RANGE, p_facilities=budget).solve(solver)
        chosen = [i for i, v in enumerate(m.fac_vars) if (v.value() or 0) > 0.5]
        s = time.perf_counter() - t0
        return {"seconds": s, "x": sx[chosen].tolist(), "y": sy[chosen].tolist(), "az": [None] * len(chosen),
                "own_model": float(pulp.value(m.problem.objective)), "status": pulp.LpSolution[m.problem.sol_status]}
    if a == "mclp-directional":
        cv = pl.candidate_views(demand, sx, sy, scene, HFOV, RANGE, AZ_STEP, N_RAYS)
        useful = np.flatnonzero(np.diff(cv.start) > 0)
        cost = np.ones((len(demand), len(useful)), dtype=np.float32)
        for j, v in enumerate(useful):
            cost[cv.covered(v), j] = 0.0
        m = MCLP.from_cost_matrix(cost, demand.w, service_radius=0.5, p_facilities=budget).solve(solver)
        chosen = useful[[i for i, v in enumerate(m.fac_vars) if (v.value() or 0) > 0.5]]
        s = time.perf_counter() - t0
        return {"seconds": s, "x": cv.x[chosen].tolist(), "y": cv.y[chosen].tolist(),
                "az": cv.azimuth_deg[chosen].tolist(), "own_model": float(pulp.value(m.problem.objective)),
                "status": pulp.LpSolution[m.problem.sol_status], "facilities": int(len(useful))}
    raise ValueError(a)


# ---------------------------------------------------------------------------------------------
# evaluation with occlusion (parent)

def _occluded_value(path: str, x, y, az, hfov: float) -> float:
    """Weighted cells seen by cameras at (x, y); azimuth None: the best one, site after site."""
    from gis import placement as pl
    demand, _, _, bld = _load(path)
    w = demand.w.copy()
    for xi, yi, ai in zip(x, y, az):
        cv = pl.candidate_views(demand, [xi], [yi], bld, hfov, RANGE, AZ_STEP if ai is None else 360.0, N_RAYS)
        if len(cv) == 0:
            continue
        if ai is not None:
            cv_az = pl.candidate_views(demand, [xi], [yi], bld, hfov, RANGE, AZ_STEP, N_RAYS)
            v = int(np.flatnonzero(np.isclose(cv_az.azimuth_deg, ai))[0])
            cells = cv_az.covered(v)
        else:
            gains = [w[cv.covered(v)].sum() for v in range(len(cv))]
            cells = cv.covered(int(np.argmax(gains)))
        w[cells] = 0.0
    return float(demand.w.sum() - w.sum())


def run(window_m: float = 300.0, budget: int = 8, time_limit: float = 120.0,
        approaches=APPROACHES, **_) -> Report:
    out = OUT / NAME
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    path = str(instance(window_m, out))
    prep = time.perf_counter() - t0
    demand, sx, sy, bld = _load(path)
    total = float(demand.w.sum())
    rows, res = {}, {}
    for a in [x for x in APPROACHES if x in approaches]:
        r = run_child(python_child("bench.placement", {"approach": a, "path": path, "budget": budget,
                                                       "time_limit": time_limit}), timed_inside=True)
        res[a] = r.detail
        rows[a] = Row(LABELS[a], [r], rows=len(demand))
    area = CELL_M ** 2
    for a, d in res.items():
        direct = _occluded_value(path, d["x"], d["y"], d["az"], HFOV)
        note = (f"own model {d['own_model'] * area:,.0f}; with walls, 90° cameras"
                f"{' (best azimuth per site)' if d['az'][0] is None else ''}: {direct * area:,.0f} weighted "
                f"({100 * direct / total:.1f}% of the demand)")
        if a == "mclp-circles":
            dome = _occluded_value(path, d["x"], d["y"], [None] * len(d["x"]), 360.0)
            note += f"; as 360° domes with walls: {dome * area:,.0f} ({100 * dome / total:.1f}%)"
        if "upper_bound" in d:
            note += (f"; bound: ≥ {100 * d['own_model'] / d['upper_bound']:.1f}% of the optimum; "
                     f"{d['candidates']:,} candidate views, {d['evals']} re-evaluations")
        if "status" in d:
            note += f"; CBC solution status: {d['status']}"
        rows[a].note = note
    notes = [f"window {window_m:.0f} m, {len(demand):,} demand cells of {CELL_M:.0f} m (weight {total * area:,.0f}), "
             f"{len(sx):,} candidate sites × {int(360 / AZ_STEP)} azimuths, {len(bld):,} buildings, budget {budget}; "
             f"instance built in {prep:.1f} s (not timed)"]
    if "greedy" in res and "mclp-directional" in res:
        g, o = res["greedy"]["own_model"], res["mclp-directional"]["own_model"]
        notes.append(f"greedy / exact optimum of the same model: {100 * g / max(o, 1e-9):.2f}%")
    ref = LABELS[REFERENCE] if REFERENCE in rows else next(iter(rows.values())).approach
    return Report(f"{NAME}: {budget} new cameras on the demo town's key-site blind spots", list(rows.values()),
                  ref, notes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.placement", description=__doc__.splitlines()[0])
    ap.add_argument("--worker")
    ap.add_argument("--window", type=float, default=300.0, help="side of the planning window (m)")
    ap.add_argument("--budget", type=int, default=8)
    ap.add_argument("--time-limit", type=float, default=120.0, help="CBC time limit per MCLP (s)")
    ap.add_argument("--only", help=f"comma-separated approaches of {', '.join(APPROACHES)}")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return 0
    rep = run(window_m=args.window, budget=args.budget, time_limit=args.time_limit,
              approaches=tuple(args.only.split(",")) if args.only else APPROACHES)
    print(format_report(rep))
    return 0


if __name__ == "__main__":
    sys.exit(main())
