"""Automatic basic-grid proposals: ours (:func:`gis.propose.propose`) vs PySAL spopt's max-p
regionalisation (``spopt.region.MaxPHeuristic``) on the same villages, the same building-aware
units and the same contiguity graph.

Villages: a synthetic 600 m × 400 m village of 500 buildings of 1–60 households with two
crossing roads, and the demo town's (:mod:`data.demo`, seed ``DEFAULT_SEED``) urban
communities (~250 buildings, ~450 units each); ``--scale N`` takes N communities (default 1:
max-p needs minutes per village). The demo's rural villages (600–800 buildings, 1,100–1,700
units) are proposed by ours only (``ours-rural``, N of them): spopt's max-p did not finish
one of them in 7 minutes on this machine.

- ``ours``: the whole proposal (units from buildings and roads, regions under the cap of 200,
  local search, 3 starts per number of grids); the seconds include building the units;
- ``maxp-100`` (reference) / ``maxp-150``: ``MaxPHeuristic`` with a floor of 100 / 150
  households per region (max-p has a floor, not a cap: it maximises the number of regions
  holding at least the floor), heterogeneity = unit centroid coordinates (compactness),
  binary rook contiguity of the units (libpysal ``W``), spopt's default iterations; the
  seconds are the solve only (units given).

For every approach and village: number of regions, max households, share of regions over the
cap, coefficient of variation of households, mean Polsby-Popper, seconds. The check column:
every proposal of ours passes :func:`gis.rules.validate` with no error (tiling, no building
cut, cap, one piece); every max-p partition is contiguous and tiles the village.

``python -m bench propose`` (when listed in bench/__main__.py) or ``python -m bench.propose``;
the whole run takes ~25 min on 2 cores, nearly all of it max-p (``--only ours,maxp-100`` for
a quicker look).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np

from bench.common import OUT, Report, Row, Run, python_child, run_child

NAME = "propose"
CAP = 200
SYNTH_SEED = 20261122
APPROACHES = ("ours", "maxp-100", "maxp-150", "ours-rural")
REFERENCE = "maxp-100"
FLOORS = {"maxp-100": 100, "maxp-150": 150}


# ---------------------------------------------------------------------------------------------
# data: villages (polygon, buildings, roads with weights) in EPSG:32650, cached as GeoParquet

def _synthetic(n: int = 500, w: float = 600.0, h: float = 400.0, seed: int = SYNTH_SEED):
    """A village of ``n`` buildings (1–60 households) on a jittered lattice, two crossing roads."""
    import geopandas as gpd
    import shapely
    from shapely import affinity
    from shapely.geometry import LineString, box
    rng = np.random.default_rng(seed)
    roads = [LineString([(w * 0.45, -10), (w * 0.55, h + 10)]), LineString([(-10, h * 0.5), (w + 10, h * 0.45)])]
    gx, gy = np.meshgrid(np.arange(10, w - 10, 19.0), np.arange(9, h - 9, 16.0))
    xy = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-1.5, 1.5, (gx.size, 2))
    bw, bh = rng.uniform(7, 12, len(xy)), rng.uniform(6, 10, len(xy))
    geoms = shapely.box(xy[:, 0] - bw / 2, xy[:, 1] - bh / 2, xy[:, 0] + bw / 2, xy[:, 1] + bh / 2)
    geoms = np.array([affinity.rotate(g, a) for g, a in zip(geoms, rng.uniform(-10, 10, len(xy)))])
    clear = ~shapely.intersects(geoms, shapely.buffer(shapely.union_all(roads), 5))
    geoms = geoms[np.sort(rng.choice(np.flatnonzero(clear), size=n, replace=False))]
    b = gpd.GeoDataFrame({"village": ["synthetic"] * n, "households": rng.integers(1, 61, n)}, geometry=geoms, crs=32650)
    r = gpd.GeoDataFrame({"village": ["synthetic"] * len(roads), "weight": 1.0}, geometry=roads, crs=32650)
    v = gpd.GeoDataFrame({"village": ["synthetic"], "name": ["合成村 500 栋"], "kind": ["synthetic"]},
                         geometry=[box(0, 0, w, h)], crs=32650)
    return v, b, r


def _demo():
    """The demo town's villages with their buildings and roads (lanes weighted by density,
    as the API does)."""
    import geopandas as gpd
    import pandas as pd
    from api.grids import ROAD_WEIGHTS, auto_lane_weight
    from data.demo import generate_town
    town = generate_town()
    g, b, r = town.metric("grids"), town.metric("buildings"), town.metric("roads")
    v = g[g["level"] == 1][["code", "name", "geometry"]].rename(columns={"code": "village"})
    v["kind"] = np.where(v["village"].str[9:].astype(int) < 200, "community", "rural")
    bs, rs = [], []
    for code, geom in zip(v["village"], v.geometry):
        vb = b[b["grid_code"].str.startswith(code)][["households", "geometry"]].assign(village=code)
        vr = r[r.intersects(geom)][["road_class", "geometry"]].assign(village=code)
        lane = auto_lane_weight(float(vb["households"].sum()), geom.area)
        vr["weight"] = [ROAD_WEIGHTS.get(c, lane) for c in vr["road_class"]]
        bs.append(vb)
        rs.append(vr.drop(columns="road_class"))
    return v, gpd.GeoDataFrame(pd.concat(bs), crs=b.crs), gpd.GeoDataFrame(pd.concat(rs), crs=r.crs)


def dataset() -> dict:
    """Paths of the villages, buildings and roads (GeoParquet), generated once and cached."""
    import geopandas as gpd
    import pandas as pd
    from data.demo import DEFAULT_SEED
    d = OUT / "data"
    tag = f"{DEFAULT_SEED}-{SYNTH_SEED}"
    paths = {k: d / f"propose-{k}-{tag}.parquet" for k in ("villages", "buildings", "roads")}
    if not all(p.exists() for p in paths.values()):
        d.mkdir(parents=True, exist_ok=True)
        for k, a, b in zip(paths, _synthetic(), _demo()):
            gpd.GeoDataFrame(pd.concat([a, b], ignore_index=True), crs=32650).to_parquet(paths[k])
    return {k: str(p) for k, p in paths.items()}


def villages_for(paths: dict, scale: float) -> dict[str, list[str]]:
    """The synthetic village and ``round(scale)`` (at least 1) demo communities for all
    approaches; as many demo rural villages for ``ours-rural``."""
    import geopandas as gpd
    v = gpd.read_parquet(paths["villages"])
    n = max(1, round(scale))
    comm = sorted(v.loc[v["kind"] == "community", "village"])
    rural = sorted(v.loc[v["kind"] == "rural", "village"])
    return {"main": ["synthetic"] + comm[:n], "rural": rural[:n]}


def _village(paths: dict, code: str):
    import geopandas as gpd
    v = gpd.read_parquet(paths["villages"])
    b = gpd.read_parquet(paths["buildings"])
    r = gpd.read_parquet(paths["roads"])
    row = v[v["village"] == code].iloc[0]
    vr = r[r["village"] == code]
    return row, b[b["village"] == code], vr.geometry.to_numpy(), vr["weight"].to_numpy()


# ---------------------------------------------------------------------------------------------
# workers (each approach in its own child process: `python -m bench.propose --worker`)

def _figures(cells, seconds: float, roads=None, area=None) -> dict:
    from gis.propose import proposal_metrics
    m = proposal_metrics(cells, CAP, roads, area)
    return {"regions": m["cells"], "min_cells": m["min_cells"], "max_households": m["max_households"],
            "over_cap_share": m["over_cap_share"], "cv": m["cv_households"], "pp": m["mean_polsby_popper"],
            "road_share": m["road_on_boundary_share"], "seconds": round(seconds, 3)}


def _w_ours(args: dict) -> dict:
    from gis.propose import ProposeConfig, propose
    out, total = {}, 0.0
    for code in args["villages"]:
        row, b, roads, w = _village(args["paths"], code)
        t0 = time.perf_counter()
        p = propose(row.geometry, b, roads, ProposeConfig(cap=CAP), road_weights=w)
        secs = time.perf_counter() - t0
        total += secs
        out[code] = {**_figures(p.cells, secs, roads[w >= 0.5], row.geometry), "name": row["name"],
                     "buildings": len(b), "units": p.metrics["units"], "errors": _errors(row.geometry, p.cells, b)}
    return {"seconds": total, "villages": out}


def _errors(village, cells, buildings) -> int:
    import geopandas as gpd
    from gis import rules
    v = "330521100001"
    grids = gpd.GeoDataFrame({"code": [v] + [f"{v}{k + 1:03d}" for k in range(len(cells))],
                              "level": [0] + [1] * len(cells), "parent_code": [None] + [v] * len(cells)},
                             geometry=[village] + list(cells.geometry), crs=cells.crs)
    cfg = rules.RuleConfig(level_keys=("village", "basic"), code_digits=(6, 3), household_cap=CAP)
    return sum(x.severity == "error" for x in rules.validate(grids, cfg, buildings=buildings))


def _w_maxp(args: dict) -> dict:
    import geopandas as gpd
    import shapely
    from libpysal.weights import W
    from spopt.region import MaxPHeuristic

    from gis.propose import ProposeConfig, _cells, build_units
    out, total = {}, 0.0
    for code in args["villages"]:
        row, b, roads, w = _village(args["paths"], code)
        u = build_units(row.geometry, b, roads, ProposeConfig(cap=CAP), w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ww = W({i: u.nbr[u.indptr[i]:u.indptr[i + 1]].tolist() for i in range(u.n)}, silence_warnings=True)
            df = gpd.GeoDataFrame({"households": u.households, "x": u.xy[:, 0], "y": u.xy[:, 1]},
                                  geometry=shapely.points(u.xy), crs=32650)
            np.random.seed(SYNTH_SEED)  # spopt draws from numpy's global generator
            t0 = time.perf_counter()
            model = MaxPHeuristic(df, ww, ["x", "y"], "households", args["floor"], top_n=2)
            model.solve()
            secs = time.perf_counter() - t0
        total += secs
        lab = np.unique(np.asarray(model.labels_), return_inverse=True)[1].ravel()
        cells = _cells(u, lab, 32650)
        ok = bool(set(shapely.get_type_id(cells.geometry.to_numpy())) == {3}
                  and abs(shapely.area(cells.geometry.to_numpy()).sum() - row.geometry.area) < 1e-3)
        out[code] = {**_figures(cells, secs, roads[w >= 0.5], row.geometry), "name": row["name"],
                     "buildings": len(b), "units": int(u.n), "contiguous_tiling": ok}
    return {"seconds": total, "villages": out}


def _worker(args: dict) -> dict:
    if args["approach"].startswith("maxp"):
        return _w_maxp({**args, "floor": FLOORS[args["approach"]]})
    return _w_ours(args)


# ---------------------------------------------------------------------------------------------

def run(scale: float = 1.0, repeat: int = 1, fmt: str | None = None, keep_db: bool = False,
        approaches: tuple[str, ...] = APPROACHES) -> Report:
    del fmt, keep_db  # no files read by the approaches, no database
    paths = dataset()
    sets = villages_for(paths, scale)
    runs: dict[str, list[Run]] = {a: [] for a in approaches}
    out: dict[str, dict] = {}
    for _ in range(repeat):
        for a in approaches:
            args = {"approach": a, "paths": paths, "villages": sets["rural" if a == "ours-rural" else "main"]}
            r = run_child(python_child("bench.propose", args), timed_inside=True)
            runs[a].append(r)
            out[a] = r.detail["villages"]
    return _report(runs, out, approaches)


def _report(runs, out, approaches) -> Report:
    rows = []
    for a in approaches:
        vs = out[a]
        row = Row(a, runs[a], rows=sum(v["regions"] for v in vs.values()))
        if a.startswith("ours"):
            row.checksum_ok = all(v["errors"] == 0 for v in vs.values())
            row.note = "regions = grids proposed; check = no error of gis.rules.validate in any village"
        else:
            row.checksum_ok = all(v["contiguous_tiling"] for v in vs.values())
            row.note = f"floor {FLOORS[a]} households; check = every region one piece, regions tile the village"
        rows.append(row)
    ref = REFERENCE if REFERENCE in approaches else approaches[0]
    return Report(f"Grid proposals, cap {CAP} households ({NAME}); seconds summed over the villages",
                  rows, ref, _table(out, approaches))


def _table(out: dict, approaches) -> list[str]:
    head = ("village", "approach", "bldgs", "units", "regions", "min", "max hh", "over cap", "CV hh", "mean PP",
            "roads on bdry", "seconds")
    lines = [head]
    for a in approaches:
        for code, v in out[a].items():
            rs = "" if v["road_share"] is None else f"{v['road_share']:.2f}"
            lines.append((f"{code[-3:] if code[-3:].isdigit() else code} {v['name']}", a, str(v["buildings"]),
                          str(v["units"]), str(v["regions"]), str(v["min_cells"]), str(v["max_households"]),
                          f"{v['over_cap_share']:.0%}", f"{v['cv']:.3f}", f"{v['pp']:.3f}", rs, f"{v['seconds']:.2f}"))
    width = [max(len(x[i]) for x in lines) for i in range(len(head))]
    fmt = lambda x: "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(x, width)))  # noqa: E731
    return ["per village (min = ceil(households / cap); over cap = share of regions above 200):",
            fmt(head), fmt(["-" * w for w in width])] + [fmt(x) for x in lines[1:]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.propose", description=__doc__.splitlines()[0])
    ap.add_argument("--worker")
    ap.add_argument("--scale", type=float, default=1.0, help="number of demo communities / rural villages")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--only", help="comma-separated approaches")
    ns = ap.parse_args(argv)
    if ns.worker:
        print(json.dumps(_worker(json.loads(ns.worker))))
        return 0
    from bench.common import format_report
    approaches = tuple(ns.only.split(",")) if ns.only else APPROACHES
    rep = run(ns.scale, ns.repeat, approaches=approaches)
    print(format_report(rep))
    return 0 if all(r.checksum_ok is not False for r in rep.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
