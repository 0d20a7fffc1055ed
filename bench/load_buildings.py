"""Load 1,000,000 building footprints from one file into PostGIS, four ways, same file:

- ``importer``: the product's import service, :func:`api.io.importer.import_file` (pyogrio/Arrow
  read, full validation, COPY, GiST kept, ANALYZE, grid_id derivation) in one transaction;
- ``bulk``: pyogrio read + the basic checks the table needs + :func:`api.db.bulk.copy_layer`
  in one transaction (the shared loader the tests and the demo use);
- ``ogr2ogr``: GDAL ``ogr2ogr -f PostgreSQL`` with its default spatial index (reference);
- ``ogr2ogr-noindex``: the same with ``-lco SPATIAL_INDEX=NONE``.

Ours load into the real ``building`` table of a scratch database migrated to head (all its
indexes: primary key, GiST, jurisdiction, grid, unique code, and its ST_IsValid check),
truncated before each run; ogr2ogr into a scratch table dropped before each run. After every
run the rows, the households sum and the sum of areas (m², EPSG:32650) are checked against
the file.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import OUT, Report, Row, ScratchDatabase, python_child, run_child

NAME = "load_buildings"
FULL = 1_000_000
SEED = 20261121
APPROACHES = ("importer", "bulk", "ogr2ogr", "ogr2ogr-noindex")
LABELS = {
    "importer": "ours: api.io import_file (read+validate+COPY+GiST+ANALYZE+derive)",
    "bulk": "ours: pyogrio read + checks + api.db.bulk.copy_layer",
    "ogr2ogr": "ogr2ogr -f PostgreSQL (default GiST)",
    "ogr2ogr-noindex": "ogr2ogr -lco SPATIAL_INDEX=NONE",
}
REFERENCE = "ogr2ogr"
OGR_TABLES = {"ogr2ogr": "bench_ogr_gist", "ogr2ogr-noindex": "bench_ogr_noindex"}
SMALL_CITY = {"towns": 2, "communities_per_town": 5, "grids_per_community": 10}


# ---------------------------------------------------------------------------------------------
# the data set

def dataset(n: int, seed: int = SEED, fmt: str = "gpkg", data_dir: Path | None = None,
            small_city: bool = False) -> tuple[Path, Path, dict]:
    """(buildings file, boundary file, expected sums), generated once and cached."""
    import geopandas as gpd
    import pyogrio
    import shapely

    from data import city

    kw = SMALL_CITY if small_city else {}
    tag = f"{seed}-{n}" + ("-small" if small_city else "")
    d = Path(data_dir or OUT / "data")
    path, boundary, meta = d / f"buildings-{tag}.{fmt}", d / f"boundary-{tag}.gpkg", d / f"buildings-{tag}.json"
    if path.exists() and boundary.exists() and meta.exists():
        return path, boundary, json.loads(meta.read_text())
    d.mkdir(parents=True, exist_ok=True)
    bld = city.city_buildings(n, seed, crs=city.METRIC_EPSG, **kw)
    expected = {"rows": len(bld), "households": int(bld["households"].sum()),
                "area_m2": float(shapely.area(bld.geometry.to_numpy()).sum())}
    bld = bld.set_geometry(city._to_lonlat(bld.geometry.to_numpy()), crs=city.STORAGE_EPSG)
    city._write(bld, path, "buildings")
    b = city.city_boundary(seed, **kw)
    pyogrio.write_dataframe(gpd.GeoDataFrame(b), boundary, layer="boundary")
    meta.write_text(json.dumps(expected))
    return path, boundary, expected


def create_jurisdiction(db: ScratchDatabase, boundary: Path) -> str:
    import geopandas as gpd
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from api.db import repo

    b = gpd.read_file(boundary)
    eng = create_engine(db.url)
    try:
        with Session(eng) as s, s.begin():
            repo.create_jurisdiction(s, b["code"].iloc[0], b["name"].iloc[0], b.geometry, name_en=b["name_en"].iloc[0])
    finally:
        eng.dispose()
    return str(b["code"].iloc[0])


# ---------------------------------------------------------------------------------------------
# the approaches (ours run in a child: `python -m bench.load_buildings --worker JSON`)

def _worker(args: dict) -> dict:
    os.environ["DATABASE_URL"] = args["url"]
    from api.settings import get_settings
    get_settings.cache_clear()
    import numpy as np
    import pyogrio
    import shapely

    from api.db import bulk, repo
    from api.db.session import transaction
    from api.io.importer import ImportOptions, import_file  # noqa: F401 (imported before timing)
    from api.layers import LAYERS

    t0 = time.perf_counter()
    if args["approach"] == "importer":
        with transaction(actor="bench") as s:
            res = import_file(s, "buildings", args["path"], ImportOptions(jurisdiction=args["jurisdiction"]))
            t_commit = time.perf_counter()
        timings = dict(res.timings, commit=time.perf_counter() - t_commit)
        return {"seconds": time.perf_counter() - t0, "timings": timings}
    laps = {}
    gdf = pyogrio.read_dataframe(args["path"], use_arrow=True)
    laps["read"] = time.perf_counter() - t0
    t = time.perf_counter()
    geoms = gdf.geometry.to_numpy()
    if gdf.crs is None or gdf.crs.to_epsg() != 4326:
        raise ValueError("expected EPSG:4326")
    with ThreadPoolExecutor(2) as pool:   # GEOS releases the GIL: both cores validate
        valid = all(pool.map(lambda part: bool(shapely.is_valid(part).all()), np.array_split(geoms, 2)))
    if not (shapely.get_type_id(geoms) == 3).all() or not valid:
        raise ValueError("every footprint must be a valid polygon")
    if (gdf["households"].to_numpy() < 0).any() or \
            not np.isin(gdf["floors"].dropna().to_numpy(), np.arange(1, 201)).all():
        raise ValueError("households / floors out of range")
    laps["check"] = time.perf_counter() - t
    t = time.perf_counter()
    with transaction(actor="bench") as s:
        j = repo.jurisdiction_by_code(s, args["jurisdiction"])
        bulk.copy_layer(s, LAYERS["buildings"], gdf, j.id)
        laps["copy"] = time.perf_counter() - t
        t = time.perf_counter()
    laps["commit"] = time.perf_counter() - t
    return {"seconds": time.perf_counter() - t0, "timings": laps}


def _ogr_cmd(db: ScratchDatabase, path: Path, approach: str) -> list[str]:
    cmd = ["ogr2ogr", "-f", "PostgreSQL", db.pg_dsn(), str(path), "-nln", OGR_TABLES[approach]]
    if approach == "ogr2ogr-noindex":
        cmd += ["-lco", "SPATIAL_INDEX=NONE"]
    return cmd


def _reset(db: ScratchDatabase) -> None:
    from sqlalchemy import text
    eng = db.engine()
    try:
        with eng.connect() as c:
            c.execute(text("TRUNCATE building"))
            for t in OGR_TABLES.values():
                c.execute(text(f"DROP TABLE IF EXISTS {t}"))
    finally:
        eng.dispose()


def _sums(db: ScratchDatabase, approach: str) -> dict:
    from sqlalchemy import text
    table = OGR_TABLES.get(approach, "building")
    eng = db.engine()
    try:
        with eng.connect() as c:
            gcol = c.execute(text("SELECT f_geometry_column FROM geometry_columns WHERE f_table_name = :t"),
                             {"t": table}).scalar_one()
            row = c.execute(text(f'SELECT count(*), coalesce(sum(households), 0), '
                                 f'coalesce(sum(ST_Area(ST_Transform("{gcol}", 32650))), 0) FROM {table}')).one()
    finally:
        eng.dispose()
    return {"rows": int(row[0]), "households": int(row[1]), "area_m2": float(row[2])}


def _agrees(got: dict, want: dict) -> bool:
    return (got["rows"] == want["rows"] and got["households"] == want["households"]
            and math.isclose(got["area_m2"], want["area_m2"], rel_tol=1e-7))


# ---------------------------------------------------------------------------------------------
# the benchmark

def run(scale: float = 1.0, repeat: int = 1, n: int | None = None, fmt: str = "gpkg",
        approaches: tuple[str, ...] = APPROACHES, data_dir: Path | None = None,
        small_city: bool = False, keep_db: bool = False) -> Report:
    """Run the approaches ``repeat`` times, interleaved; check each run's rows and sums."""
    n = n or max(1, round(FULL * scale))
    path, boundary, expected = dataset(n, SEED, fmt, data_dir, small_city)
    notes = []
    if "importer" in approaches and not _importer_reads(path):
        approaches = tuple(a for a in approaches if a != "importer")
        notes.append(f"importer: api.io.importer.import_file missing or not reading {path.suffix} files: skipped")
    elif "importer" in approaches:
        notes.append("importer: the product's api.io.importer.import_file (its own Arrow COPY writer, api/io/pgcopy.py)")
    rows = {a: Row(LABELS[a], []) for a in approaches}
    with ScratchDatabase(keep=keep_db) as db:
        code = create_jurisdiction(db, boundary)
        env = {"PGPASSWORD": db.parts.password or ""}
        for _ in range(repeat):
            for a in approaches:
                _reset(db)
                if a in OGR_TABLES:
                    r = run_child(_ogr_cmd(db, path, a), env=env)
                else:
                    r = run_child(python_child("bench.load_buildings", {
                        "approach": a, "url": db.url, "path": str(path), "jurisdiction": code}), timed_inside=True)
                got = _sums(db, a)
                row = rows[a]
                row.runs.append(r)
                row.rows = got["rows"]
                row.checksum_ok = _agrees(got, expected) and row.checksum_ok is not False
                if r.detail.get("timings"):
                    row.note = "last run: " + ", ".join(f"{k} {v:.2f}s" for k, v in r.detail["timings"].items())
    rep = Report(f"{NAME}: {n:,} building footprints from {path.name} ({path.stat().st_size / 1e6:.0f} MB) "
                 f"into PostGIS, best of {repeat}", list(rows.values()),
                 LABELS[REFERENCE if REFERENCE in approaches else approaches[0]],
                 [f"checksum = rows, sum(households) = {expected['households']:,} and sum(area) = "
                  f"{expected['area_m2']:,.1f} m² (EPSG:32650) as in the file",
                  "ours load the real building table (PK, GiST, 3 btree indexes incl. unique code, 2 foreign "
                  "keys, ST_IsValid check); ogr2ogr makes a bare table (PK + GiST or PK only)", *notes])
    return rep


def _importer_reads(path: Path) -> bool:
    try:
        from api.io.readers import FORMATS
    except ImportError:
        return False
    return path.suffix.lower() in FORMATS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.load_buildings")
    ap.add_argument("--worker")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return 0
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
