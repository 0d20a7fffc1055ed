"""Validate the city's grids: all rules vs GEOS coverage check vs a PostGIS self-join; and
re-validation latency of a single-grid edit through the API.

Data: the city set (:mod:`data.city`) — 20,000 basic grids under 1,000 communities under 50
towns, and 1,000,000 buildings (``--scale`` shrinks the buildings and the grids per
community) — with 20 basic grids grown by 3 m, so every approach has real overlaps to find.

- ``rules``: ours, :func:`gis.rules.validate` — every rule (validity, codes, pieces,
  overlaps, gaps incl. holes, outside parent, the top level against the boundary, buildings
  in no grid or cut, households vs cap, spread) on all levels and all buildings;
- ``geos-coverage``: reference (a), ``shapely.coverage_invalid_edges`` on each level's grids
  (overlaps and mismatched edges only);
- ``postgis``: reference (b), pairwise ``ST_Overlaps`` self-join of siblings plus
  ``ST_Difference(parent, ST_Union(children))`` for every parent, in a scratch database
  (metric SRID, GiST index; loading not timed);
- ``edit-api``: p50/p95 of re-validating after a single-grid edit through the HTTP API
  (``PUT /api/v1/grids/{code}/geometry`` with the grid's own shape: lock, validate the family
  before and after, write, reassign buildings) on the city loaded in a scratch database,
  plus the dry-run endpoint.

The check column compares what the approaches found: the overlapping sibling pairs of
``rules`` and ``postgis``, and the grids those pairs involve vs the grids with invalid edges.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import OUT, Report, Row, Run, ScratchDatabase, python_child, run_child

NAME = "validate_grids"
SEED = 20261121
N_DEFECTS = 20
GROW_M = 3.0
APPROACHES = ("rules", "geos-coverage", "postgis", "edit-api")
REFERENCE = "geos-coverage"
EDITS = 60


def dataset(scale: float) -> dict:
    """City grids and buildings in EPSG:32650 (GeoParquet), generated once and cached."""
    import geopandas as gpd
    import shapely

    from data import city

    per_comm = max(2, round(city.GRIDS_PER_COMMUNITY * min(1.0, scale)))
    n_bld = int(city.N_BUILDINGS * scale)
    d = OUT / "data"
    tag = f"{SEED}-{per_comm}-{n_bld}"
    paths = {k: d / f"validate-{k}-{tag}.parquet" for k in ("grids", "buildings", "boundary")}
    if all(p.exists() for p in paths.values()):
        return {k: str(p) for k, p in paths.items()}
    d.mkdir(parents=True, exist_ok=True)
    kw = {"grids_per_community": per_comm}
    g = city.city_grids(SEED, crs=city.METRIC_EPSG, **kw)
    rng = np.random.default_rng(SEED)
    basic = np.flatnonzero(g["level"].to_numpy() == 2)
    grown = rng.choice(basic, N_DEFECTS, replace=False)
    geoms = g.geometry.to_numpy().copy()
    geoms[grown] = [shapely.MultiPolygon(list(shapely.get_parts(x)))
                    for x in shapely.buffer(geoms[grown], GROW_M, join_style="mitre")]
    g = g.set_geometry(gpd.GeoSeries(geoms, crs=g.crs))
    g.to_parquet(paths["grids"])
    city.city_buildings(n_bld, SEED, crs=city.METRIC_EPSG, **kw).to_parquet(paths["buildings"])
    b = city.city_boundary(SEED, **kw).to_crs(city.METRIC_EPSG)
    b.to_parquet(paths["boundary"])
    return {k: str(p) for k, p in paths.items()}


# ---------------------------------------------------------------------------------------------
# workers (each approach in its own child process: `python -m bench.validate_grids --worker`)

def _read(paths: dict, buildings: bool = True):
    import geopandas as gpd
    g = gpd.read_parquet(paths["grids"])
    b = gpd.read_parquet(paths["buildings"]) if buildings else None
    return g, b, gpd.read_parquet(paths["boundary"]).geometry.iloc[0]


def _pairs_of(vs) -> list[list[str]]:
    return sorted(sorted(v.grids) for v in vs if v.kind in ("overlap", "sliver_overlap"))


def _w_rules(args: dict) -> dict:
    from gis.rules import RuleConfig, validate
    g, b, boundary = _read(args["paths"])
    cfg = RuleConfig(household_cap=args["cap"])
    t0 = time.perf_counter()
    vs = validate(g, cfg, boundary=boundary, buildings=b)
    secs = time.perf_counter() - t0
    kinds: dict[str, int] = {}
    for v in vs:
        kinds[v.kind] = kinds.get(v.kind, 0) + 1
    return {"seconds": secs, "pairs": _pairs_of(vs), "kinds": kinds, "grids": len(g), "buildings": len(b)}


def _w_geos(args: dict) -> dict:
    import shapely
    g, _, _ = _read(args["paths"], buildings=False)
    geoms, levels, codes = g.geometry.to_numpy(), g["level"].to_numpy(), g["code"].to_numpy()
    t0 = time.perf_counter()
    flagged = []
    for lv in np.unique(levels):
        sel = levels == lv
        edges = shapely.coverage_invalid_edges(geoms[sel])
        flagged += list(codes[sel][~shapely.is_empty(edges)])
    return {"seconds": time.perf_counter() - t0, "flagged": sorted(flagged)}


PG_OVERLAPS = """SELECT a.code, b.code FROM bench_grid a JOIN bench_grid b
  ON a.parent_code = b.parent_code AND a.code < b.code AND a.geom && b.geom
  WHERE ST_Overlaps(a.geom, b.geom) ORDER BY 1, 2"""
PG_GAPS = """SELECT p.code, ST_Area(ST_Difference(p.geom, ST_Union(c.geom))) FROM bench_grid p
  JOIN bench_grid c ON c.parent_code = p.code GROUP BY p.code, p.geom"""


def _w_postgis(args: dict) -> dict:
    from sqlalchemy import create_engine, text
    eng = create_engine(args["url"])
    t0 = time.perf_counter()
    with eng.connect() as c:
        pairs = [list(r) for r in c.execute(text(PG_OVERLAPS))]
        gaps = c.execute(text(PG_GAPS)).all()
    secs = time.perf_counter() - t0
    eng.dispose()
    return {"seconds": secs, "pairs": pairs, "parents": len(gaps), "gap_parents": sum(1 for _, a in gaps if a > 1e-4)}


def _load_pg_table(url: str, paths: dict) -> None:
    import geopandas as gpd
    import shapely
    from sqlalchemy import create_engine, text
    g = gpd.read_parquet(paths["grids"])
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("CREATE TABLE bench_grid (code text PRIMARY KEY, parent_code text, level int, "
                       "geom geometry(MultiPolygon, 32650))"))
        rows = [{"c": a, "p": b, "l": int(lv), "g": shapely.to_wkb(geom)} for a, b, lv, geom in
                zip(g["code"], g["parent_code"], g["level"], g.geometry)]
        c.execute(text("INSERT INTO bench_grid VALUES (:c, :p, :l, ST_Multi(ST_GeomFromWKB(:g, 32650)))"), rows)
        c.execute(text("CREATE INDEX ON bench_grid USING gist (geom); CREATE INDEX ON bench_grid (parent_code); "
                       "ANALYZE bench_grid"))
    eng.dispose()


def _load_city(url: str, paths: dict) -> str:
    """The city into a scratch database through the product's own loader (not timed)."""
    import geopandas as gpd
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from api.db import bulk, repo
    from api.layers import LAYERS
    g, b, boundary = _read(paths)
    g, b = g.to_crs(4326), b.to_crs(4326)
    eng = create_engine(url)
    with Session(eng) as s, s.begin():
        from data.city import COUNTY_CODE
        j = repo.create_jurisdiction(s, COUNTY_CODE, "基准城", gpd.GeoSeries([boundary], crs=32650), metric_epsg=32650)
        bulk.copy_grids(s, LAYERS["grids"], g, j.id, g["level"].to_numpy(), g["parent_code"].to_numpy(dtype=object))
        bulk.copy_layer(s, LAYERS["buildings"], b, j.id)
        repo.assign_to_basic_grids(s, j.id, "building")
        code = j.code
    eng.dispose()
    return code


def _w_edit(args: dict) -> dict:
    os.environ.update(DATABASE_URL=args["url"], WANGGE_ENVIRONMENT="test", WANGGE_ANONYMOUS_ROLE="planner")
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import get_settings
    get_settings.cache_clear()
    import geopandas as gpd
    from shapely.geometry import mapping
    rng = np.random.default_rng(SEED)
    g = gpd.read_parquet(args["paths"]["grids"])
    g = g[(g["level"] == 2) & ~g["code"].isin(set(args["skip"]))].to_crs(4326)
    idx = rng.choice(len(g), min(EDITS, len(g)), replace=False)
    picks = [(c, mapping(geom)) for c, geom in zip(g["code"].to_numpy()[idx], g.geometry.to_numpy()[idx])]
    with TestClient(create_app()) as client:
        lat = {"put": [], "dry-run": []}
        for code, geom in picks:
            body = {"geometry": geom}
            for kind in ("dry-run", "put"):
                t = time.perf_counter()
                if kind == "put":
                    r = client.put(f"/api/v1/grids/{code}/geometry", params={"jurisdiction": args["jurisdiction"]},
                                   json=body)
                else:
                    r = client.post("/api/v1/grids/dry-run", params={"jurisdiction": args["jurisdiction"]},
                                    json={"operation": "reshape", "code": code, **body})
                lat[kind].append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"{kind} {code}: {r.status_code} {r.text[:500]}")
    p = {k: {"p50": statistics.median(v), "p95": float(np.percentile(v, 95))} for k, v in lat.items()}
    return {"seconds": p["put"]["p95"] / 1000, "latency_ms": p, "edits": len(picks)}


WORKERS = {"rules": _w_rules, "geos-coverage": _w_geos, "postgis": _w_postgis, "edit-api": _w_edit}


# ---------------------------------------------------------------------------------------------

def run(scale: float = 1.0, repeat: int = 1, fmt: str = "gpkg", keep_db: bool = False,
        approaches: tuple[str, ...] = APPROACHES) -> Report:
    del fmt
    from data import city
    paths = dataset(scale)
    cap = 10 ** 9 if scale < 1 else 200  # small sets pack more households per grid
    runs: dict[str, list[Run]] = {a: [] for a in approaches}
    out: dict[str, dict] = {}
    with ScratchDatabase("wangge_bench_validate", keep=keep_db) as db:
        if "postgis" in approaches:
            _load_pg_table(db.url, paths)
        jur = _load_city(db.url, paths) if "edit-api" in approaches else None
        grown = _grown_codes(paths)
        for _ in range(repeat):
            for a in approaches:
                args = {"approach": a, "paths": paths, "cap": cap, "url": db.url, "jurisdiction": jur,
                        "skip": sorted(grown)}
                r = run_child(python_child("bench.validate_grids", args), timed_inside=True)
                runs[a].append(r)
                out[a] = r.detail
    return _report(runs, out, approaches, scale, city)


def _grown_codes(paths: dict) -> set[str]:
    """Basic grids that were grown (and their neighbours): not used for the edit latency."""
    import geopandas as gpd
    import shapely
    g = gpd.read_parquet(paths["grids"])
    g = g[g["level"] == 2]
    tree = shapely.STRtree(g.geometry.to_numpy())
    a, b = tree.query(g.geometry.to_numpy(), predicate="intersects")
    ov = shapely.relate_pattern(g.geometry.to_numpy()[a], g.geometry.to_numpy()[b], "T********") & (a != b)
    return set(g["code"].to_numpy()[np.concatenate([a[ov], b[ov]])])


def _report(runs, out, approaches, scale, city) -> Report:
    rows, notes = [], []
    rules_pairs = out.get("rules", {}).get("pairs")
    involved = sorted({c for p in (rules_pairs or []) for c in p})
    for a in approaches:
        d = out[a]
        row = Row(a, runs[a])
        if a == "rules":
            row.rows = len(d["pairs"])
            row.note = f"{d['grids']:,} grids, {d['buildings']:,} buildings; violations by kind {d['kinds']}"
        elif a == "postgis":
            row.rows = len(d["pairs"])
            row.checksum_ok = rules_pairs is not None and d["pairs"] == rules_pairs
            row.note = f"overlapping sibling pairs; {d['gap_parents']} of {d['parents']} parents with a gap > 1 cm²"
        elif a == "geos-coverage":
            row.rows = len(d["flagged"])
            flagged, inv = set(d["flagged"]), set(involved)
            row.note = (f"grids with invalid edges; of the {len(inv)} grids in the rules' overlap pairs GEOS flags "
                        f"{len(inv & flagged)} (it flags one side of a pair where only one side's edges moved), "
                        f"and {len(flagged - inv)} more whose shared edges no longer match without an overlap")
        elif a == "edit-api":
            lat = d["latency_ms"]
            row.note = (f"{d['edits']} edits: PUT p50 {lat['put']['p50']:.0f} ms, p95 {lat['put']['p95']:.0f} ms; "
                        f"dry-run p50 {lat['dry-run']['p50']:.0f} ms, p95 {lat['dry-run']['p95']:.0f} ms "
                        "(seconds column = PUT p95)")
        rows.append(row)
    notes.append(f"scale {scale}: {N_DEFECTS} basic grids grown by {GROW_M} m to give every approach overlaps")
    return Report(f"Grid validation on the city set ({NAME})", rows, REFERENCE, notes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker")
    ap.add_argument("--scale", type=float, default=1.0)
    ns = ap.parse_args(argv)
    if ns.worker:
        args = json.loads(ns.worker)
        print(json.dumps(WORKERS[args["approach"]](args)))
        return 0
    from bench.common import format_report
    print(format_report(run(ns.scale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
